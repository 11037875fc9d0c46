from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc import dates
from feedsvc.cli import sources as cli_sources
from feedsvc.dates import (
    WITA,
    duration,
    format_wita,
    format_wita_short,
    parse_date,
    relative_age,
    to_wita,
)

NOW = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)  # Kamis, 15 Januari 2026 12:00 WITA


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


ABSOLUTE = [
    # The examples from the brief.
    ("18 Agustus 2026 15:30 WITA", utc(2026, 8, 18, 7, 30)),
    ("Kamis, 25 September 2025 - 10:12 WIB", utc(2025, 9, 25, 3, 12)),
    ("25/09/2025 10:12", utc(2025, 9, 25, 2, 12)),
    ("2025-09-25 10:12:00", utc(2025, 9, 25, 2, 12)),
    # ISO 8601 / RFC 3339: a zone is obeyed, no zone means WITA.
    ("2025-09-25T10:12:00Z", utc(2025, 9, 25, 10, 12)),
    ("2025-09-25t10:12:00z", utc(2025, 9, 25, 10, 12)),
    ("2025-09-25T10:12:00+07:00", utc(2025, 9, 25, 3, 12)),
    ("2025-09-25T10:12:00.123456789-03:00", utc(2025, 9, 25, 13, 12, 0, 123456)),
    ("2025-09-25", utc(2025, 9, 24, 16, 0)),
    ("  2025-09-25T10:12:00+08:00\n", utc(2025, 9, 25, 2, 12)),
    ("2025-09-25 10:12 +0700", utc(2025, 9, 25, 3, 12)),
    ("2025-09-25T10:12:00 WIT", utc(2025, 9, 25, 1, 12)),
    # RFC 822 as in RSS.
    ("Thu, 25 Sep 2025 10:12:00 +0800", utc(2025, 9, 25, 2, 12)),
    ("Thu, 25 Sep 2025 10:12:00 GMT", utc(2025, 9, 25, 10, 12)),
    ("Thu, 25 Sep 2025 10:12:00 -0000", utc(2025, 9, 25, 10, 12)),
    ("Thu, 25 Sep 2025 10:12:00 EST", utc(2025, 9, 25, 15, 12)),
    ("25 Sep 25 10:12 UT", utc(2025, 9, 25, 10, 12)),
    ("Thu, 25 Sep 2025 10:12 +0530", utc(2025, 9, 25, 4, 42)),
    # Indonesian, with weekday, "pukul"/"jam", dotted clock, zone in brackets.
    ("Senin, 1 Januari 2024", utc(2023, 12, 31, 16, 0)),
    ("Jumat, 26 September 2025 pukul 15.30 WITA", utc(2025, 9, 26, 7, 30)),
    ("Jum'at, 26 Sep 2025, Pukul 15:30 WIB", utc(2025, 9, 26, 8, 30)),
    ("Sabtu, 27 Sept 2025 jam 07.05.09 (WIT)", utc(2025, 9, 26, 22, 5, 9)),
    ("Minggu, 28 September 2025 | 20:00 WITA", utc(2025, 9, 28, 12, 0)),
    ("Rabu, 3 Desember 2025 23:59:59", utc(2025, 12, 3, 15, 59, 59)),
    ("Diterbitkan 17 Agt 2025 08:00", utc(2025, 8, 17, 0, 0)),
    ("17 Ags 2025", utc(2025, 8, 16, 16, 0)),
    ("17-Agu-2025 08:00 WITA", utc(2025, 8, 17, 0, 0)),
    ("5 Okt. 2025 09:00 WIB", utc(2025, 10, 5, 2, 0)),
    ("2 Mei 2025 12:00 GMT+7", utc(2025, 5, 2, 5, 0)),
    ("9 Nopember 2025", utc(2025, 11, 8, 16, 0)),
    ("25.09.2025 10.12", utc(2025, 9, 25, 2, 12)),
    ("25-9-2025", utc(2025, 9, 24, 16, 0)),
    ("25 September 2025.", utc(2025, 9, 24, 16, 0)),
    # English month names, month first, 12-hour clock.
    ("Thursday, September 25, 2025 at 10:12 pm", utc(2025, 9, 25, 14, 12)),
    ("September 25th, 2025 12:05 AM WITA", utc(2025, 9, 24, 16, 5)),
    ("25 March 2025 12:00 pm", utc(2025, 3, 25, 4, 0)),
]


@pytest.mark.parametrize(("text", "expected"), ABSOLUTE)
def test_parse_absolute_dates(text: str, expected: datetime) -> None:
    parsed = parse_date(text, now=NOW)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("month", "number"),
    [
        *[(name, n) for n, name in enumerate(dates.MONTH_NAMES, start=1)],
        *[(name, n) for n, name in enumerate(dates.MONTH_SHORT_NAMES, start=1)],
        *[(name.upper(), n) for n, name in enumerate(dates.MONTH_NAMES, start=1)],
    ],
)
def test_every_month_name(month: str, number: int) -> None:
    assert parse_date(f"10 {month} 2025 12:00 WITA") == utc(2025, number, 10, 4, 0)


RELATIVE = [
    ("baru saja", timedelta(0)),
    ("Baru Saja", timedelta(0)),
    ("just now", timedelta(0)),
    ("5 detik lalu", timedelta(seconds=5)),
    ("10 menit yang lalu", timedelta(minutes=10)),
    ("10 jam ago", timedelta(hours=10)),
    ("10 Jam Ago", timedelta(hours=10)),
    ("1 hari lalu", timedelta(days=1)),
    ("3 hari ago", timedelta(days=3)),
    ("3 minggu ago", timedelta(weeks=3)),
    ("2 pekan lalu", timedelta(weeks=2)),
    ("2 bulan lalu", timedelta(days=60)),
    ("1 tahun lalu", timedelta(days=365)),
    ("sejam yang lalu", timedelta(hours=1)),
    ("seminggu lalu", timedelta(weeks=1)),
    ("satu hari lalu", timedelta(days=1)),
    ("kemarin", timedelta(days=1)),
    ("Kemarin", timedelta(days=1)),
    ("yesterday", timedelta(days=1)),
    ("2 hours ago", timedelta(hours=2)),
    ("an hour ago", timedelta(hours=1)),
    ("a day ago", timedelta(days=1)),
    ("1 minute ago", timedelta(minutes=1)),
    ("45 mins ago", timedelta(minutes=45)),
    ("30 seconds ago", timedelta(seconds=30)),
    ("6 months ago", timedelta(days=180)),
    ("2 years ago", timedelta(days=730)),
    ("Diposting 4 jam yang lalu", timedelta(hours=4)),
]


@pytest.mark.parametrize(("text", "age"), RELATIVE)
def test_parse_relative_ages(text: str, age: timedelta) -> None:
    assert parse_date(text, now=NOW) == NOW - age


def test_relative_age_reads_the_clock_when_now_is_not_given() -> None:
    before = datetime.now(UTC)
    parsed = parse_date("1 jam lalu")
    after = datetime.now(UTC)
    assert parsed is not None
    assert before - timedelta(hours=1) <= parsed <= after - timedelta(hours=1)


def test_relative_age_with_naive_or_local_now() -> None:
    assert parse_date("1 hari lalu", now=NOW.replace(tzinfo=None)) == NOW - timedelta(days=1)
    assert parse_date("1 hari lalu", now=NOW.astimezone(WITA)) == NOW - timedelta(days=1)


def test_an_absolute_date_wins_over_the_clock() -> None:
    assert parse_date("25 Sep 2025 10:12 WITA") == utc(2025, 9, 25, 2, 12)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "Kamis",
        "September 2025",
        "12 Mei 10.30",  # no year
        "25 Foo 2025",
        "31 Februari 2025",
        "30/02/2025",
        "2025-13-01",
        "25 Sep 2025 25:00",
        "25 Sep 2025 10:61",
        "25 Sep 2025 13:00 pm",
        "25 Sep 2025 10:00 +2500",
        "25 Sep 9999",
        "1 Jan 1900",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-12:00",
        "99999999 tahun lalu",
        "999999 tahun lalu",
        "jam lalu",
        "lalu",
        "\x00\ud800\uffff",
    ],
)
def test_unparseable_gives_none(text: str) -> None:
    assert parse_date(text, now=NOW) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_date_never_raises_on_any_text(text: str) -> None:
    parsed = parse_date(text, now=NOW)
    assert parsed is None or (parsed.tzinfo is UTC and 1970 <= parsed.year <= 2100)


DATE_BITS = st.sampled_from(
    [
        "Kamis, ", "25", "9", "/", "-", ".", " ", ":", ",", "2025", "99", "0", "Sep", "Agustus",
        "Mei", "pukul", "WITA", "WIB", "WIT", "GMT", "+", "-0800", "+99:99", "pm", "T", "Z",
        "jam", "lalu", "ago", "yang", "se", "minggu", "9999999", "kemarin", "(", ")",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(DATE_BITS, max_size=12).map("".join))
def test_parse_date_never_raises_on_date_like_text(text: str) -> None:
    parsed = parse_date(text, now=NOW)
    assert parsed is None or parsed.tzinfo is UTC


AGES = [
    (timedelta(seconds=-300), "baru saja"),
    (timedelta(0), "baru saja"),
    (timedelta(seconds=59), "baru saja"),
    (timedelta(seconds=60), "1 menit lalu"),
    (timedelta(minutes=5, seconds=59), "5 menit lalu"),
    (timedelta(minutes=59, seconds=59), "59 menit lalu"),
    (timedelta(hours=1), "1 jam lalu"),
    (timedelta(hours=10, minutes=59), "10 jam lalu"),
    (timedelta(hours=23, minutes=59), "23 jam lalu"),
    (timedelta(days=1), "1 hari lalu"),
    (timedelta(days=6, hours=23), "6 hari lalu"),
    (timedelta(days=7), "1 minggu lalu"),
    (timedelta(days=13), "1 minggu lalu"),
    (timedelta(days=21), "3 minggu lalu"),
    (timedelta(days=29, hours=23), "4 minggu lalu"),
    (timedelta(days=30), "1 bulan lalu"),
    (timedelta(days=59), "1 bulan lalu"),
    (timedelta(days=60), "2 bulan lalu"),
    (timedelta(days=364), "12 bulan lalu"),
    (timedelta(days=365), "1 tahun lalu"),
    (timedelta(days=729), "1 tahun lalu"),
    (timedelta(days=3650), "10 tahun lalu"),
]


@pytest.mark.parametrize(("age", "expected"), AGES)
def test_relative_age(age: timedelta, expected: str) -> None:
    assert relative_age(NOW - age, NOW) == expected


def test_relative_age_mixes_zones_and_naive_utc() -> None:
    then = NOW.astimezone(WITA) - timedelta(hours=3)
    assert relative_age(then, NOW) == "3 jam lalu"
    assert relative_age(then, NOW.replace(tzinfo=None)) == "3 jam lalu"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=40 * 365 * 86400))
def test_a_printed_age_never_makes_a_post_look_older(seconds: int) -> None:
    then = NOW - timedelta(seconds=seconds)
    parsed = parse_date(relative_age(then, NOW), now=NOW)
    assert parsed is not None
    assert then <= parsed <= NOW


def test_to_wita() -> None:
    local = to_wita(utc(2025, 9, 25, 16, 30))
    assert local.utcoffset() == timedelta(hours=8)
    assert (local.year, local.month, local.day, local.hour) == (2025, 9, 26, 0)
    assert to_wita(datetime(2025, 9, 25, 16, 30)) == local  # naive is UTC


@pytest.mark.parametrize(
    ("moment", "long", "short"),
    [
        (utc(2025, 9, 25, 7, 30), "Kamis, 25 September 2025 15:30 WITA", "25 Sep 2025 15:30 WITA"),
        (utc(2025, 9, 25, 16, 5), "Jumat, 26 September 2025 00:05 WITA", "26 Sep 2025 00:05 WITA"),
        (utc(2025, 8, 16, 17, 0), "Minggu, 17 Agustus 2025 01:00 WITA", "17 Agu 2025 01:00 WITA"),
        (utc(2025, 12, 31, 16, 0), "Kamis, 1 Januari 2026 00:00 WITA", "1 Jan 2026 00:00 WITA"),
        (utc(2026, 5, 4, 1, 2), "Senin, 4 Mei 2026 09:02 WITA", "4 Mei 2026 09:02 WITA"),
        (utc(2026, 10, 6, 2, 0), "Selasa, 6 Oktober 2026 10:00 WITA", "6 Okt 2026 10:00 WITA"),
        (utc(2026, 10, 7, 2, 0), "Rabu, 7 Oktober 2026 10:00 WITA", "7 Okt 2026 10:00 WITA"),
        (utc(2026, 10, 10, 2, 0), "Sabtu, 10 Oktober 2026 10:00 WITA", "10 Okt 2026 10:00 WITA"),
    ],
)
def test_format_wita(moment: datetime, long: str, short: str) -> None:
    assert format_wita(moment) == long
    assert format_wita_short(moment) == short
    assert format_wita(moment.astimezone(WITA)) == long


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    )
)
def test_formatted_dates_parse_back(moment: datetime) -> None:
    minute = moment.replace(second=0, microsecond=0)
    assert parse_date(format_wita(moment)) == minute
    assert parse_date(format_wita_short(moment)) == minute


def test_wita_falls_back_to_a_fixed_offset_without_tzdata(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(key: str) -> None:
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(dates, "ZoneInfo", missing)
    zone = dates._load_wita()
    moment = datetime(2025, 9, 25, tzinfo=zone)
    assert moment.utcoffset() == timedelta(hours=8)
    assert moment.tzname() == "WITA"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "0.5s"), (45, "45s"), (90, "1.5m"), (301.7, "5m"), (7200, "2h"), (604800, "168h")],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-300, ("second", 0)),
        (59.9, ("second", 59)),
        (60, ("minute", 1)),
        (3599.9, ("minute", 59)),
        (3600, ("hour", 1)),
        (6 * 86400 + 86399, ("day", 6)),
        (7 * 86400, ("week", 1)),
        (29 * 86400, ("week", 4)),
        (30 * 86400, ("month", 1)),
        (364 * 86400, ("month", 12)),
        (365 * 86400, ("year", 1)),
    ],
)
def test_age_unit_is_the_one_rule_for_both_wordings(
    seconds: float, expected: tuple[str, int]
) -> None:
    assert dates.age_unit(seconds) == expected
    then = NOW - timedelta(seconds=seconds)
    unit, count = expected
    indonesian = relative_age(then, NOW)
    assert indonesian == "baru saja" if unit == "second" else indonesian.startswith(f"{count} ")
    english = cli_sources.ago(then.timestamp(), NOW.timestamp(), UTC)
    if unit in ("minute", "hour", "day"):
        assert english == f"{count} {cli_sources._EN_UNITS[unit]} ago"
    elif unit == "second":
        assert english == "just now"
    else:
        assert english == then.strftime("%Y-%m-%d %H:%M")
