"""Polling benchmark: feedsvc's worker path against a bare aiohttp client and feedparser alone.

    .venv/bin/python bench/poll.py [--sources 10000] [--changed 1000] [--concurrency 64]

A separate process serves N distinct WordPress-style RSS feeds (50 items, about
44 KB, a strong ETag, 304 on a matching If-None-Match) on loopback. This process,
against a private embedded Redis (or REDIS_URL, a throwaway database: it is
flushed), measures:

- the ceiling: a bare aiohttp session doing conditional GETs that all get 304;
- the real worker path (Poller with Schedule claims, Ingestor.poll_and_record,
  on a clock the bench holds still): cycle 1 over every source (every feed new:
  fetch, parse, store), then cycle 2 (every feed 304) with the polite per-host
  limit of `new_session` and with a session allowing `--concurrency` per host;
- cycle 1 again on `--changed` sources with feeds parsed on the event loop (what
  the product does below 64 KB), in threads, and in a process pool;
- the ingest cost of one feed against `feedparser.parse` alone on the same bytes.

Prints Markdown tables and the command; paste them into docs/BENCHMARKS.md.
Run it by hand on a quiet machine: other load shows in the last column.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import aiohttp
import feedparser
from poll_feeds import CONTENT_TYPE, ITEMS, NEWEST, feed_body, feed_server
from poll_worker import Bench, Clock, Run, bare_304s, start_pool, wide_session
from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.ingest import fetch
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.parse import parse_feed
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source
from feedsvc.storage.connection import client_from_url, unix_client
from feedsvc.storage.embedded import EmbeddedRedis

# Ingest of one feed against feedparser alone on the same bytes.


@dataclasses.dataclass(frozen=True)
class Costs:
    """Median seconds for one 50-item feed."""

    feedparser: float
    feedparser_plain: float  # sanitize_html=False
    parse_feed: float
    ingest: float  # parse_feed + to_article + upsert_many, wall clock
    ingest_cpu: float  # the same, CPU of this process only
    size: int


async def ingest_costs(bench: Bench, session: aiohttp.ClientSession, repeats: int) -> Costs:
    """Each step timed `repeats` times, interleaved; the store is emptied before each ingest."""
    body = feed_body(0, 1)
    passed = {"content-type": CONTENT_TYPE["Content-Type"]}  # what parse_feed hands on
    ingest = IngestTimer(bench, session, body)
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name, step in (
            ("feedparser", lambda: feedparser.parse(io.BytesIO(body), response_headers=passed)),
            ("feedparser_plain", lambda: feedparser.parse(
                io.BytesIO(body), response_headers=passed, sanitize_html=False)),
            ("parse_feed", lambda: parse_feed(body, CONTENT_TYPE, ingest.url, now=ingest.when)),
        ):  # fmt: skip
            started = time.perf_counter()
            step()
            times.setdefault(name, []).append(time.perf_counter() - started)
        wall, cpu = await ingest.once()
        times.setdefault("ingest", []).append(wall)
        times.setdefault("ingest_cpu", []).append(cpu)
    return Costs(**{name: statistics.median(v) for name, v in times.items()}, size=len(body))


class IngestTimer:
    """The full ingest of one feed into an empty store, as a poll does it after the fetch."""

    def __init__(self, bench: Bench, session: aiohttp.ClientSession, body: bytes) -> None:
        self.redis = bench.redis
        self.body = body
        self.url = f"{bench.base}/feed/0/"
        self.source = Source("cost", self.url)
        self.now = bench.clock()
        self.when = datetime.fromtimestamp(self.now, UTC)
        self.ingestor = bench.ingestor(SourceRegistry(bench.redis, bench.settings), session, None)

    async def once(self) -> tuple[float, float]:
        """Wall and CPU seconds of parse_feed + to_article + upsert_many."""
        await self.redis.flushdb()
        wall, cpu = time.perf_counter(), time.process_time()
        parsed = parse_feed(self.body, CONTENT_TYPE, self.url, now=self.when)
        counts = await self.ingestor.store_entries(parsed.entries, self.source, True, self.now)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if counts.new != ITEMS:
            raise RuntimeError(f"ingest stored {counts}, expected {ITEMS} new")
        return wall, cpu


# The run and its report.


async def measure(bench: Bench, args: argparse.Namespace) -> tuple[dict[str, Run], Costs]:
    ua = bench.settings.user_agent
    polite, wide = new_session(ua), wide_session(ua, args.concurrency)
    runs: dict[str, Run] = {}
    try:
        say("ingest cost of one feed")
        costs = await ingest_costs(bench, polite, args.repeats)
        for per_host in (fetch.PER_HOST_CONNECTIONS, args.concurrency):
            say(f"bare client, {per_host} per host")
            runs[f"bare {per_host}"] = await bare_304s(
                bench.base, args.sources, args.concurrency, per_host
            )
        say(f"{args.sources} sources: cycle 1 (all new)")
        await bench.add_sources(args.sources)
        runs["cycle 1"] = await bench.cycle(polite)
        say("cycle 2 (all 304), polite session, then wide session")
        runs["cycle 2 polite"] = await bench.cycle(polite)
        runs["cycle 2 wide"] = await bench.cycle(wide)
        runs |= await parse_variants(bench, polite, wide, args)
    finally:
        await polite.close()
        await wide.close()
    return runs, costs


async def parse_variants(
    bench: Bench,
    polite: aiohttp.ClientSession,
    wide: aiohttp.ClientSession,
    args: argparse.Namespace,
) -> dict[str, Run]:
    """Cycle 1 on `args.changed` sources, parsed on the loop, in threads, in processes."""
    runs = {}
    say(f"{args.changed} sources, cycle 1: on the loop, threads, processes")
    await bench.add_sources(args.changed)
    runs["loop"] = await bench.cycle(polite)
    with ThreadPoolExecutor(min(32, (os.cpu_count() or 1) + 4)) as threads:
        await bench.add_sources(args.changed)
        runs["threads"] = await bench.cycle(polite, threads)
    pool, pids = start_pool(args.workers)
    with pool:
        await bench.add_sources(args.changed)
        runs["processes"] = await bench.cycle(polite, pool, pids)
        await bench.add_sources(args.changed)
        runs["processes wide"] = await bench.cycle(wide, pool, pids)
    return runs


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def report(runs: dict[str, Run], costs: Costs, args: argparse.Namespace, redis: str) -> str:
    return "\n".join(
        [
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, Redis {redis}, aiohttp {aiohttp.__version__}, "
            f"feedparser {feedparser.__version__}; feeds of {ITEMS} items, "
            f"{costs.size / 1000:.0f} KB; {args.concurrency} polls at a time.",
            "",
            *poll_table(runs, costs, args),
            "",
            *cost_table(costs),
            "",
            "    .venv/bin/python bench/poll.py " + " ".join(sys.argv[1:]),
        ]
    )


def poll_table(runs: dict[str, Run], costs: Costs, args: argparse.Namespace) -> list[str]:
    polite, wide = str(fetch.PER_HOST_CONNECTIONS), str(args.concurrency)
    parse_only = ("`feedparser.parse` alone, one core", 1 / costs.feedparser)
    processes = f"{args.workers} processes"
    rows = [
        ("2: all 304", "cycle 2 polite", polite, "–", (f"bare aiohttp, {polite} per host",
                                                       runs[f"bare {polite}"].rate)),
        ("2: all 304", "cycle 2 wide", wide, "–", (f"bare aiohttp, {wide} per host",
                                                   runs[f"bare {wide}"].rate)),
        ("1: all new", "cycle 1", polite, "on the loop", parse_only),
        ("1: all new", "loop", polite, "on the loop", parse_only),
        ("1: all new", "threads", polite, "threads", parse_only),
        ("1: all new", "processes", polite, processes, parse_only),
        ("1: all new", "processes wide", wide, processes, parse_only),
    ]  # fmt: skip
    lines = [
        "| cycle | sources | per host | parse | polls/s | baseline | polls/s | ratio "
        "| loop lag p99 | CPU: worker / server / Redis / other |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---|",
    ]
    for cycle, key, per_host, parse, (base, base_rate) in rows:
        run = runs[key]
        lines.append(
            f"| {cycle} | {run.polls:,} | {per_host} | {parse} | {run.rate:,.0f} | {base} "
            f"| {base_rate:,.0f} | {run.rate / base_rate:.2f} | {milliseconds(run.lag)} "
            f"| {cpu_shares(run)} |"
        )
    for per_host in (polite, wide):
        run = runs[f"bare {per_host}"]
        lines.append(f"| (bare aiohttp) | {run.polls:,} | {per_host} | – | {run.rate:,.0f} "
                     f"| | | | | {cpu_shares(run)} |")  # fmt: skip
    return lines


def milliseconds(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def cpu_shares(run: Run) -> str:
    return " / ".join(f"{run.cpu[p]:.0%}" for p in ("worker", "server", "redis", "other"))


def cost_table(costs: Costs) -> list[str]:
    rows = [
        ("`feedparser.parse` (baseline)", costs.feedparser),
        ("`feedparser.parse(..., sanitize_html=False)`", costs.feedparser_plain),
        ("`parse_feed` (feedparser, nh3, dates, entries)", costs.parse_feed),
        ("full ingest: `parse_feed` + `to_article` + `upsert_many`", costs.ingest),
        ("full ingest, CPU of this process only (no Redis time)", costs.ingest_cpu),
    ]
    lines = [
        "| one feed, 50 items | ms per feed | µs per article | × feedparser |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in rows:
        per_article = seconds / ITEMS * 1e6
        ratio = seconds / costs.feedparser
        lines.append(f"| {name} | {seconds * 1000:.1f} | {per_article:,.0f} | {ratio:.2f} |")
    return lines


async def open_redis() -> tuple[Redis, EmbeddedRedis | None]:
    if os.environ.get("REDIS_URL"):
        return client_from_url(os.environ["REDIS_URL"]), None
    server = EmbeddedRedis(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    await server.start()
    return unix_client(str(server.socket_path)), server


async def run(args: argparse.Namespace, base: str) -> None:
    redis, server = await open_redis()
    try:
        clock = Clock(NEWEST.timestamp() + 3600)
        bench = Bench(redis, Settings(), base, args.concurrency, clock)
        runs, costs = await measure(bench, args)
        version = (await redis.info("server"))["redis_version"]
        print(report(runs, costs, args, version))
    finally:
        await redis.aclose()
        if server is not None:
            await server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000, help="feeds in cycles 1 and 2")
    parser.add_argument(
        "--changed", type=int, default=1_000, help="feeds in each cycle-1 parse comparison"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="polls at a time (Poller)")
    parser.add_argument("--workers", type=int, default=2, help="processes in the parse pool")
    parser.add_argument("--repeats", type=int, default=20, help="timings of one feed's ingest")
    args = parser.parse_args()
    with feed_server(max(args.sources, args.changed)) as base:
        asyncio.run(run(args, base))


if __name__ == "__main__":
    main()
