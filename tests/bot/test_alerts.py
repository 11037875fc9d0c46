"""Keyword alerts, quiet hours and forum topics end to end: commands and pushes through
real python-telegram-bot against the fake Bot API, counted per chat."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.delivery.digest import DigestSender
from bot.delivery.ledger import Ledger
from bot.digests import Digests
from bot.subscriptions import ChatSettings, Subscriptions, recipient
from feedsvc.config import Settings, TelegramSettings
from feedsvc.dates import WITA
from feedsvc.storage import keys
from feedsvc.storage.store import Store
from tests.bot.helpers import ADMIN, READER, article, ask, nothing_pending, until
from tests.bot.test_delivery import a_push_bot, pusher
from tests.fakes.telegram_api import FakeTelegram

OTHER = 2002
GROUP = -100555


@pytest.fixture
def bot_settings(settings: Settings, telegram: FakeTelegram) -> Settings:
    """No channels here: a channel's 20 a minute would make each test wait seconds."""
    return dataclasses.replace(
        settings,
        telegram=TelegramSettings(
            token=telegram.token, api_base_url=telegram.base_url, admins=(ADMIN,)
        ),
    )


def pushes(telegram: FakeTelegram, after: int) -> list:
    return telegram.sent[after:]


async def test_keywords_pick_the_posts_a_chat_gets(
    telegram: FakeTelegram, redis: Redis, store: Store, running
) -> None:
    reply = await ask(telegram, READER, "/langganan kaltara banjir, longsor -hoaks")
    assert "Berlangganan: KALTARA" in reply and "banjir, longsor, kecuali hoaks" in reply
    await Subscriptions(redis).add(OTHER, ["kaltara"])
    before = len(telegram.sent)
    posts = [
        article("Desa di Bulungan kebanjiran"),  # "banjir", affixed
        article("Hoaks banjir di Tarakan beredar"),  # excluded
        article("Harga sembako naik"),  # neither word
        article("Jalan tertutup", summary="MALINAU – Tanah longsor menutup jalan."),  # lead
    ]
    for post in posts:
        await store.upsert(post, pushable=True)
    await telegram.wait_sent(before + 2 + 4, timeout=15)
    await until(lambda: nothing_pending(redis))
    await asyncio.sleep(0.3)
    reader = [m.text for m in pushes(telegram, before) if m.chat_id == READER]
    assert len(reader) == 2
    assert "kebanjiran" in reader[0] + reader[1] and "longsor" in reader[0] + reader[1]
    assert len(pushes(telegram, before)) == 6 and telegram.counts()[OTHER] == 4
    # The ledger has the filtered-out posts for nobody: nothing to send later either.
    assert str(READER) not in await Ledger(redis, "t").records(posts[1].id)
    assert (await Ledger(redis, "t").records(posts[0].id))[str(READER)].state == "sent"


async def test_status_shows_keywords_and_subscribing_without_words_clears_them(
    telegram: FakeTelegram, redis: Redis, running
) -> None:
    reply = await ask(telegram, READER, "/langganan kaltara Banjir PLN")
    assert "KALTARA (kata kunci: banjir, pln)" in reply  # the status it ends with
    subs = Subscriptions(redis)
    assert (await subs.settings_of(READER)).keywords == {"kaltara": "banjir pln"}
    reply = await ask(telegram, OTHER, "/langganan kaltara")
    reply = await ask(telegram, READER, "/langganan kaltara")
    assert "tanpa kata kunci" in reply and "kata kunci:" not in reply
    assert (await subs.settings_of(READER)).keywords == {}
    # Keywords go with their category when it is unsubscribed.
    await subs.add(READER, ["kaltara"], "longsor")
    await subs.remove(READER, ["kaltara"])
    assert await redis.hgetall(keys.keywords("kaltara")) == {}


async def test_bad_keywords_and_quiet_hours_are_explained_and_nothing_is_stored(
    telegram: FakeTelegram, redis: Redis, running
) -> None:
    """Each from a chat of its own: a private chat gets one answer a second."""
    bad = [
        "/langganan kaltara banjir 🌊🌊",
        "/langganan kaltara ...",
        "/langganan kaltara " + "x" * 500,
        "/langganan kaltara " + " ".join(f"kata{i}" for i in range(100)),
        "/langganan kaltara b.*r",
    ]
    for chat, text in enumerate(bad, start=3001):
        reply = await ask(telegram, chat, text)
        assert "Langganan tidak diubah" in reply, text[:40]
        assert "/langganan kaltara banjir, longsor" in reply
    reply = await ask(telegram, 3100, "/langganan banjir, longsor")  # no category first
    assert "tidak ditemukan" in reply and "setelah nama kategori" in reply
    for chat, text in enumerate(("/senyap 25-99", "/senyap 22", "/quiet nanti malam"), 3200):
        reply = await ask(telegram, chat, text)
        assert "tidak dikenali" in reply and "/senyap 22-6" in reply
    # Nothing stored: no subscriber, keyword, quiet hours or chat anywhere.
    stored = [keys.subscribers("kaltara"), keys.keywords("kaltara"), keys.TELEGRAM_QUIET]
    stored += [keys.chat_subscriptions(chat) for chat in [*range(3001, 3006), 3100]]
    assert await redis.exists(*stored) == 0


async def test_quiet_hours_send_pushes_without_sound(
    telegram: FakeTelegram, redis: Redis, store: Store, running
) -> None:
    hour = datetime.now(UTC).astimezone(WITA).hour
    now_quiet = f"/senyap {hour}-{(hour + 2) % 24}"  # two hours: safe across an hour's end
    later = f"/quiet {(hour + 3) % 24}-{(hour + 5) % 24}"
    assert "🔕 Jam senyap" in await ask(telegram, READER, now_quiet)
    assert "🔕 Jam senyap" in await ask(telegram, OTHER, later)
    subs = Subscriptions(redis)
    for chat in (READER, OTHER, 2003):  # 2003: no quiet hours
        await subs.add(chat, ["kaltara"])
    assert (await subs.settings_of(READER)).quiet == f"{hour}-{(hour + 2) % 24}"
    before = len(telegram.sent)
    await store.upsert(article("Berita malam"), pushable=True)
    await telegram.wait_sent(before + 3)
    await until(lambda: nothing_pending(redis))
    got = {m.chat_id: m for m in pushes(telegram, before)}
    assert got[READER].silent and not got[OTHER].silent and not got[2003].silent
    assert "dimatikan" in await ask(telegram, 2003, "/senyap mati")
    assert "Jam senyap: " in await ask(telegram, READER, "/status")


async def test_a_forum_topic_subscribes_itself_and_a_closed_topic_ends_alone(
    telegram: FakeTelegram, redis: Redis, store: Store, running, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    other_group = -100777
    reply = await ask(
        telegram, other_group, "/langganan", chat_type="supergroup", user_id=ADMIN, thread_id=5
    )
    assert "Berlangganan" in reply and telegram.sent[-1].thread_id == 5  # answered in the topic
    subs = Subscriptions(redis)
    assert await subs.of_chat(f"{other_group}/5") == {"kaltara"}
    assert await subs.of_chat(other_group) == set()  # the group itself is not subscribed
    for thread in (7, 9):
        await subs.add(recipient(GROUP, thread), ["kaltara"])
    telegram.close_topic(GROUP, 9)
    before = len(telegram.calls)
    post = article("Rapat di Tanjung Selor")
    await store.upsert(post, pushable=True)
    await until(lambda: nothing_pending(redis), timeout=15)
    assert [m.thread_id for m in telegram.sent_to(GROUP)] == [7]
    assert [m.thread_id for m in telegram.sent_to(other_group) if "Rapat" in m.text] == [5]
    tries = [p for name, p in telegram.calls[before:] if name == "sendMessage"]
    assert sum(1 for p in tries if p.get("message_thread_id") == 9) == 1  # tried once
    records = await Ledger(redis, "t").records(post.id)
    assert records[f"{GROUP}/7"].state == "sent" and records[f"{GROUP}/9"].state == "topic_gone"
    assert await subs.of_chat(f"{GROUP}/9") == set()
    assert await subs.of_chat(f"{GROUP}/7") == {"kaltara"}
    assert f"{GROUP}/9" not in await subs.chats_for(["kaltara"])
    lines = [r.getMessage() for r in caplog.records if f"{GROUP}/9" in r.getMessage()]
    assert len(lines) == 1 and "topic_closed" in lines[0].lower()


async def test_a_chat_that_is_gone_takes_its_topics_and_settings_with_it(redis: Redis) -> None:
    subs = Subscriptions(redis)
    await subs.add(GROUP, ["kaltara"], "banjir")
    await subs.add(recipient(GROUP, 7), ["kaltara", "bulungan"])
    await subs.set_quiet(recipient(GROUP, 7), "22-6")
    await subs.add(READER, ["kaltara"])
    assert await subs.remove_chat(GROUP) == ["bulungan", "kaltara"]
    assert await subs.chats_for(["kaltara", "bulungan"]) == {str(READER)}
    assert await redis.hgetall(keys.TELEGRAM_QUIET) == {}
    assert await redis.hgetall(keys.keywords("kaltara")) == {}
    assert await redis.exists(keys.topics(GROUP)) == 0


async def test_a_migrated_group_keeps_its_keywords_and_quiet_hours(redis: Redis) -> None:
    subs = Subscriptions(redis)
    await subs.add(-42, ["kaltara"], "banjir -hoaks")
    await subs.set_quiet(-42, "22-6")
    assert await subs.move(-42, -10042) == ["kaltara"]
    moved = await subs.settings_of(-10042)
    assert moved.keywords == {"kaltara": "banjir -hoaks"} and moved.quiet == "22-6"
    assert await subs.settings_of(-42) == ChatSettings("-42", ())


async def test_a_digest_in_quiet_hours_arrives_without_sound(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """The digest goes through the push's send path: quiet hours hold for it too."""
    hour = datetime.now(UTC).astimezone(WITA).hour  # quiet hours are decided on the real clock
    seven = datetime(2026, 12, 2, 7, 0, tzinfo=WITA)  # the digest's slot, as test_digest's
    subs = Subscriptions(redis)
    for chat in (READER, OTHER):
        await subs.add(chat, ["kaltara"])
        await Digests(redis).set(chat, 7, seven - timedelta(days=3))
    await subs.set_quiet(READER, f"{hour}-{(hour + 2) % 24}")
    post = dataclasses.replace(article("Pagi ini"), published=seven - timedelta(hours=1))
    await store.upsert(post)
    async with a_push_bot(bot_settings) as bot:
        sender = DigestSender(
            redis, store, subs, pusher(bot, redis, store, bot_settings), owner="t"
        )
        assert await sender.send_due(seven) == 2
    (quiet,), (loud,) = telegram.sent_to(READER), telegram.sent_to(OTHER)
    assert "Pagi ini" in quiet.text and quiet.silent and not loud.silent
