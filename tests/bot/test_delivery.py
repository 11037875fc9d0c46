"""Push delivery (bot/delivery/) end to end: real store upserts, the event stream, real
python-telegram-bot against the fake Bot API; every guarantee is counted in what the
fake accepted and what the ledger holds."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import web
from prometheus_client import generate_latest
from redis.asyncio import Redis
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.ledger import Ledger
from bot.delivery.push import Pusher, push_bot
from bot.ratelimit import RedisRateLimiter
from bot.subscriptions import Subscriptions
from feedsvc.config import Settings
from feedsvc.ingest.entries import is_pushable
from feedsvc.metrics import Metrics
from feedsvc.models import Article
from feedsvc.storage import keys
from feedsvc.storage.events import Entry, NewArticle, entry_id_at
from feedsvc.storage.store import Store
from tests.bot.helpers import NOW, READER, article, ask, not_, nothing_pending, until
from tests.fakes.telegram_api import FakeTelegram

CHATS = list(range(2001, 2031))


def entry(post: Article, appended: datetime | None = None) -> Entry:
    event = NewArticle(post.id, post.slugs, True)
    return Entry(entry_id_at(appended or datetime.now(UTC)), event)


def pusher(bot: Bot, redis: Redis, store: Store, settings: Settings, **kwargs) -> Pusher:
    limiter = RedisRateLimiter(redis, max_rate=settings.telegram.max_rate)
    kwargs.setdefault("owner", "test")
    return Pusher(redis, store, Subscriptions(redis), bot, limiter, settings.telegram, **kwargs)


@contextlib.asynccontextmanager
async def a_push_bot(settings: Settings) -> AsyncIterator[Bot]:
    async with push_bot(settings.telegram, settings.telegram.api_base_url) as bot:
        yield bot


def with_telegram(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, telegram=dataclasses.replace(settings.telegram, **changes))


async def subscribe(redis: Redis, chats: list[int]) -> None:
    for chat in chats:
        await Subscriptions(redis).add(chat, ["kaltara"])


def once_each(telegram: FakeTelegram, chats: list[int]) -> bool:
    counts = telegram.counts()
    return all(counts[chat] == 1 for chat in chats) and set(counts) <= set(chats)


# --- what is pushed, to whom ---------------------------------------------------------------


async def test_new_post_is_pushed_once_to_subscribers_and_channels(
    telegram, redis: Redis, store: Store, running
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"])
    await Subscriptions(redis).add(2002, ["bulungan"])
    post = article("Pemprov Kaltara Intensif Dampingi Kabupaten/Kota", author="Wira")
    await store.upsert(post, pushable=True)
    sent = await telegram.wait_sent(2)
    assert {m.chat_id for m in sent} == {READER, "@kaltara_news"}
    text = sent[0].text
    assert f'<a href="{post.link}">' in text and post.title in text
    assert "Ringkasan berita" in text and "KALTARA" in text and "Wira" in text
    assert "WITA" in text and "Baca selengkapnya" in text
    await store.upsert(post, pushable=True)  # unchanged: no new event
    await asyncio.sleep(0.5)
    assert len(telegram.sent) == 2
    # The ledger keeps the message id Telegram gave each chat (what an edit needs).
    await until(lambda: nothing_pending(redis))
    ids = await Ledger(redis, "reader").message_ids(post.id)
    assert set(ids) == {str(READER), "@kaltara_news"} and all(i >= 1 for i in ids.values())


async def test_pushability_decided_at_ingest_is_obeyed(
    telegram, redis: Redis, store: Store, running
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"])
    old = article("Sudah lama", age=timedelta(hours=30))
    await store.upsert(article("Dari poll pertama"), pushable=False)
    await store.upsert(old, pushable=is_pushable(old, True, NOW, 24))  # as ingest decides
    await store.upsert(article("Baru"), pushable=True)
    sent = await telegram.wait_sent(2)
    await asyncio.sleep(0.5)
    assert [m.text.count("Baru") for m in telegram.sent] == [1, 1]
    assert all("Dari poll pertama" not in m.text and "Sudah lama" not in m.text for m in sent)


async def test_an_event_that_waited_past_the_push_window_is_not_pushed(
    telegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """Bots down for a day: their backlog is news no more."""
    await Subscriptions(redis).add(READER, ["kaltara"])
    post = article("Kemarin")
    await store.upsert(post)
    async with a_push_bot(bot_settings) as bot:
        p = pusher(bot, redis, store, bot_settings)
        assert await p.handle(entry(post, datetime.now(UTC) - timedelta(hours=25)))
        assert telegram.sent == []
        assert await p.handle(entry(post, datetime.now(UTC) - timedelta(hours=23)))
        assert len(telegram.sent_to(READER)) == 1


async def test_subscription_to_everything(telegram, redis: Redis, store: Store, running) -> None:
    await ask(telegram, READER, "/langganan semua")
    await store.upsert(article("Olahraga", categories=("Olahraga",)), pushable=True)
    sent = await telegram.wait_sent(2)
    assert "Olahraga" in sent[-1].text and sent[-1].chat_id == READER


async def test_a_post_in_two_subscribed_categories_is_pushed_once(
    telegram, redis: Redis, store: Store, running
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara", "bulungan", "all"])
    await store.upsert(article("Dua kategori", categories=("KALTARA", "Bulungan")), pushable=True)
    await telegram.wait_sent(2)  # the reader's and the channel's
    await asyncio.sleep(0.5)
    assert len(telegram.sent_to(READER)) == 1
    assert "KALTARA, Bulungan" in telegram.sent_to(READER)[0].text


# --- what Telegram answers ------------------------------------------------------------------


async def test_a_blocked_bot_unsubscribes_the_chat(
    telegram, redis: Redis, store: Store, running
) -> None:
    subs = Subscriptions(redis)
    await subs.add(READER, ["kaltara"])
    telegram.fail(READER, "blocked", times=-1)
    post = article("Satu")
    await store.upsert(post, pushable=True)
    await telegram.wait_sent(1)  # the channel's
    await until(lambda: not_(subs.of_chat(READER)))
    assert telegram.sent_to(READER) == []
    assert (await Ledger(redis, "x").get(post.id, str(READER))).state == "refused"


async def test_a_migrated_group_is_followed(telegram, redis: Redis, store: Store, running) -> None:
    subs = Subscriptions(redis)
    await subs.add(-555, ["kaltara"])
    telegram.fail(-555, "migrated", migrate_to=-1000555)
    await store.upsert(article("Satu"), pushable=True)
    await until(lambda: telegram.sent_to(-1000555))
    assert await subs.of_chat(-1000555) == {"kaltara"}
    assert await subs.of_chat(-555) == set()


async def test_a_429_is_waited_out_and_sent_once(
    telegram, redis: Redis, store: Store, running
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"])
    telegram.fail(READER, "flood", retry_after=1)
    await store.upsert(article("Satu"), pushable=True)
    await until(lambda: telegram.sent_to(READER))
    tries = [p for p in telegram.calls_to("sendMessage") if p["chat_id"] == READER]
    assert len(tries) == 2 and len(telegram.sent_to(READER)) == 1
    assert tries and await redis.pttl(keys.TELEGRAM_PAUSE) < 0  # the pause is over


async def test_every_fifth_call_a_bad_gateway_loses_nothing_and_doubles_nothing(
    telegram, bot_settings: Settings, redis: Redis, store: Store, caplog
) -> None:
    telegram.fail_every(5)
    await subscribe(redis, CHATS)
    posts = [article("Satu"), article("Dua")]
    fast = with_telegram(bot_settings, max_rate=200, channels=())
    async with a_push_bot(fast) as bot:
        p = pusher(bot, redis, store, fast)
        for post in posts:
            await store.upsert(post)
            assert await p.handle(entry(post))
    assert len(telegram.faults) >= len(CHATS) * 2 // 5
    for post in posts:
        got = [m.chat_id for m in telegram.sent if post.title in m.text]
        assert sorted(got) == CHATS, "every chat once"
    # Each retry is one log line with the chat and the article as fields (JSON keys).
    retries = [r for r in caplog.records if "not sent" in r.getMessage()]
    assert len(retries) == len(telegram.faults)
    assert {(r.chat_id, r.article_id) for r in retries} <= {
        (chat, post.id) for chat in CHATS for post in posts
    }


async def test_connection_resets_lose_nothing_and_double_nothing(
    telegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    telegram.fail_every(4, "reset")
    await subscribe(redis, CHATS)
    post = article("Satu")
    await store.upsert(post)
    fast = with_telegram(bot_settings, max_rate=200, channels=())
    async with a_push_bot(fast) as bot:
        assert await pusher(bot, redis, store, fast).handle(entry(post))
    assert len(telegram.faults) >= len(CHATS) // 4
    assert once_each(telegram, CHATS)


async def test_a_timeout_after_the_request_left_stays_in_doubt(
    telegram, bot_settings: Settings, redis: Redis, store: Store, monkeypatch, caplog
) -> None:
    """Telegram took the message but its answer came too late: never sent again."""
    answer = telegram._m_sendmessage

    async def slow_for_the_reader(params: dict) -> web.Response:
        response = await answer(params)
        if params["chat_id"] == READER:
            await asyncio.sleep(1.0)
        return response

    monkeypatch.setattr(telegram, "_m_sendmessage", slow_for_the_reader)
    await subscribe(redis, [READER, READER + 1])
    post = article("Satu")
    await store.upsert(post)
    counted: list[str] = []
    metrics = Metrics()

    def count(outcome: str) -> None:  # as the bot process counts them for /metrics
        counted.append(outcome)
        metrics.count_push(outcome)

    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(telegram.token, base_url=telegram.base_url, request=request) as bot:
        p = pusher(bot, redis, store, bot_settings, count=count)
        assert await p.handle(entry(post))
        assert await p.handle(entry(post))  # the event again: nothing resent
    assert telegram.counts() == {READER: 1, READER + 1: 1, "@kaltara_news": 1}
    records = await Ledger(redis, "x").records(post.id)
    assert records[str(READER)].state == "in_doubt"
    assert sorted(counted) == ["in_doubt", "sent", "sent"]
    scraped = generate_latest(metrics.registry).decode()
    assert 'feedsvc_telegram_pushes_total{outcome="in_doubt"} 1.0' in scraped
    assert 'feedsvc_telegram_pushes_total{outcome="sent"} 2.0' in scraped
    [doubt] = [r for r in caplog.records if "may not have arrived" in r.getMessage()]
    assert (doubt.chat_id, doubt.article_id) == (READER, post.id)


async def test_telegram_unreachable_mid_fan_out_is_retried_until_it_answers(
    bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """Connection refused: nothing was sent, so the claim goes back and the send is tried
    again with a backoff until Telegram is back; the event is done only then."""
    later = FakeTelegram(token=bot_settings.telegram.token)
    await later.start()
    port = int(later.base_url.split(":")[2].split("/")[0])
    await later.close()  # the port is free again: nothing listens there now
    unreachable = with_telegram(bot_settings, channels=())
    await subscribe(redis, [READER])
    post = article("Satu")
    await store.upsert(post)
    bot = Bot(later.token, base_url=later.base_url)  # not initialized: that would call getMe
    p = pusher(bot, redis, store, unreachable)
    handled = asyncio.create_task(p.handle(entry(post)))
    try:
        await asyncio.sleep(1.5)  # at least one refused try and its backoff
        assert not handled.done()
        assert await redis.hgetall(keys.sent(post.id)) == {}  # no claim while waiting
        await later.start(port)  # Telegram is back
        assert await asyncio.wait_for(handled, 10)
        assert later.counts() == {READER: 1}
    finally:
        handled.cancel()
        await later.close()
