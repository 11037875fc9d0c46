"""Polling with 1 and 2 worker processes on one Redis: polls/s, each against 1 worker.

    .venv/bin/python bench/poll_scale.py [--new 400] [--unchanged 8000] [--rounds 2]

The feeds of bench/poll.py (50 items, about 45 KB, strong ETags) are served by
a process of their own; a private embedded Redis holds the sources. Each worker
is a process of its own running the product's path (Poller with Schedule
claims, Ingestor.poll_and_record, Store) with feeds parsed on its event loop
(`poll.parse_processes = 0`, so a worker is one core), on a clock held still so
that every source is polled exactly once per cycle. The workers start, wait for
a go, and the time from the go to the last finished poll counts. "new": every
feed is new (fetch, parse, store); "304": every source already has the feed's
ETag and every poll is a conditional GET answered 304. Configurations alternate
within each round; medians shown.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable

from poll_feeds import NEWEST, feed_etag, feed_server
from poll_worker import Bench, Clock
from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import Poller, Schedule
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import SourceStatus
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.embedded import EmbeddedRedis

DONE, READY, GO = "bench:done", "bench:ready", "bench:go"  # the bench's own keys
NOW = NEWEST.timestamp() + 3600


class CountedSchedule(Schedule):
    """The real schedule; every finished poll is counted in Redis, across processes."""

    async def finish(self, name: str, next_poll: float) -> bool:
        finished = await super().finish(name, next_poll)
        await self.redis.incr(DONE)
        return finished


async def _work(redis_url: str, count: int, concurrency: int) -> None:
    redis = client_from_url(redis_url)
    settings = Settings()
    session = new_session(settings.user_agent)
    clock = Clock(NOW)
    registry = SourceRegistry(redis, settings)
    ingestor = Ingestor.from_settings(settings, redis, session, clock=clock, rand=lambda: 0.5)
    poller = Poller(
        CountedSchedule(redis), registry.all, ingestor.poll_and_record, registry.status,
        timeout=settings.poll.timeout, concurrency=concurrency, clock=clock, rand=lambda: 0.0,
    )  # fmt: skip
    try:
        await redis.incr(READY)
        await polled(lambda: redis.exists(GO))
        task = asyncio.create_task(poller.run())
        await polled(lambda: at_least(redis, DONE, count))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await session.close()
        await redis.aclose()


async def polled(check: Callable[[], Awaitable[object]], every: float = 0.01) -> None:
    """Until `check()` is true; the workers are other processes, so Redis is asked."""
    while True:
        if await check():
            return
        await asyncio.sleep(every)


async def at_least(redis: Redis, key: str, n: int) -> bool:
    return int(await redis.get(key) or 0) >= n


def worker(redis_url: str, count: int, concurrency: int) -> None:
    asyncio.run(_work(redis_url, count, concurrency))


async def prepare(bench: Bench, count: int, unchanged: bool) -> None:
    await bench.add_sources(count)
    if unchanged:  # as after a first cycle: every source holds its feed's ETag
        registry = SourceRegistry(bench.redis, bench.settings)
        for n in range(count):
            url = f"{bench.base}/feed/{n}/"
            status = SourceStatus(
                f"feed{n:05d}", url=url, defined_url=url, etag=feed_etag(n), primed=True
            )
            await registry.save_status(status)


async def one_cycle(bench: Bench, url: str, workers: int, count: int, concurrency: int) -> float:
    """Polls/s of `workers` processes over `count` prepared sources."""
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=worker, args=(url, count, concurrency)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    try:
        await polled(lambda: at_least(bench.redis, READY, workers))
        started = time.perf_counter()
        await bench.redis.set(GO, 1)
        await polled(lambda: at_least(bench.redis, DONE, count))
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    return count / seconds


async def run(args: argparse.Namespace, base: str) -> str:
    server = EmbeddedRedis(tempfile.mkdtemp(prefix="feedsvc-poll-scale-"))
    await server.start()
    redis = client_from_url(server.url)
    try:
        bench = Bench(redis, Settings(), base, args.concurrency, Clock(NOW))
        rates: dict[tuple[str, int], list[float]] = {}
        for n in range(1, args.rounds + 1):
            for cycle, count in (("new", args.new), ("304", args.unchanged)):
                for workers in (1, 2):
                    print(f"round {n}: {cycle}, {workers} worker(s)", file=sys.stderr, flush=True)
                    await prepare(bench, count, unchanged=cycle == "304")
                    rate = await one_cycle(bench, server.url, workers, count, args.concurrency)
                    rates.setdefault((cycle, workers), []).append(rate)
        version = (await redis.info("server"))["redis_version"]
    finally:
        await redis.aclose()
        await server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)
    return report(rates, args, version)


def report(rates: dict[tuple[str, int], list[float]], args: argparse.Namespace, redis: str) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Redis {redis}; {args.concurrency} polls at a time per "
        f"worker, parsing on the worker's loop; median of {args.rounds} rounds.",
        "",
        "| cycle | sources | workers | polls/s | baseline: 1 worker | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for cycle, count in (("all new", args.new), ("all 304", args.unchanged)):
        key = cycle.split()[1]
        one = statistics.median(rates[key, 1])
        for workers in (1, 2):
            rate = statistics.median(rates[key, workers])
            lines.append(
                f"| {cycle} | {count:,} | {workers} | {rate:,.0f} | {one:,.0f} | {rate / one:.2f} |"
            )
    lines += ["", "    .venv/bin/python bench/poll_scale.py " + " ".join(sys.argv[1:])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=400, help="sources in the all-new cycle")
    parser.add_argument("--unchanged", type=int, default=8000, help="sources in the 304 cycle")
    parser.add_argument("--concurrency", type=int, default=64, help="polls at a time (Poller)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with feed_server(max(args.new, args.unchanged)) as base:
        print(asyncio.run(run(args, base)))


if __name__ == "__main__":
    main()
