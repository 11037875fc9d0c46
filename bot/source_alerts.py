"""Is a source in trouble, and should the admins hear of it: pure decisions and texts.

In: the source's poll status, its recent publishing dates (storage/history.py), when
it began failing, `now` and `telegram.alert_after_hours`; what the admins were told
last. Out: its health (ok, failing, silent, or not sure yet) and what to tell.

- Failing: its polls fail and it has had no success for more than the alert hours.
- Silent: its polls succeed but its newest post is older than three times its usual
  gap between posts (the median of its recent gaps; at least a day). A source with
  fewer than `MIN_POSTS` dates has no usual gap yet and is never called silent.
"""

from __future__ import annotations

import enum
import itertools
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from feedsvc.dates import format_wita
from feedsvc.models import SourceStatus

MIN_POSTS = 5
SILENT_FACTOR = 3
MIN_SILENCE = timedelta(days=1)
ERROR_LENGTH = 200  # of the last error, in the admins' message


class State(enum.StrEnum):
    OK = "ok"
    FAILING = "failing"
    SILENT = "silent"
    UNSURE = "unsure"  # failing, not for long enough yet: neither trouble nor recovered


@dataclass(frozen=True, slots=True)
class Health:
    state: State
    since: datetime | None = None  # failing since (the last success), or the newest post
    gap: timedelta | None = None  # the usual gap, for a silent source


def usual_gap(published: list[datetime]) -> timedelta | None:
    """The median gap between consecutive posts, None with too few of them."""
    times = sorted(set(published))
    if len(times) < MIN_POSTS:
        return None
    return statistics.median(b - a for a, b in itertools.pairwise(times))


def silent_after(published: list[datetime]) -> timedelta | None:
    gap = usual_gap(published)
    return None if gap is None else max(SILENT_FACTOR * gap, MIN_SILENCE)


def health(
    status: SourceStatus,
    published: list[datetime],
    now: datetime,
    alert_after_hours: float,
    failing_since: datetime | None,
) -> Health:
    """How the source is doing at `now`."""
    if status.failures > 0:
        since = failing_since or now
        if now - since > timedelta(hours=alert_after_hours):
            return Health(State.FAILING, since)
        return Health(State.UNSURE, since)
    limit = silent_after(published)
    if limit is not None and status.last_success is not None:
        newest = max(published)
        if now - newest > limit:
            return Health(State.SILENT, newest, usual_gap(published))
    return Health(State.OK)


def failing_since(status: SourceStatus, first_seen_failing: datetime | None) -> datetime | None:
    """Since when a failing source has had no success: its last success, else the first
    time it was seen failing (a source that never succeeded)."""
    if status.failures == 0:
        return None
    if status.last_success is not None:
        return datetime.fromtimestamp(status.last_success, UTC)
    return first_seen_failing


class Tell(enum.StrEnum):
    NOTHING = "nothing"
    ALERT = "alert"
    RECOVERED = "recovered"


def what_to_tell(now_health: Health, told: str | None) -> Tell:
    """`told`: the trouble the admins were told of and not yet of its end (None: none)."""
    if now_health.state in (State.FAILING, State.SILENT) and told is None:
        return Tell.ALERT
    if now_health.state is State.OK and told is not None:
        return Tell.RECOVERED
    return Tell.NOTHING


def alert_text(name: str, h: Health, status: SourceStatus) -> str:
    if h.state is State.FAILING:
        error = escape(status.last_error[:ERROR_LENGTH]) or "tanpa keterangan"
        since = format_wita(h.since) if h.since else "?"
        return (
            f"⚠️ Sumber <b>{escape(name)}</b> gagal diambil sejak {since} "
            f"({status.failures}× berturut-turut).\nGalat terakhir: {error}"
        )
    gap = gap_words(h.gap) if h.gap else "?"
    since = format_wita(h.since) if h.since else "?"
    return (
        f"🔇 Sumber <b>{escape(name)}</b> masih bisa diambil, tetapi tidak ada berita baru "
        f"sejak {since}; biasanya ada berita setiap {gap}."
    )


def gap_words(gap: timedelta) -> str:
    """A usual gap in Indonesian: "45 menit", "6 jam", "3 hari"."""
    minutes = gap.total_seconds() / 60
    if minutes < 60:
        return f"{max(1, round(minutes))} menit"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} jam"
    return f"{round(minutes / 1440)} hari"


def recovered_text(name: str, told: str) -> str:
    what = "bisa diambil lagi" if told == State.FAILING else "menerbitkan berita lagi"
    return f"✅ Sumber <b>{escape(name)}</b> sudah {what}."
