"""The index page says what is wrong: failing sources, their next try, what it waits for."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from lxml import html

from feedsvc.app import make_app
from feedsvc.config import Settings, SourceSettings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import SourceStatus
from feedsvc.publish.notices import SourceHealth, failing_notice, next_try
from feedsvc.publish.pages import render_index

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 WITA
FILLS_ITSELF = "terisi sendiri"


def failing(name: str, minutes: float) -> SourceStatus:
    next_poll = (NOW + timedelta(minutes=minutes)).timestamp()
    return SourceStatus(name, failures=3, last_error="HTTP 503", next_poll=next_poll)


def text_of(page: str) -> str:
    return " ".join(html.fromstring(page).text_content().split())


def test_next_try_is_in_wita_with_the_date_when_not_today() -> None:
    assert next_try((NOW + timedelta(minutes=13)).timestamp(), NOW) == "pukul 10:13 WITA"
    assert next_try((NOW + timedelta(hours=15)).timestamp(), NOW) == "3 Des 2026 01:00 WITA"
    assert next_try(NOW.timestamp() - 1, NOW) == "segera"
    assert next_try(None, NOW) == "segera"


def test_some_failing_sources_are_named_with_their_next_try() -> None:
    health = SourceHealth(4, (failing("antara-kaltara", 4), failing("jurnal", 13)))
    text = text_of(render_index(Settings(), [], [], NOW, health))
    assert (
        "2 dari 4 sumber berita sedang gagal dibaca: antara-kaltara (dicoba lagi pukul "
        "10:04 WITA); jurnal (dicoba lagi pukul 10:13 WITA)."
    ) in text
    assert FILLS_ITSELF in text  # the others may still fill it


def test_every_source_failing_is_said_and_the_page_does_not_promise_to_fill() -> None:
    health = SourceHealth(2, (failing("a", 4), failing("b", 9)))
    text = text_of(render_index(Settings(), [], [], NOW, health))
    assert "Semua sumber berita sedang gagal dibaca" in text
    assert "semua sumber berita gagal dibaca" in text
    assert FILLS_ITSELF not in text


def test_no_sources_says_how_to_add_one() -> None:
    text = text_of(render_index(Settings(), [], [], NOW, SourceHealth(0)))
    assert "belum ada sumber berita" in text and "feedsvc sources add" in text
    assert FILLS_ITSELF not in text and "gagal" not in text


def test_many_failing_sources_are_counted_past_five_and_names_escaped() -> None:
    bad = [failing(f"s{i}", i) for i in range(7)]
    bad[0] = dataclasses.replace(bad[0], name="<b>x</b>")
    notice = failing_notice(SourceHealth(7, tuple(bad)), NOW)
    assert "&lt;b&gt;x&lt;/b&gt;" in notice and "<b>x</b>" not in notice
    assert "s4" in notice and "s5" not in notice and "dan 2 sumber lain" in notice
    assert failing_notice(SourceHealth(3), NOW) == ""


async def test_the_served_index_shows_failing_sources(aiohttp_client, redis, settings) -> None:
    sources = tuple(SourceSettings(name=n, url=f"https://{n}.example/feed/") for n in "ab")
    settings = dataclasses.replace(settings, sources=sources)
    client = await aiohttp_client(make_app(settings))
    assert "gagal" not in text_of(await (await client.get("/")).text())
    registry = SourceRegistry(redis, settings)
    soon = datetime.now(UTC) + timedelta(minutes=7)
    for name in "ab":
        await registry.save_status(SourceStatus(name, failures=1, next_poll=soon.timestamp()))
    text = text_of(await (await client.get("/")).text())
    assert "Semua sumber berita sedang gagal dibaca" in text
    assert f"a (dicoba lagi {next_try(soon.timestamp(), datetime.now(UTC))})" in text
    assert FILLS_ITSELF not in text
