"""Sources in trouble reach the admins: failing past telegram.alert_after_hours, or
silent past three times their usual gap (at least a day); once when it starts, once
when it ends, never two alerts of a source within a day. Decisions pure; the rest on
a clock the test moves, counted in what the fake Bot API accepted."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot import source_alerts as alerts
from bot.source_alerts import Health, State, Tell
from bot.sourcewatch import SourceWatch
from feedsvc.config import Settings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source, SourceStatus
from feedsvc.storage import history
from feedsvc.storage.store import Store
from tests.bot.helpers import ADMIN, article
from tests.bot.test_delivery import a_push_bot, pusher, with_telegram
from tests.fakes.telegram_api import FakeTelegram

T0 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
ADMINS = (ADMIN, ADMIN + 1)
EVERY_2H = [T0 - timedelta(hours=2 * i) for i in range(10)]


def status(**fields) -> SourceStatus:
    return SourceStatus("jurnal", last_poll=T0.timestamp(), **fields)


# --- pure ------------------------------------------------------------------------------------


def test_the_usual_gap_is_learned_from_the_dates() -> None:
    assert alerts.usual_gap(EVERY_2H[:4]) is None  # too few to tell
    assert alerts.usual_gap(EVERY_2H) == timedelta(hours=2)
    assert alerts.silent_after(EVERY_2H) == timedelta(days=1)  # 3 x 2 h, but at least a day
    twice_a_day = [T0 - timedelta(hours=12 * i) for i in range(8)]
    assert alerts.silent_after(twice_a_day) == timedelta(hours=36)
    # One long pause does not make the usual gap long: the median.
    assert alerts.usual_gap([*EVERY_2H, T0 - timedelta(days=9)]) == timedelta(hours=2)


def test_health() -> None:
    ok = status(last_success=T0.timestamp())
    assert alerts.health(ok, EVERY_2H, T0 + timedelta(hours=23), 6, None).state is State.OK
    silent = alerts.health(ok, EVERY_2H, T0 + timedelta(hours=25), 6, None)
    assert silent == Health(State.SILENT, T0, timedelta(hours=2))
    assert alerts.health(ok, EVERY_2H[:3], T0 + timedelta(days=30), 6, None).state is State.OK
    failing = status(failures=4, last_error="HTTP 503", last_success=T0.timestamp())
    since = alerts.failing_since(failing, None)
    assert since == T0
    assert alerts.health(failing, EVERY_2H, T0 + timedelta(hours=5), 6, since).state is State.UNSURE
    assert alerts.health(failing, EVERY_2H, T0 + timedelta(hours=7), 6, since) == Health(
        State.FAILING, T0
    )
    never = status(failures=2, last_error="DNS")
    assert alerts.failing_since(never, T0) == T0
    assert alerts.failing_since(ok, T0) is None


@pytest.mark.parametrize(
    ("state", "told", "tell"),
    [
        (State.FAILING, None, Tell.ALERT),
        (State.SILENT, None, Tell.ALERT),
        (State.FAILING, "failing", Tell.NOTHING),
        (State.OK, "failing", Tell.RECOVERED),
        (State.OK, "silent", Tell.RECOVERED),
        (State.UNSURE, "failing", Tell.NOTHING),
        (State.UNSURE, None, Tell.NOTHING),
        (State.OK, None, Tell.NOTHING),
    ],
)
def test_what_to_tell(state: State, told: str | None, tell: Tell) -> None:
    assert alerts.what_to_tell(Health(state), told) is tell


# --- on a moved clock ------------------------------------------------------------------------


async def watching(
    telegram: FakeTelegram, settings: Settings, redis: Redis, store: Store, owner: str = "a"
):
    admins = with_telegram(settings, admins=ADMINS, channels=())
    registry = SourceRegistry(redis, admins)
    await registry.add(Source("jurnal", "https://www.jurnalkaltara.com/feed/"))
    bot = a_push_bot(admins)
    push = pusher(await bot.__aenter__(), redis, store, admins, owner=owner)
    return bot, SourceWatch(redis, registry, push, ADMINS, 6), registry


def to_each_admin(telegram: FakeTelegram) -> list[int]:
    return [len(telegram.sent_to(a)) for a in ADMINS]


async def test_a_failing_source_is_told_once_and_its_recovery_once(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    bot, watch, registry = await watching(telegram, bot_settings, redis, store)
    try:
        failing = status(failures=3, last_error="HTTP 503 <html>", last_success=T0.timestamp())
        await registry.save_status(failing)
        assert await watch.look(T0 + timedelta(hours=5)) == []  # not for long enough
        assert await watch.look(T0 + timedelta(hours=7)) == [("jurnal", Tell.ALERT)]
        assert await watch.look(T0 + timedelta(hours=8)) == []
        assert to_each_admin(telegram) == [1, 1]
        text = telegram.sent_to(ADMIN)[0].text
        assert "jurnal" in text and "gagal" in text and "HTTP 503 &lt;html&gt;" in text
        assert "08:00 WITA" in text  # failing since its last success, T0
        back = status(last_success=(T0 + timedelta(hours=9)).timestamp())
        await registry.save_status(back)
        assert await watch.look(T0 + timedelta(hours=9)) == [("jurnal", Tell.RECOVERED)]
        assert await watch.look(T0 + timedelta(hours=10)) == []
        assert to_each_admin(telegram) == [2, 2]
        assert "bisa diambil lagi" in telegram.sent_to(ADMIN)[1].text
        # Failing again the same day: no second alert within a day of the first.
        later = dataclasses.replace(failing, last_success=(T0 + timedelta(hours=9)).timestamp())
        await registry.save_status(later)
        assert await watch.look(T0 + timedelta(hours=16)) == []
        assert await watch.look(T0 + timedelta(hours=31)) == [("jurnal", Tell.ALERT)]
        assert to_each_admin(telegram) == [3, 3]
    finally:
        await bot.__aexit__(None, None, None)


async def test_two_bot_processes_tell_each_admin_once(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    bot_a, a, registry = await watching(telegram, bot_settings, redis, store, "a")
    bot_b, b, _ = await watching(telegram, bot_settings, redis, store, "b")
    try:
        # It never succeeded: failing from when it was first seen failing.
        await registry.save_status(status(failures=1, last_error="DNS"))
        await asyncio.gather(a.look(T0), b.look(T0))
        assert to_each_admin(telegram) == [0, 0]
        now = T0 + timedelta(hours=6, minutes=1)
        await asyncio.gather(a.look(now), b.look(now))
        assert to_each_admin(telegram) == [1, 1]
        await registry.save_status(status(last_success=now.timestamp()))
        later = now + timedelta(minutes=5)
        await asyncio.gather(a.look(later), b.look(later))
        assert to_each_admin(telegram) == [2, 2]
    finally:
        await bot_a.__aexit__(None, None, None)
        await bot_b.__aexit__(None, None, None)


async def test_a_source_gone_silent_is_told_and_a_new_post_ends_it(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    bot, watch, registry = await watching(telegram, bot_settings, redis, store)
    try:
        for i, when in enumerate(EVERY_2H):  # what ingest stores, noted per source
            post = dataclasses.replace(article(f"Berita {i}"), published=when, source="jurnal")
            await store.upsert(post)
        assert await history.posted(redis, "jurnal") == sorted(EVERY_2H)
        await registry.save_status(status(last_success=(T0 + timedelta(hours=20)).timestamp()))
        assert await watch.look(T0 + timedelta(hours=23)) == []
        assert await watch.look(T0 + timedelta(hours=25)) == [("jurnal", Tell.ALERT)]
        assert await watch.look(T0 + timedelta(hours=30)) == []
        text = telegram.sent_to(ADMIN)[0].text
        assert "tidak ada berita baru" in text and "2 jam" in text
        new = dataclasses.replace(
            article("Akhirnya"), published=T0 + timedelta(hours=31), source="jurnal"
        )
        await store.upsert(new)
        assert await watch.look(T0 + timedelta(hours=31)) == [("jurnal", Tell.RECOVERED)]
        assert to_each_admin(telegram) == [2, 2]
        assert "menerbitkan berita lagi" in telegram.sent_to(ADMIN)[1].text
    finally:
        await bot.__aexit__(None, None, None)
