"""WebSub publish pings: tell the hub which feeds changed, never blocking ingest.

Changes are collected into a set of topics (feed URLs) and sent by one
background task, so a burst of new articles costs one ping per feed, and a slow
or failing hub only delays pings. Each ping is retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import aiohttp

from feedsvc.config import Settings
from feedsvc.publish.feedurls import feed_url
from feedsvc.publish.render import FORMATS

log = logging.getLogger(__name__)

RETRIES = 5
FIRST_DELAY = 2.0
TIMEOUT = 10.0


class WebSubPinger:
    def __init__(self, session: aiohttp.ClientSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.hub = settings.feeds.websub_hub
        self._pending: set[str] = set()
        self._wake = asyncio.Event()

    def topics(self, slugs: Iterable[str | None]) -> set[str]:
        """Page-one URLs of every format of every affected feed, `all` included."""
        every = {*slugs, None}
        return {feed_url(self.settings, slug, fmt) for slug in every for fmt in FORMATS}

    def notify(self, slugs: Iterable[str | None]) -> None:
        self._pending |= self.topics(slugs)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            topics, self._pending = self._pending, set()
            await asyncio.gather(*(self._ping(topic) for topic in sorted(topics)))

    async def _ping(self, topic: str) -> None:
        delay = FIRST_DELAY
        for attempt in range(1, RETRIES + 1):
            error = await self._post(topic)
            if error is None:
                return
            if attempt == RETRIES:
                log.warning(
                    "websub: hub %s refused %s after %d tries: %s", self.hub, topic, attempt, error
                )
                return
            await asyncio.sleep(delay)
            delay *= 2

    async def _post(self, topic: str) -> str | None:
        data = {"hub.mode": "publish", "hub.url": topic, "hub.topic": topic}
        try:
            async with self.session.post(
                self.hub, data=data, timeout=aiohttp.ClientTimeout(total=TIMEOUT)
            ) as resp:
                if resp.status < 300:
                    return None
                return f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"
