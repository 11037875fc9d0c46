"""Indonesian dates, relative ages and WITA (Asia/Makassar, UTC+8).

Pure functions: the clock is read only as the default for ``now``.
Two rules for missing zones: date *text* without a zone is the site's local time,
WITA unless the caller names the site's zone, because the sources are Kaltara sites;
a naive ``datetime`` object is UTC, because that is what the rest of feedsvc stores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _load_wita() -> tzinfo:
    try:
        return ZoneInfo("Asia/Makassar")
    except (ZoneInfoNotFoundError, OSError):
        # tzdata is missing on some slim images; WITA has no DST, so a fixed offset is exact.
        return timezone(timedelta(hours=8), "WITA")


WITA = _load_wita()

MIN_YEAR = 1970
MAX_YEAR = 2100

MONTH_NAMES = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
# The short forms CLDR gives for Indonesian.
MONTH_SHORT_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
)  # fmt: skip
# Monday first, as datetime.weekday() counts.
WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

# Every spelling we read, Indonesian and English, full and short, lower case.
MONTHS = {
    "januari": 1, "january": 1, "jan": 1,
    "februari": 2, "pebruari": 2, "february": 2, "feb": 2, "peb": 2,
    "maret": 3, "march": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "agustus": 8, "august": 8, "agu": 8, "agt": 8, "ags": 8, "agst": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "december": 12, "des": 12, "dec": 12,
}  # fmt: skip

# Hours east of UTC. Indonesia's three zones, plus the names RFC 822 allows.
ZONE_OFFSETS = {
    "WITA": 8, "WIB": 7, "WIT": 9,
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
    "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so "Maret" wins over "Mar" and "WITA" over "WIT".
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


_MONTH = rf"(?P<mon>{_alternation(MONTHS)})(?![a-z])\.?"
_DAY = r"(?<!\d)(?P<d>\d{1,2})(?:st|nd|rd|th)?"
# Two-digit years only after a month name, as RFC 822 allows ("25 Sep 25"), and
# never when a clock follows ("12 Mei 10.30" has no year).
_YEAR = r"(?P<y>\d{4}(?!\d)|\d{2}(?![\d:.]))"

# Day first, as Indonesian writes dates; year first only in the ISO order.
_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})(?!\d)"),
    re.compile(rf"{_DAY}[\s.-]*{_MONTH},?[\s.-]*{_YEAR}", re.I),
    re.compile(rf"(?<![a-z]){_MONTH}\s*{_DAY},?\s*(?P<y>\d{{4}})(?!\d)", re.I),
)

_TIME_TAIL = re.compile(
    rf"""
    (?:T|[\s,|@–—-]*)
    (?:(?:pukul|pkl\.?|jam|at)\s*)?
    (?:
        (?P<h>\d{{1,2}})[:.](?P<mi>\d{{2}})(?:[:.](?P<s>\d{{2}})(?:[.,]\d+)?)?
        (?:\s*(?P<ampm>[ap])\.?m\.?(?![a-z]))?
    )?
    \s*\(?\s*
    (?:(?P<zone>{_alternation(ZONE_OFFSETS)})(?![a-z]))?
    \s*
    (?P<off>(?P<sign>[+-])(?P<oh>\d{{1,2}})(?::?(?P<om>\d{{2}}))?(?!\d))?
    """,
    re.I | re.X,
)

_UNIT_AGES = {
    "detik": timedelta(seconds=1), "sec": timedelta(seconds=1),
    "menit": timedelta(minutes=1), "min": timedelta(minutes=1),
    "jam": timedelta(hours=1), "hour": timedelta(hours=1), "hr": timedelta(hours=1),
    "hari": timedelta(days=1), "day": timedelta(days=1),
    "minggu": timedelta(weeks=1), "pekan": timedelta(weeks=1), "week": timedelta(weeks=1),
    "bulan": timedelta(days=30), "month": timedelta(days=30),
    "tahun": timedelta(days=365), "year": timedelta(days=365), "yr": timedelta(days=365),
}  # fmt: skip

# "10 jam ago" is what a WordPress theme half-translated into Indonesian prints.
_RELATIVE = re.compile(
    r"(?<!\w)(?:(?P<n>\d{1,6})\s*|(?:se|satu\s+|an?\s+|one\s+))"
    r"(?P<unit>detik|menit|jam|hari|minggu|pekan|bulan|tahun"
    r"|sec|min|hour|hr|day|week|month|year|yr)(?:ond|ute)?s?"
    r"\s+(?:yang\s+|yg\s+)?(?:lalu|ago)(?!\w)",
    re.I,
)
# Words only Indonesian dates use: htmldate reads the rest of the world's.
_INDONESIAN = re.compile(
    r"(?<![a-z])(?:januari|februari|pebruari|maret|mei|juni|juli|agustus|agu|agt|oktober|okt"
    r"|nopember|desember|des|senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|pukul|wita|wib|wit)"
    r"(?![a-z])",
    re.I,
)
_JUST_NOW = re.compile(r"(?<!\w)(?:baru\s+saja|barusan|just\s+now)(?!\w)", re.I)
_YESTERDAY = re.compile(r"(?<!\w)(?:kemarin|yesterday)(?!\w)", re.I)
_ISO_START = re.compile(r"\d{4}-?\d{2}-?\d{2}")


def parse_date(text: str, *, now: datetime | None = None, zone: tzinfo = WITA) -> datetime | None:
    """Read a date as sources print it; an aware UTC datetime, or None.

    ``now`` is only used for relative ages ("10 jam lalu") and defaults to the clock;
    ``zone`` is the site's own, for text that names none.
    """
    found = parse_local_date(text, now=now, zone=zone)
    return found.astimezone(UTC) if found is not None else None


def parse_local_date(
    text: str, *, now: datetime | None = None, zone: tzinfo = WITA
) -> datetime | None:
    """`parse_date`, in the zone the text was written in (``zone`` when it names none).

    Its ``date()`` is the calendar day the source printed.
    """
    if not text or not text.strip():
        return None
    try:
        found = _parse_iso(text, zone) or _parse_written(text, zone) or _parse_relative(text, now)
        if found is None or not MIN_YEAR <= found.astimezone(UTC).year <= MAX_YEAR:
            return None
    except (ValueError, OverflowError):
        # Impossible dates ("31 Februari"), offsets past 24 h, years past 9999.
        return None
    return found


def is_indonesian_date(text: str) -> bool:
    """Whether `text` has an Indonesian month, weekday or zone name ("Kamis", "WITA")."""
    return bool(_INDONESIAN.search(text))


def _parse_iso(text: str, zone: tzinfo) -> datetime | None:
    text = text.strip()
    if not _ISO_START.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _parse_written(text: str, zone: tzinfo) -> datetime | None:
    matches = [m for m in (p.search(text) for p in _DATE_PATTERNS) if m]
    if not matches:
        return None
    date = min(matches, key=lambda m: m.start())
    day = datetime(_year(date["y"]), _month(date), int(date["d"]))
    tail = _TIME_TAIL.match(text, date.end())
    if tail is None:  # never: every part of the tail is optional
        return day.replace(tzinfo=zone)
    # replace() rejects 25:00 and 10:61 where timedelta would roll over.
    return day.replace(
        hour=_hour(tail),
        minute=int(tail["mi"] or 0),
        second=int(tail["s"] or 0),
        tzinfo=_zone(tail, zone),
    )


def _year(digits: str) -> int:
    if len(digits) == 4:
        return int(digits)
    # RFC 2822's rule for two-digit years.
    year = int(digits)
    return year + 2000 if year < 50 else year + 1900


def _month(date: re.Match[str]) -> int:
    if date.groupdict().get("mon"):
        return MONTHS[date["mon"].lower()]
    return int(date["m"])


def _hour(tail: re.Match[str]) -> int:
    hour = int(tail["h"] or 0)
    ampm = (tail["ampm"] or "").lower()
    if ampm and not 1 <= hour <= 12:
        raise ValueError("12-hour clock out of range")
    if ampm == "a" and hour == 12:
        return 0
    if ampm == "p" and hour < 12:
        return hour + 12
    return hour


def _zone(tail: re.Match[str], default: tzinfo) -> tzinfo:
    hours = ZONE_OFFSETS[tail["zone"].upper()] if tail["zone"] else None
    if tail["off"]:
        sign = -1 if tail["sign"] == "-" else 1
        shift = timedelta(hours=int(tail["oh"]), minutes=int(tail["om"] or 0))
        # "GMT+7" adds the offset to the named zone.
        return timezone(timedelta(hours=hours or 0) + sign * shift)
    if hours is None:
        return default
    return timezone(timedelta(hours=hours))


def _parse_relative(text: str, now: datetime | None) -> datetime | None:
    now = _as_utc(now) if now is not None else datetime.now(UTC)
    if _JUST_NOW.search(text):
        return now
    if _YESTERDAY.search(text):
        return now - timedelta(days=1)
    age = _RELATIVE.search(text)
    if age is None:
        return None
    count = int(age["n"]) if age["n"] else 1
    return now - count * _UNIT_AGES[age["unit"].lower()]


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def relative_age(then: datetime, now: datetime) -> str:
    """How long ago ``then`` was, in Indonesian: "baru saja", "10 jam lalu", "3 minggu lalu".

    Counts are floored; a time in the future (clock skew) is "baru saja".
    """
    unit, count = age_unit((_as_utc(now) - _as_utc(then)).total_seconds())
    return "baru saja" if unit == "second" else f"{count} {_ID_UNITS[unit]} lalu"


_ID_UNITS = {
    "minute": "menit",
    "hour": "jam",
    "day": "hari",
    "week": "minggu",
    "month": "bulan",
    "year": "tahun",
}


def age_unit(seconds: float) -> tuple[str, int]:
    """A span as its largest whole unit, floored: (unit, count).

    Units: second, minute, hour, day, week (under 30 days), month (30 days, under
    a year), year (365 days). A negative span (clock skew) is 0 seconds. The one
    rule behind the bot's and the site's Indonesian ages and the CLI's English ones.
    """
    whole = max(0, int(seconds))
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if minutes < 1:
        return "second", whole
    if hours < 1:
        return "minute", minutes
    if days < 1:
        return "hour", hours
    if days < 7:
        return "day", days
    if days < 30:
        return "week", days // 7
    if days < 365:
        return "month", days // 30
    return "year", days // 365


def to_wita(dt: datetime) -> datetime:
    """The same instant on the WITA clock (a naive ``dt`` is taken as UTC)."""
    return _as_utc(dt).astimezone(WITA)


def format_wita(dt: datetime) -> str:
    """E.g. "Kamis, 25 September 2025 15:30 WITA"."""
    local = to_wita(dt)
    weekday = WEEKDAY_NAMES[local.weekday()]
    month = MONTH_NAMES[local.month - 1]
    return f"{weekday}, {local.day} {month} {local.year} {local:%H:%M} WITA"


def format_wita_short(dt: datetime) -> str:
    """E.g. "25 Sep 2025 15:30 WITA"."""
    local = to_wita(dt)
    month = MONTH_SHORT_NAMES[local.month - 1]
    return f"{local.day} {month} {local.year} {local:%H:%M} WITA"


def duration(seconds: float) -> str:
    """A poll interval or wait, short: 45 -> "45s", 90 -> "1.5m", 7200 -> "2h"."""
    if seconds < 60:
        return f"{_short(seconds)}s"
    if seconds < 3600:
        return f"{_short(seconds / 60)}m"
    return f"{_short(seconds / 3600)}h"


def _short(value: float) -> str:
    # One decimal below 10 (1.5m), whole numbers above (168h), never 1.7e+02.
    return f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"
