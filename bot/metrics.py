"""The bot's gauges on /metrics, read from Redis; the composition root registers them."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.subscriptions import Subscriptions
from feedsvc.metrics import Metrics
from feedsvc.storage import keys
from feedsvc.storage.events import EventStream


async def telegram_gauges(metrics: Metrics, redis: Redis) -> None:
    """Subscriptions per category and pushes pending, read from Redis at each scrape."""
    metrics.subscriptions.clear()  # a category nobody follows any more has no key to count
    for slug, chats in (await Subscriptions(redis).counts()).items():
        metrics.subscriptions.labels(slug).set(chats)
    pending = await EventStream(redis, keys.TELEGRAM_GROUP).pending_count()
    metrics.pushes_pending.set(pending)
