"""Push delivery (bot/delivery/) end to end: real store upserts, the event stream, real
python-telegram-bot against the fake Bot API; every guarantee is counted in what the
fake accepted and what the ledger holds."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from redis.asyncio import Redis
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.consumer import EventConsumer
from bot.delivery.ledger import Ledger
from bot.delivery.push import Pusher, push_bot
from bot.ratelimit import RedisRateLimiter
from bot.subscriptions import Subscriptions
from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import Settings
from feedsvc.ingest.entries import is_pushable
from feedsvc.models import Article
from feedsvc.storage import keys
from feedsvc.storage.events import Entry, EventStream, NewArticle, entry_id_at
from feedsvc.storage.store import Store
from tests.bot.helpers import NOW, READER, article, ask, group_exists, not_, nothing_pending, until
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
    telegram, bot_settings: Settings, redis: Redis, store: Store
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
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(telegram.token, base_url=telegram.base_url, request=request) as bot:
        p = pusher(bot, redis, store, bot_settings, count=counted.append)
        assert await p.handle(entry(post))
        assert await p.handle(entry(post))  # the event again: nothing resent
    assert telegram.counts() == {READER: 1, READER + 1: 1, "@kaltara_news": 1}
    records = await Ledger(redis, "x").records(post.id)
    assert records[str(READER)].state == "in_doubt"
    assert sorted(counted) == ["in_doubt", "sent", "sent"]
    assert "may not have arrived" in caplog.text


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


# --- exactly once, across restarts and crashes ---------------------------------------------


async def test_an_event_handled_twice_sends_once(
    telegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """A crash after sending but before the acknowledgement: the next process skips it."""
    await Subscriptions(redis).add(READER, ["kaltara"])
    post = article("Satu")
    await store.upsert(post)
    async with a_push_bot(bot_settings) as bot:
        assert await pusher(bot, redis, store, bot_settings, owner="a").handle(entry(post))
        assert await pusher(bot, redis, store, bot_settings, owner="b").handle(entry(post))
    assert len(telegram.sent_to(READER)) == 1
    assert len(telegram.sent_to("@kaltara_news")) == 1


async def test_a_crash_mid_fan_out_loses_only_what_was_on_the_wire(
    telegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """Sends waiting for their rate-limit turn hold no claim, so the next process sends them."""
    slow = with_telegram(bot_settings, max_rate=8, channels=())
    chats = CHATS[:10]
    await subscribe(redis, chats)
    post = article("Satu")
    await store.upsert(post)
    async with a_push_bot(slow) as bot:
        crashed = asyncio.create_task(pusher(bot, redis, store, slow).handle(entry(post)))
        await until(lambda: len(telegram.sent) >= 3)
        crashed.cancel()  # the process dies mid-fan-out
        await asyncio.gather(crashed, return_exceptions=True)
        claims = await redis.hgetall(keys.sent(post.id))
        assert len(claims) <= len(telegram.sent) + 1, "only the send on the wire is unsure"
        assert await pusher(bot, redis, store, slow, owner="next").handle(entry(post))
    delivered = [m.chat_id for m in telegram.sent]
    assert len(delivered) == len(set(delivered)), "nothing twice"
    records = await Ledger(redis, "x").records(post.id)
    unsure = {int(chat) for chat, record in records.items() if record.state == "sending"}
    assert len(unsure) <= 1  # the request on the wire when it died: arrived or not, unknown
    assert set(delivered) | unsure == set(chats), "every other chat got it"


async def test_a_stopped_fan_out_is_handed_back_and_finished_by_the_next_process(
    telegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """The drain: what is on the wire finishes, the rest is left unclaimed; the next
    process takes the event at once and nothing is lost or sent twice."""
    slow = with_telegram(bot_settings, max_rate=8, channels=())
    chats = CHATS[:10]
    await subscribe(redis, chats)
    post = article("Satu")
    async with a_push_bot(slow) as bot:
        stop = asyncio.Event()
        first = pusher(bot, redis, store, slow, owner="first", stop=stop)
        consumer = EventConsumer(redis, first.handle, window_hours=24, stop=stop, name="first")
        running = asyncio.create_task(consumer.run())
        await until(lambda: group_exists(redis))
        await store.upsert(post, pushable=True)
        await until(lambda: len(telegram.sent) >= 3)
        stop.set()
        await asyncio.wait_for(running, 5)  # promptly: nothing waits for its slot
        records = await Ledger(redis, "x").records(post.id)
        assert all(r.state == "sent" for r in records.values()), "no claim left in doubt"
        assert len(records) == len(telegram.sent) < len(chats)
        assert await EventStream(redis, keys.TELEGRAM_GROUP).pending_count() == 1
        second = pusher(bot, redis, store, slow, owner="second")
        successor = EventConsumer(redis, second.handle, window_hours=24, name="second")
        assert await successor.step(block_ms=10) == 1  # taken over without waiting
    assert once_each(telegram, chats)
    assert await nothing_pending(redis)


async def test_pending_events_of_a_gone_process_are_taken_over(
    telegram, bot_settings: Settings, redis: Redis, store: Store, monkeypatch
) -> None:
    monkeypatch.setattr("bot.delivery.consumer.TAKE_OVER_EVERY", 0)
    monkeypatch.setattr("bot.delivery.consumer.CLAIM_MIN_IDLE_MS", 0)
    await Subscriptions(redis).add(READER, ["kaltara"])
    async with a_push_bot(bot_settings) as bot:
        p = pusher(bot, redis, store, bot_settings)
        dead = EventConsumer(redis, p.handle, window_hours=24, name="dead")
        await dead.events.ensure_group(NOW - timedelta(hours=1))
        await dead.renew_lease()
        await store.upsert(article("Satu"), pushable=True)
        await dead.events.read_new("dead", count=10, block_ms=10)  # read, then died
        alive = EventConsumer(redis, p.handle, window_hours=24, name="alive")
        assert await alive.step(block_ms=10) == 0  # its lease still runs: not taken
        await redis.delete(keys.consumer_lease("dead"))  # the lease ran out
        assert await alive.step(block_ms=10) == 1
        assert await alive.step(block_ms=10) == 0
    assert len(telegram.sent_to(READER)) == 1
    assert await nothing_pending(redis)
    names = [c.name for c in await alive.events.consumers()]
    assert "dead" not in names  # forgotten once it had nothing pending


async def test_metrics_count_pushes_and_subscriptions(
    telegram, bot_settings: Settings, redis: Redis, store: Store, aiohttp_client
) -> None:
    client = await aiohttp_client(make_app(bot_settings, ("web", "bot")))
    await until(lambda: client.app[appkeys.BOT].running and group_exists(redis))
    await Subscriptions(redis).add(READER, ["kaltara"])
    await Subscriptions(redis).add(READER + 1, ["kaltara", "bulungan"])
    await store.upsert(article("Satu"), pushable=True)
    await telegram.wait_sent(3)  # two chats and the channel
    await until(lambda: nothing_pending(redis))  # the event is acknowledged
    text = await (await client.get("/metrics")).text()
    assert 'feedsvc_telegram_pushes_total{outcome="sent"} 3.0' in text
    assert 'feedsvc_telegram_subscriptions{category="kaltara"} 2.0' in text
    assert 'feedsvc_telegram_subscriptions{category="bulungan"} 1.0' in text
    assert "feedsvc_telegram_pushes_pending 0.0" in text


async def test_pushes_go_on_after_redis_lost_the_stream(
    telegram, redis: Redis, store: Store, running
) -> None:
    """A flushed Redis (or a new one without persistence) loses the consumer group."""
    await redis.flushdb()
    await Subscriptions(redis).add(READER, ["kaltara"])
    await until(lambda: group_exists(redis))
    await store.upsert(article("Sesudah"), pushable=True)
    await until(lambda: telegram.sent_to(READER))


@pytest.mark.parametrize("state", ["sending", "sent", "unknown"])
async def test_records_of_earlier_versions_count_as_done(
    telegram, bot_settings: Settings, redis: Redis, store: Store, state: str
) -> None:
    post = article("Satu")
    await store.upsert(post)
    await subscribe(redis, [READER])
    await redis.hset(keys.sent(post.id), str(READER), state)
    alone = with_telegram(bot_settings, channels=())
    async with a_push_bot(alone) as bot:
        assert await pusher(bot, redis, store, alone).handle(entry(post))
    assert telegram.sent == []
