"""Prometheus metrics, one registry per application (no process-wide globals).

Counts of what is stored and failing are read from Redis when /metrics is
scraped, so every process reports the same truth.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from redis.asyncio import Redis

from bot.subscriptions import Subscriptions
from feedsvc import appkeys
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.storage import keys
from feedsvc.storage.events import EventStream


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "feedsvc_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "feedsvc_http_request_seconds", "HTTP request time by route", ["route"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )  # fmt: skip
        self.cache = Counter(
            "feedsvc_render_cache", "Feed render cache lookups", ["result"], registry=r
        )
        self.articles = Gauge(
            "feedsvc_articles_stored", "Articles in the store (all categories)", registry=r
        )
        self.categories = Gauge("feedsvc_categories", "Categories with articles", registry=r)
        self.sources = Gauge("feedsvc_sources", "Configured sources", registry=r)
        self.sources_failing = Gauge(
            "feedsvc_sources_failing", "Sources whose last poll failed", registry=r
        )
        self.pushes = Counter(
            "feedsvc_telegram_pushes",
            "Telegram pushes by this process, by outcome: sent, refused, moved, gone, failed, "
            "in_doubt (a timeout after the request left: not resent), retry (not sent, tried "
            "again)",
            ["outcome"],
            registry=r,
        )
        self.subscriptions = Gauge(
            "feedsvc_telegram_subscriptions", "Chats subscribed, by category", ["category"],
            registry=r,
        )  # fmt: skip
        self.pushes_pending = Gauge(
            "feedsvc_telegram_pushes_pending",
            "New-article events read by a bot process but not yet fully pushed",
            registry=r,
        )

        self._hit, self._miss = self.cache.labels("hit"), self.cache.labels("miss")
        self._by_route: dict[tuple[str, int], tuple[Counter, Histogram]] = {}

    def render_cache(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def count_push(self, outcome: str) -> None:
        self.pushes.labels(outcome).inc()

    def observe(self, route: str, status: int, seconds: float) -> None:
        # labels() is a dict lookup plus locking; keep the children (hot path).
        children = self._by_route.get((route, status))
        if children is None:
            children = (self.requests.labels(route, str(status)), self.latency.labels(route))
            self._by_route[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)


@web.middleware
async def count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Requests by route (the pattern, never the raw path) and status."""
    metrics = request.app[appkeys.METRICS]
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.observe(name, status, time.perf_counter() - started)


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format."""
    app = request.app
    metrics, store = app[appkeys.METRICS], app[appkeys.STORE]
    registry = SourceRegistry(app[appkeys.REDIS], app[appkeys.SETTINGS])
    sources = await registry.all()
    statuses = await registry.statuses([s.name for s in sources])
    metrics.articles.set(await store.count(None))
    metrics.categories.set(len(await store.categories()))
    metrics.sources.set(len(sources))
    metrics.sources_failing.set(sum(1 for s in statuses if s.failures))
    await _telegram_gauges(metrics, app[appkeys.REDIS])
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _telegram_gauges(metrics: Metrics, redis: Redis) -> None:
    metrics.subscriptions.clear()  # a category nobody follows any more has no key to count
    for slug, chats in (await Subscriptions(redis).counts()).items():
        metrics.subscriptions.labels(slug).set(chats)
    pending = await EventStream(redis, keys.TELEGRAM_GROUP).pending_count()
    metrics.pushes_pending.set(pending)
