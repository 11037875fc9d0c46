"""Quiet hours: pure decisions from a chat's window and `now`.

A window is two whole WITA hours, "22-6": from 22:00 up to 06:00 (spanning
midnight when the end is earlier than the start). A push inside it is sent with
`disable_notification`: it arrives, without sound.
"""

from __future__ import annotations

import re
from datetime import datetime

from feedsvc.dates import WITA

_WINDOW = re.compile(r"(\d{1,2})\s*[-–.:]\s*(\d{1,2})")
OFF = frozenset({"mati", "off"})


def parse_window(text: str) -> tuple[int, int]:
    """ "22-6" -> (22, 6); ValueError unless two different hours 0..23."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a window of hours: {text[:40]!r}")
    start, end = int(match[1]), int(match[2])
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise ValueError(f"not a window of hours: {text[:40]!r}")
    return start, end


def is_quiet(window: str, now: datetime) -> bool:
    """True when `now` (aware) falls in the stored window; False for none or a bad one."""
    try:
        start, end = parse_window(window)
    except ValueError:
        return False
    hour = now.astimezone(WITA).hour
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end
