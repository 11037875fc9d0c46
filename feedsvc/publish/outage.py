"""Redis away or frozen: clean 503s within `redis.timeout`, said once per outage.

Every web request gets `redis.timeout` seconds, counted from when its body is
all in (a slow upload is not Redis's fault), for everything it asks Redis. Past
that, or on any Redis error, the answer is a 503 with `Retry-After`, and feeds
already rendered are served stale from the render cache instead (feeds.py). The
first failure of an outage is one warning, the first success after it one more;
the requests in between log nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds a client is asked to wait
# Redis errors, our deadline (TimeoutError), and sockets failing under the client.
REDIS_TROUBLE = (RedisError, TimeoutError, ConnectionError)
DEADLINE = web.RequestKey("deadline", float)  # the loop time the Redis budget ends
REPLY_MARGIN = 0.3  # seconds a write's reply may take to come back before the budget ends


def write_time_left(request: web.Request) -> float:
    """Seconds a write Redis runs now still fits in this request's budget, with its reply."""
    return request[DEADLINE] - asyncio.get_running_loop().time() - REPLY_MARGIN


class Outage:
    """Whether this process's web requests find Redis away; logs the edges only."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException, now: float) -> None:
        self.failures += 1
        if self.since is None:
            self.since = now
            why = f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:120]
            log.warning("Redis unreachable (%s): answering 503, rendered feeds stale", why)

    def ok(self, now: float) -> None:
        if self.since is None:
            return
        log.warning(
            "Redis reachable again after %.0fs; %d requests got a 503 or a stale feed",
            now - self.since, self.failures,
        )  # fmt: skip
        self.since, self.failures = None, 0


def unavailable(request: web.Request) -> web.Response:
    """The 503 of a request Redis could not serve in time."""
    headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        body = orjson.dumps({"error": "storage unavailable, try again shortly", "field": None})
        return web.Response(status=503, body=body, content_type="application/json", headers=headers)
    return web.Response(
        status=503, text="storage unavailable, try again shortly\n", headers=headers
    )


def redis_guard(outage: Outage, timeout: float) -> Middleware:
    """A middleware giving each request `timeout` seconds of Redis; trouble is a 503."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            # Kept by aiohttp for the handler; one too large the handler answers itself.
            with contextlib.suppress(web.HTTPRequestEntityTooLarge):
                await request.read()
        request[DEADLINE] = asyncio.get_running_loop().time() + timeout
        try:
            async with asyncio.timeout(timeout):
                response = await handler(request)
        except REDIS_TROUBLE as exc:
            outage.failed(exc, time.monotonic())
            return unavailable(request)
        if response.status < 500 and "Warning" not in response.headers:
            outage.ok(time.monotonic())
        return response

    return guard
