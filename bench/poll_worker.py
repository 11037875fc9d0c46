"""The worker path as bench/poll.py measures it: the real Poller, Schedule claims,
Ingestor and Store on a clock the bench holds still, with CPU samples of every
process and the event loop's lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import statistics
import time
from concurrent.futures import Executor, ProcessPoolExecutor

import aiohttp
from poll_feeds import CONTENT_TYPE, feed_body, feed_etag
from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.ingest import fetch
from feedsvc.ingest.parse import parse_feed
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import Poller, Schedule
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source
from feedsvc.storage import keys

# Who was busy: CPU seconds of each process, and of the whole machine.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class Sample:
    wall: float
    worker: float  # this process and its parse pool, if any
    server: float
    redis: float
    machine: float  # every process, ours or not
    served_200: int
    served_304: int


def process_cpu(pid: int) -> float:
    """CPU seconds a live process has used (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu() -> float:
    """CPU seconds all cores have been busy (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(t) for t in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS  # all but idle and iowait


async def sample(base: str, redis: Redis | None, pool_pids: frozenset[int] = frozenset()) -> Sample:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/stats") as resp:
        stats = await resp.json()
    redis_cpu = 0.0
    if redis is not None:
        info = await redis.info("cpu")
        redis_cpu = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return Sample(
        wall=time.perf_counter(),
        worker=time.process_time() + sum(process_cpu(pid) for pid in pool_pids),
        server=stats["cpu"],
        redis=redis_cpu,
        machine=machine_cpu(),
        served_200=stats["200"],
        served_304=stats["304"],
    )


@dataclasses.dataclass(frozen=True)
class Run:
    polls: int
    seconds: float
    cpu: dict[str, float]  # share of one core, per process
    served: tuple[int, int]  # 200s and 304s the server sent
    lag: float | None = None  # 99th percentile of event loop lag, seconds

    @property
    def rate(self) -> float:
        return self.polls / self.seconds


def run_between(polls: int, start: Sample, end: Sample, lag: float | None = None) -> Run:
    seconds = end.wall - start.wall
    cpu = {
        name: (getattr(end, name) - getattr(start, name)) / seconds
        for name in ("worker", "server", "redis", "machine")
    }
    cpu["other"] = max(0.0, cpu.pop("machine") - cpu["worker"] - cpu["server"] - cpu["redis"])
    served = (end.served_200 - start.served_200, end.served_304 - start.served_304)
    return Run(polls, seconds, cpu, served, lag)


class LagProbe:
    """How late the event loop wakes a task that sleeps 5 ms at a time."""

    NAP = 0.005

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.NAP)
            self.lags.append(time.perf_counter() - started - self.NAP)

    def p99(self) -> float | None:
        return statistics.quantiles(self.lags, n=100)[98] if len(self.lags) > 1 else None


# The ceiling: a bare aiohttp session, conditional GETs that all come back 304.


async def bare_304s(base: str, total: int, concurrency: int, per_host: int) -> Run:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host)
    numbers = iter(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        for n in numbers:
            headers = {"If-None-Match": feed_etag(n)}
            async with session.get(f"{base}/feed/{n}/", headers=headers) as resp:
                await resp.read()
                if resp.status != 304:
                    raise RuntimeError(f"feed {n}: HTTP {resp.status}, expected 304")

    async with aiohttp.ClientSession(connector=connector) as session:
        start = await sample(base, None)
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        end = await sample(base, None)
    return run_between(total, start, end)


# The worker path: the real Poller, Schedule claims, Ingestor and Store, on a clock
# the bench holds still, so a cycle polls every source exactly once.

INTERVAL = 300.0
STALL = 60.0  # seconds without a finished poll before a cycle is declared stuck


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingSchedule(Schedule):
    """The real shared schedule; it also tells when `expected` polls have finished."""

    def __init__(self, redis: Redis, expected: int) -> None:
        super().__init__(redis)
        self.left = expected
        self.done = asyncio.Event()

    async def finish(self, name: str, next_poll: float) -> bool:
        finished = await super().finish(name, next_poll)
        self.left -= 1
        if self.left <= 0:
            self.done.set()
        return finished


def wide_session(user_agent: str, per_host: int) -> aiohttp.ClientSession:
    """`new_session` with a per-host limit fit for sources that all share one host."""
    connector = aiohttp.TCPConnector(
        limit=fetch.TOTAL_CONNECTIONS, limit_per_host=per_host, ttl_dns_cache=300
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent},
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@dataclasses.dataclass
class Bench:
    redis: Redis
    settings: Settings
    base: str
    concurrency: int
    clock: Clock

    async def add_sources(self, count: int) -> None:
        """A clean store holding `count` sources, feed 0 to feed count-1."""
        await self.redis.flushdb()
        registry = SourceRegistry(self.redis, self.settings)
        numbers = iter(range(count))

        async def adder() -> None:
            for n in numbers:
                url = f"{self.base}/feed/{n}/"
                await registry.add(Source(f"feed{n:05d}", url, interval=INTERVAL))

        await asyncio.gather(*(adder() for _ in range(16)))

    async def cycle(
        self,
        session: aiohttp.ClientSession,
        pool: Executor | None = None,
        pool_pids: frozenset[int] = frozenset(),
    ) -> Run:
        """Every source polled once by the real Poller; the clock then moves past them all."""
        registry = SourceRegistry(self.redis, self.settings)
        count = await self.redis.hlen(keys.SOURCES)
        schedule = CountingSchedule(self.redis, count)
        poller = Poller(
            schedule, registry.all, self.ingestor(session, pool).poll_and_record,
            registry.status, timeout=self.settings.poll.timeout,
            concurrency=self.concurrency, clock=self.clock, rand=lambda: 0.0,
        )  # fmt: skip
        probe = LagProbe()
        start = await sample(self.base, self.redis, pool_pids)
        tasks = [asyncio.create_task(poller.run()), asyncio.create_task(probe.run())]
        try:
            await wait_done(schedule)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        end = await sample(self.base, self.redis, pool_pids)
        self.clock.now += 2 * INTERVAL
        await check(registry, count)
        return run_between(count, start, end, probe.p99())

    def ingestor(self, session: aiohttp.ClientSession, pool: Executor | None) -> Ingestor:
        return Ingestor.from_settings(
            self.settings,
            self.redis,
            session,
            clock=self.clock,
            rand=lambda: 0.5,  # no jitter: every next poll is INTERVAL away
            parse_pool=OnExecutor(pool) if pool is not None else None,  # type: ignore[arg-type]
        )


async def wait_done(schedule: CountingSchedule) -> None:
    while not schedule.done.is_set():
        left = schedule.left
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(schedule.done.wait(), STALL)
        if schedule.left == left and not schedule.done.is_set():
            raise RuntimeError(f"no poll finished in {STALL:.0f}s; {left} left")


async def check(registry: SourceRegistry, count: int) -> None:
    names = [f"feed{n:05d}" for n in range(count)]
    failed = [s for s in await registry.statuses(names) if s.failures]
    if failed:
        raise RuntimeError(f"{len(failed)} polls failed, e.g. {failed[0].last_error}")


def parsed_by(body: bytes) -> int:
    """Parse in a pool worker; says which worker did it."""
    parse_feed(body, CONTENT_TYPE, "http://127.0.0.1/feed/0/")
    return os.getpid()


class OnExecutor:
    """Any executor where the Ingestor takes a ParsePool (the same `run`, no limits)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    async def run(self, call):
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)


def start_pool(workers: int) -> tuple[ProcessPoolExecutor, frozenset[int]]:
    """A warm process pool (modules imported, code run once) and its workers' ids."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pids = frozenset(pool.map(parsed_by, [feed_body(0, 1)] * workers * 8))
    return pool, pids
