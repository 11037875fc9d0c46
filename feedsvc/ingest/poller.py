"""The shared schedule in Redis, and the loop that polls due sources.

The schedule is a sorted set of next-poll times, which makes it survive restarts
and lets several workers share it: a worker claims due sources atomically,
pushing them a lease ahead, and only the claim's owner may set the next poll
time. When to poll next is decided in `schedule`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from feedsvc.dates import duration, to_wita
from feedsvc.ingest.schedule import (
    MIN_LEASE,
    SHORT_INTERVAL,
    first_poll,
    lease_seconds,
    next_poll_after_failure,
)
from feedsvc.models import Source, SourceStatus
from feedsvc.storage import keys
from feedsvc.storage.connection import raise_if_cancelled

log = logging.getLogger(__name__)

SYNC_EVERY = 30.0  # seconds between re-reading the source list
TICK = 1.0

_CLAIM = """
local names = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])
for _, name in ipairs(names) do
  redis.call('ZADD', KEYS[1], ARGV[2], name)
  redis.call('HSET', KEYS[2], name, ARGV[3])
end
return names
"""

_FINISH = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""

# A poll asked for by hand (the API, `feedsvc sources poll`): nothing while a worker's
# claim on the source is live (owned and its lease not run out); else due at ARGV[2],
# and with ARGV[3] the caller's own claim (the CLI polls in its own process).
_BY_HAND = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 and due and tonumber(due) > tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
return 1
"""

PollFn = Callable[[Source, SourceStatus], Awaitable[SourceStatus]]
StatusFn = Callable[[str], Awaitable[SourceStatus]]
SaveFn = Callable[[SourceStatus], Awaitable[None]]
RELEASE_TIMEOUT = 2.0  # seconds to hand back claims at a stop; past it the lease runs out


def due_text(name: str, when: float, now: float) -> str:
    """E.g. "antara-kaltara at 10:35:20 WITA (in 4m)"; "now" when already due."""
    if when <= now:
        return f"{name} now"
    local = to_wita(datetime.fromtimestamp(when, UTC))
    return f"{name} at {local:%H:%M:%S} WITA (in {duration(when - now)})"


class Schedule:
    """The shared schedule in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.token = secrets.token_hex(8)
        self._claim = redis.register_script(_CLAIM)
        self._finish = redis.register_script(_FINISH)
        self._by_hand = redis.register_script(_BY_HAND)

    async def sync(self, sources: list[Source], now: float, rand: Callable[[], float]) -> None:
        """Add new sources (due soon), drop ones that no longer exist."""
        known = {s.name: s for s in sources}
        scheduled = set(await self.redis.zrange(keys.SCHEDULE_DUE, 0, -1))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name, source in known.items():
                if name not in scheduled:
                    when = first_poll(now, source.interval, rand())
                    pipe.zadd(keys.SCHEDULE_DUE, {name: when}, nx=True)
            gone = scheduled - known.keys()
            if gone:
                pipe.zrem(keys.SCHEDULE_DUE, *gone)
                pipe.hdel(keys.SCHEDULE_OWNER, *gone)
            await pipe.execute()

    async def claim(self, now: float, lease: float, limit: int) -> list[str]:
        args = [now, now + lease, self.token, limit]
        return await self._claim(keys=[keys.SCHEDULE_DUE, keys.SCHEDULE_OWNER], args=args)

    async def finish(self, name: str, next_poll: float) -> bool:
        args = [name, self.token, next_poll]
        done = await self._finish(keys=[keys.SCHEDULE_DUE, keys.SCHEDULE_OWNER], args=args)
        return bool(done)

    async def poll_now(self, name: str, now: float) -> bool:
        """Make a source due now, so the next worker to look polls it at once;
        False when a worker is polling it already."""
        args = [name, now, "", now]
        return bool(await self._by_hand(keys=[keys.SCHEDULE_DUE, keys.SCHEDULE_OWNER], args=args))

    async def take(self, name: str, now: float, lease: float) -> bool:
        """Claim a source for a poll in this process, whether due or not (give it back
        with `finish`); False when a worker is polling it already."""
        args = [name, now + lease, self.token, now]
        return bool(await self._by_hand(keys=[keys.SCHEDULE_DUE, keys.SCHEDULE_OWNER], args=args))

    async def next_due(self) -> float | None:
        first = await self.first_due()
        return first[1] if first else None

    async def first_due(self) -> tuple[str, float] | None:
        """The source due first and when (Unix seconds)."""
        first = await self.redis.zrange(keys.SCHEDULE_DUE, 0, 0, withscores=True)
        return (first[0][0], first[0][1]) if first else None


class Poller:
    """Claims due sources and polls them, at most `concurrency` at a time."""

    def __init__(
        self,
        schedule: Schedule,
        list_sources: Callable[[], Awaitable[list[Source]]],
        poll: PollFn,
        load_status: StatusFn,
        *,
        timeout: float,
        lease: float = MIN_LEASE,
        save_status: SaveFn | None = None,
        concurrency: int = 64,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.schedule = schedule
        self.list_sources = list_sources
        self.poll = poll
        self.load_status = load_status
        self.save_status = save_status
        self.lease = lease_seconds(timeout, lease)
        self.concurrency = concurrency
        self.clock = clock
        self.rand = rand
        self.sources: dict[str, Source] = {}
        self.tasks: dict[asyncio.Task[None], str] = {}  # polls in flight, by source name
        self._stopping = asyncio.Event()
        self._synced_at = 0.0
        self._told_plan = False  # the one line at start saying what will be polled when
        self._warned_short: set[str] = set()
        self._redis_down = False
        # Claims whose result could not be written (Redis was away): name -> next poll.
        self._unfinished: dict[str, float] = {}

    async def run(self) -> None:
        """Poll until `stop()`; when cancelled, polls in flight are cut short and handed back."""
        try:
            while not self._stopping.is_set():
                wait = await self._step()
                raise_if_cancelled()
                await self._sleep(wait)
        except BaseException:
            await self._abandon_in_flight()
            raise

    def stop(self) -> None:
        """Claim nothing more; polls in flight go on until `drain`."""
        self._stopping.set()

    async def drain(self, grace: float) -> None:
        """Stop, let polls in flight finish within `grace` seconds, cut the rest short
        and hand their claims back."""
        self.stop()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        await self._abandon_in_flight()

    async def _abandon_in_flight(self) -> None:
        names = list(self.tasks.values())
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if not names:
            return
        # Due now, so another worker (or this one restarted) polls them at once
        # instead of after the lease.
        now = self.clock()
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT):
                for name in names:
                    await self.schedule.finish(name, now)
            log.info("handed back %d polls in flight: %s", len(names), ", ".join(sorted(names)))
        except (RedisError, TimeoutError) as exc:
            log.warning("could not hand back %d polls in flight (%s)", len(names), exc)

    async def _step(self) -> float:
        """One round: sync, claim, start polls; returns how long to wait."""
        try:
            now = self.clock()
            if now - self._synced_at >= SYNC_EVERY or not self.sources:
                await self._sync(now)
            await self._finish_unfinished()
            free = self.concurrency - len(self.tasks)
            if free > 0:
                for name in await self.schedule.claim(now, self.lease, free):
                    if self._stopping.is_set():  # claimed as the stop began
                        await self.schedule.finish(name, now)
                    else:
                        self._start(name)
            next_due = await self.schedule.next_due()
            self._redis_up()
        except RedisError as exc:
            self._redis_lost(exc)
            return 5.0
        if len(self.tasks) >= self.concurrency:
            return TICK
        return TICK if next_due is None else min(TICK, max(0.0, next_due - self.clock()))

    async def _sleep(self, seconds: float) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        waits: set[asyncio.Future[object]] = {stopping}
        if self.tasks and len(self.tasks) >= self.concurrency:
            waits |= set(self.tasks)
        try:
            await asyncio.wait(
                waits, timeout=max(seconds, 0.01), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()

    async def _sync(self, now: float) -> None:
        sources = await self.list_sources()
        self.sources = {s.name: s for s in sources}
        for s in sources:
            if s.interval < SHORT_INTERVAL and s.name not in self._warned_short:
                self._warned_short.add(s.name)
                log.warning(
                    "source %s: interval %gs is very short for a news site", s.name, s.interval,
                    extra={"source": s.name},
                )  # fmt: skip
        await self.schedule.sync(sources, now, self.rand)
        if not self._told_plan and sources:
            self._told_plan = True
            await self._say_plan(len(sources), now)
        self._synced_at = now

    async def _say_plan(self, count: int, now: float) -> None:
        """One line at start: how many sources, which is due first and when."""
        first = await self.schedule.first_due()
        if first is None:
            return
        name, when = first
        log.info("polling %d %s; first due: %s", count, "source" if count == 1 else "sources",
                 due_text(name, when, now))  # fmt: skip

    def _start(self, name: str) -> None:
        source = self.sources.get(name)
        if source is None:  # removed since the last sync; the next sync unschedules it
            return
        task = asyncio.create_task(self._poll_one(source), name=f"poll {name}")
        self.tasks[task] = name
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.pop(task, None)

    async def _poll_one(self, source: Source) -> None:
        status = SourceStatus(source.name)
        try:
            status = await self.load_status(source.name)
            async with asyncio.timeout(self.lease / 2):
                status = await self.poll(source, status)
            await self.schedule.finish(source.name, status.next_poll or self.clock())
        except TimeoutError:
            log.warning(
                "source %s: poll took longer than %.0fs; abandoned", source.name, self.lease / 2,
                extra={"source": source.name},
            )  # fmt: skip
        except RedisError as exc:
            # Hand the claim back once Redis answers again, so the source is polled
            # soon rather than when the lease runs out.
            self._unfinished[source.name] = self.clock()
            self._redis_lost(exc)
        except Exception as exc:
            await self._crashed(source, status, exc)

    async def _crashed(self, source: Source, status: SourceStatus, exc: Exception) -> None:
        """A bug, not the source's fault: back off as for a failure and hand the claim
        back now rather than when the lease runs out."""
        now = self.clock()
        failures = status.failures + 1
        next_poll = next_poll_after_failure(now, source.interval, failures, self.rand())
        log.error(
            "source %s: poll crashed (failure %d; next try in %.0fs)",
            source.name, failures, next_poll - now,
            exc_info=exc, extra={"source": source.name},
        )  # fmt: skip
        crashed = dataclasses.replace(
            status,
            last_poll=now,
            last_error=f"poll crashed: {type(exc).__name__}: {exc}"[:300],
            last_error_at=now,
            failures=failures,
            next_poll=next_poll,
            polls=status.polls + 1,
        )
        try:
            if self.save_status is not None:
                await self.save_status(crashed)
            await self.schedule.finish(source.name, next_poll)
        except RedisError as redis_exc:
            self._unfinished[source.name] = next_poll
            self._redis_lost(redis_exc)

    async def _finish_unfinished(self) -> None:
        for name, next_poll in list(self._unfinished.items()):
            await self.schedule.finish(name, next_poll)
            del self._unfinished[name]

    def _redis_lost(self, exc: Exception) -> None:
        if not self._redis_down:
            log.error("poller: Redis unreachable (%s); retrying", exc)
            self._redis_down = True

    def _redis_up(self) -> None:
        if self._redis_down:
            log.info("poller: Redis is back")
            self._redis_down = False
