"""Push delivery throughput against a fake Bot API server on loopback.

One new post for N subscribed private chats goes through the real pusher and
the Redis rate limiter; the baseline in the same run is the same N sendMessage
calls through python-telegram-bot with no limiter (what the machine and the
library can do at all). Reports messages/s of both, and the pushed rate as a
share of `telegram.max_rate` (the goal is close to 1.0, never above).

    .venv/bin/python bench/push.py --chats 300 --max-rate 28
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Bot

from bot.delivery.push import Pusher, push_bot
from bot.ratelimit import RedisRateLimiter
from bot.subscriptions import Subscriptions
from feedsvc.config import RedisSettings, Settings, TelegramSettings
from feedsvc.lifecycle import open_redis
from feedsvc.models import Article, stable_id
from feedsvc.storage.events import Entry, NewArticle, entry_id_at
from feedsvc.storage.store import Store
from tests.fakes.telegram_api import FakeTelegram


async def main(chats: int, max_rate: float) -> None:
    async with FakeTelegram() as fake:
        data = tempfile.mkdtemp(prefix="feedsvc-bench-")
        telegram = TelegramSettings(
            token=fake.token, api_base_url=fake.base_url, max_rate=max_rate, channels=()
        )
        settings = Settings(redis=RedisSettings(data_dir=data), telegram=telegram)
        async with open_redis(settings) as (redis, _mode):
            await redis.flushdb()
            raw = await baseline(fake, chats)
            pushed, took = await pushes(fake, settings, redis, chats)
            busiest = busiest_second(fake)
    print(f"chats: {chats}, max_rate: {max_rate}/s")
    print(f"baseline, PTB without a limiter: {raw:,.0f} msg/s")
    print(f"pushes through the limiter: {pushed / took:,.1f} msg/s ({took:.2f} s)")
    print(f"pushed rate / max_rate: {pushed / took / max_rate:.2f}")
    print(f"pushed rate / baseline: {pushed / took / raw:.3f}")
    print(f"most messages in any 1 s: {busiest} (Telegram allows about 30)")


async def baseline(fake: FakeTelegram, chats: int) -> float:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        start = time.perf_counter()
        await asyncio.gather(*(bot.send_message(i, "x") for i in range(1, chats + 1)))
        took = time.perf_counter() - start
    fake.sent.clear()
    fake.calls.clear()
    return chats / took


async def pushes(fake: FakeTelegram, settings: Settings, redis, chats: int) -> tuple[int, float]:
    store = Store(redis)
    subs = Subscriptions(redis)
    for chat in range(1, chats + 1):
        await subs.add(chat, ["kaltara"])
    link = "https://www.jurnalkaltara.com/bench/"
    post = Article(
        id=stable_id(link),
        title="Berita bench",
        link=link,
        categories=("KALTARA",),
        published=datetime.now(UTC),
        summary="TANJUNG SELOR – ringkasan.",
    )
    await store.upsert(post)
    entry = Entry(entry_id_at(datetime.now(UTC)), NewArticle(post.id, ("kaltara",), True))
    limiter = RedisRateLimiter(redis, max_rate=settings.telegram.max_rate)
    async with push_bot(settings.telegram, fake.base_url) as bot:
        pusher = Pusher(redis, store, subs, bot, limiter, settings.telegram, owner="bench")
        start = time.perf_counter()
        await pusher.handle(entry)
        took = time.perf_counter() - start
    return len(fake.sent), took


def busiest_second(fake: FakeTelegram) -> int:
    times = sorted(m.at for m in fake.sent)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--max-rate", type=float, default=28)
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.max_rate))
