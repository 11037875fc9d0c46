"""Prometheus metrics, one registry per application (no process-wide globals).

Counts of what is stored and failing are read from Redis when /metrics is
scraped, so every process reports the same truth. The route and the request
counter: metrics_view.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from redis.asyncio import Redis

# Reads more gauges from Redis at each scrape; the composition root registers the bot's.
ScrapeHook = Callable[["Metrics", Redis], Awaitable[None]]


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

        self.scrape_hooks: list[ScrapeHook] = []
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
