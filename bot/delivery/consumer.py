"""The event consumer: new-article events in, one `handle` call per event out.

Every bot process is a consumer of the `telegram` group on the store's event
stream (feedsvc/storage/events.py), so each event goes to one of them. An event
is acknowledged once `handle` says every recipient is done; until then it stays
pending, this process's.

- Alive or not: each consumer keeps a lease in Redis (renewed every 2 s, 10 s
  long). Another process takes over the pending events of a consumer whose lease
  is gone: a SIGKILLed process's events move on 10 s later, a stopped one's at
  once (it drops its lease on the way out).
- Stopping (`stop` set): no new events are read; the event in hand finishes what
  is on the wire and leaves the rest; whatever is left pending is handed back
  (marked idle, the lease dropped) for the next process to take.
- Redis away: reading pauses, said once, and resumes by itself; entries whose
  read or acknowledgement was lost are read again from this consumer's own
  pending list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from feedsvc.storage import keys
from feedsvc.storage.events import Entry, EventStream

log = logging.getLogger(__name__)

BATCH = 20
BLOCK_MS = 1_000  # under the client's command timeout (redis.timeout, at least 1.5 s)
LEASE_MS = 10_000  # a consumer whose lease is this old is gone
LEASE_RENEW = 2.0
TAKE_OVER_EVERY = 2.0  # seconds between looks for events of gone consumers
CLAIM_MIN_IDLE_MS = 1_000  # of two processes taking over at once, only the first gets them
HANDED_BACK_IDLE_MS = 3_600_000  # what a stopping process marks its leftovers as
REDIS_RETRY = 2.0

Handle = Callable[[Entry], Awaitable[bool]]


class EventConsumer:
    def __init__(
        self,
        redis: Redis,
        handle: Handle,
        *,
        window_hours: float,
        stop: asyncio.Event | None = None,
        name: str = "",
    ) -> None:
        self.redis = redis
        self.events = EventStream(redis, keys.TELEGRAM_GROUP)
        self.handle = handle
        self.window = timedelta(hours=window_hours)
        self.stop = stop or asyncio.Event()
        self.name = name or consumer_name()
        self._next_take_over = 0.0

    async def run(self) -> None:
        """Handle events until `stop` is set, then hand back what is left."""
        lease = asyncio.create_task(self._keep_lease(), name="consumer-lease")
        try:
            await self._loop()
        finally:
            lease.cancel()
            await asyncio.gather(lease, return_exceptions=True)
        await self.hand_back()  # after the lease task, which would renew what we drop

    async def _loop(self) -> None:
        down_since: float | None = None
        needs_group = True
        while not self.stop.is_set():
            _reraise_cancellation()
            try:
                if needs_group:
                    # At the push window's edge: older events would not be pushed anyway,
                    # and a new deployment reads no backlog.
                    await self.events.ensure_group(datetime.now(UTC) - self.window)
                    needs_group = False
                await self.renew_lease()
                await self.step()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                needs_group = True  # the stream went away (a flushed or new Redis)
                continue
            except RedisError as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("pushes paused, Redis unavailable: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), REDIS_RETRY)
                continue
            if down_since is not None:
                log.info("pushes resumed after %.0f s", time.monotonic() - down_since)
                down_since = None

    async def step(self, block_ms: int = BLOCK_MS) -> int:
        """Handle one batch: our own unfinished events, a gone consumer's, or new ones."""
        entries = await self.events.read_own(self.name, BATCH)
        if not entries and time.monotonic() >= self._next_take_over:
            self._next_take_over = time.monotonic() + TAKE_OVER_EVERY
            entries = await self.take_over()
        if not entries:
            entries = await self._read_new(block_ms)
        for entry in entries:
            if self.stop.is_set():
                break  # left pending, handed back on the way out
            if await self.handle(entry):
                await self.events.ack([entry.entry_id])
        return len(entries)

    async def _read_new(self, block_ms: int) -> list[Entry]:
        """New entries, waiting up to `block_ms` for some; a stop cuts the wait short
        (what the cut read took is pending for us, and handed back)."""
        read = asyncio.ensure_future(self.events.read_new(self.name, BATCH, block_ms))
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not read.done():
            read.cancel()
            await asyncio.gather(read, return_exceptions=True)
            return []
        return read.result()

    async def take_over(self) -> list[Entry]:
        """Claim pending events of consumers whose lease is gone; forget idle ones."""
        others = [c for c in await self.events.consumers() if c.name != self.name]
        if not others:
            return []
        leases = await self.redis.mget([keys.consumer_lease(c.name) for c in others])
        taken: list[Entry] = []
        for consumer, lease in zip(others, leases, strict=True):
            if lease is not None:
                continue
            if consumer.pending == 0:
                await self.events.forget_consumer(consumer.name)
                continue
            ids = await self.events.pending_of(consumer.name, BATCH - len(taken))
            found = await self.events.claim(self.name, ids, CLAIM_MIN_IDLE_MS)
            if found:
                log.info("took over %d pending event(s) of %s", len(found), consumer.name)
            taken += found
            if len(taken) >= BATCH:
                break
        return taken

    async def hand_back(self) -> None:
        """Leave our pending events for the next process, at once."""
        try:
            ids = await self.events.pending_of(self.name, 10_000)
            await self.events.hand_back(self.name, ids, HANDED_BACK_IDLE_MS)
            await self.redis.delete(keys.consumer_lease(self.name))
        except RedisError as exc:  # then the lease runs out and they move on later
            log.warning("could not hand back pending pushes (Redis: %s)", exc)
            return
        if ids:
            log.info("handed back %d unfinished event(s)", len(ids))

    async def renew_lease(self) -> None:
        await self.redis.set(keys.consumer_lease(self.name), "1", px=LEASE_MS)

    async def _keep_lease(self) -> None:
        # Beside the loop, so a long fan-out keeps its events.
        while True:
            await asyncio.sleep(LEASE_RENEW)
            with contextlib.suppress(RedisError):
                await self.renew_lease()


def consumer_name() -> str:
    """This process's name in the group: the host, the pid and a random tail."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _reraise_cancellation() -> None:
    # redis-py (8.1) can swallow the cancellation of a blocking read and return
    # nothing, which would keep this loop running after it was told to stop.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
