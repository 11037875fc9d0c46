"""The render cache: rendered feeds kept per key and store version, and batched reads.

A request costs one Redis read of its category's change counter (requests in one
event-loop tick share it); only a changed counter re-renders, and concurrent misses
for one key share one render.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from feedsvc.storage.store import Store

CACHE_ENTRIES = 512

CacheKey = tuple[str | None, str, int, int]


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    gzipped: bytes
    etag: str  # strong, over the body bytes
    etag_gzip: str  # the gzip representation is another entity: its own tag
    last_modified: datetime

    @classmethod
    def of(cls, body: bytes, last_modified: datetime) -> Rendered:
        digest = hashlib.sha256(body).hexdigest()[:24]
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag=f'"{digest}"',
            etag_gzip=f'"{digest}-gz"',
            last_modified=last_modified.replace(microsecond=0),
        )


class VersionReader:
    """Feed requests that arrive in one event-loop tick share one Redis read.

    Each request joins the batch that is still open when it arrives; the read is
    sent after the batch closes, so every request still sees every change made
    before it arrived.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._batch: dict[str | None, asyncio.Future[int | None]] | None = None
        self._reads: set[asyncio.Task[None]] = set()  # strong references while in flight

    async def version(self, slug: str | None) -> int | None:
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = {}
            loop.call_soon(self._close)
        future = self._batch.get(slug)
        if future is None:
            future = self._batch[slug] = loop.create_future()
        return await asyncio.shield(future)

    def _close(self) -> None:
        batch, self._batch = self._batch or {}, None
        task = asyncio.get_running_loop().create_task(self._read(batch))
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def _read(self, batch: dict[str | None, asyncio.Future[int | None]]) -> None:
        try:
            versions = await self.store.feed_versions(list(batch))
        except Exception as exc:
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # each waiter re-raises it
            return
        for future, version in zip(batch.values(), versions, strict=True):
            if not future.done():
                future.set_result(version)


class FeedCache:
    """Rendered feeds by key, each valid for one store version; misses render once."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        # key -> (store version, rendered, when rendered on the monotonic clock)
        self._entries: OrderedDict[CacheKey, tuple[int, Rendered, float]] = OrderedDict()
        self._pending: dict[tuple[CacheKey, int], asyncio.Future[Rendered]] = {}

    async def get(
        self, key: CacheKey, version: int, build: Callable[[], Awaitable[Rendered]]
    ) -> tuple[Rendered, bool]:
        """(rendered, was_a_hit)."""
        cached = self._entries.get(key)
        if cached is not None and cached[0] == version:
            self._entries.move_to_end(key)
            return cached[1], True
        pending = self._pending.get((key, version))
        if pending is not None:
            return await asyncio.shield(pending), True
        future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
        self._pending[(key, version)] = future
        try:
            rendered = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; nobody else needs to see it logged
            raise
        finally:
            del self._pending[(key, version)]
        future.set_result(rendered)
        self._store(key, version, rendered)
        return rendered, False

    def stale(self, key: CacheKey) -> tuple[Rendered, float] | None:
        """The last rendering of `key` whatever its version, and when it was rendered."""
        cached = self._entries.get(key)
        return (cached[1], cached[2]) if cached is not None else None

    def _store(self, key: CacheKey, version: int, rendered: Rendered) -> None:
        self._entries[key] = (version, rendered, time.monotonic())
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
