"""Push delivery exactly once across restarts, crashes, take-overs and a Redis that lost
the stream; what /metrics counts of it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.delivery.consumer import EventConsumer
from bot.delivery.ledger import Ledger
from bot.subscriptions import Subscriptions
from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import Settings
from feedsvc.storage import keys
from feedsvc.storage.events import EventStream
from feedsvc.storage.store import Store
from tests.bot.helpers import NOW, READER, article, group_exists, nothing_pending, until
from tests.bot.test_delivery import (
    CHATS,
    a_push_bot,
    entry,
    once_each,
    pusher,
    subscribe,
    with_telegram,
)

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
