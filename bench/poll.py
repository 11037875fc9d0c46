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
import contextlib
import dataclasses
import hashlib
import io
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

import aiohttp
import feedparser
from aiohttp import web
from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.ingest import fetch
from feedsvc.ingest.fetch import Fetcher, new_session
from feedsvc.ingest.parse import parse_feed
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import Poller, Schedule
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url, unix_client
from feedsvc.storage.embedded import EmbeddedRedis
from feedsvc.storage.store import Store

ITEMS = 50
NEWEST = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # the newest post of the newest feed
FEED_VERSION = "1"  # part of every ETag: bump it to make every feed "changed"

# Regional news vocabulary for made-up but plausible Indonesian posts.
PLACES = ["TANJUNG SELOR", "TARAKAN", "NUNUKAN", "MALINAU", "TANA TIDUNG", "SEBATIK", "KRAYAN"]
ACTORS = [
    "Pemprov Kaltara", "Pemkab Bulungan", "Pemkot Tarakan", "DPRD Kaltara", "Dinas Kesehatan",
    "Bappeda dan Litbang Kaltara", "Polda Kaltara", "BPBD Nunukan", "Pemkab Malinau",
    "Dinas Pendidikan dan Kebudayaan", "Kantor Imigrasi Nunukan", "Basarnas Tarakan",
]  # fmt: skip
VERBS = [
    ("Tinjau", "meninjau"), ("Resmikan", "meresmikan"), ("Percepat", "mempercepat"),
    ("Dorong", "mendorong"), ("Evaluasi", "mengevaluasi"), ("Perkuat", "memperkuat"),
    ("Bahas", "membahas"), ("Targetkan", "menargetkan"), ("Sosialisasikan", "menyosialisasikan"),
]  # fmt: skip
TOPICS = [
    "pembangunan jalan perbatasan", "ketahanan pangan daerah", "penanganan stunting",
    "layanan kesehatan di pedalaman", "digitalisasi layanan publik", "pasokan listrik desa",
    "pelabuhan penyeberangan", "harga bahan pokok", "penanganan banjir musiman",
    "beasiswa mahasiswa daerah", "pendapatan asli daerah", "air bersih di pesisir",
]  # fmt: skip
CLAUSES = [
    "agar manfaatnya dirasakan langsung oleh masyarakat", "sesuai arahan gubernur",
    "dengan melibatkan pemerintah desa", "sebelum akhir tahun anggaran",
    "bersama instansi vertikal terkait", "demi pemerataan pembangunan di wilayah utara",
]  # fmt: skip
PEOPLE = ["Bertius", "Syarwani", "Rahmawati", "Hendra Saputra", "Yohanes Lalung", "Nurhayati"]
AUTHORS = ["Wira", "Redaksi", "Agus Salim", "Fitriani", "Yusuf"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
CATEGORIES = [
    "KALTARA", "Bulungan", "Tarakan", "Nunukan", "Malinau", "Tana Tidung",
    "Ekonomi", "Politik", "Pendidikan", "Kesehatan", "Hukum & Kriminal", "Olahraga",
]  # fmt: skip


def sentence(rng: random.Random) -> str:
    verb = rng.choice(VERBS)[1]
    return f"{rng.choice(ACTORS)} {verb} {rng.choice(TOPICS)} {rng.choice(CLAUSES)}."


def quote(rng: random.Random, when: datetime) -> str:
    said = f"Kami ingin {rng.choice(TOPICS)} ditangani {rng.choice(CLAUSES)}"
    day = DAYS[when.weekday()]
    return f"“{said},” kata {rng.choice(PEOPLE)}, {day} ({when.day}/{when.month})."


def post(rng: random.Random, site: str, number: int, when: datetime) -> str:
    """One <item> as WordPress writes it, with content:encoded."""
    actor, (verb, _), topic = rng.choice(ACTORS), rng.choice(VERBS), rng.choice(TOPICS)
    title = f"{actor} {verb} {topic.title()}"
    slug = "-".join(title.lower().split())
    link = f"{site}/{when:%Y/%m/%d}/{slug}-{number}/"  # unique, as WordPress keeps slugs
    lead = f"{rng.choice(PLACES)} – {sentence(rng)}"
    paragraphs = [lead, quote(rng, when)]
    content = "".join(f"<p>{escape(p, quote=False)}</p>\n" for p in paragraphs)
    categories = rng.sample(CATEGORIES, rng.choice((1, 2, 2, 3)))
    return "".join(
        [
            f"\t<item>\n\t\t<title>{escape(title)}</title>\n\t\t<link>{link}</link>\n",
            f"\t\t<dc:creator><![CDATA[{rng.choice(AUTHORS)}]]></dc:creator>\n",
            f"\t\t<pubDate>{format_datetime(when)}</pubDate>\n",
            *(f"\t\t<category><![CDATA[{c}]]></category>\n" for c in categories),
            f'\t\t<guid isPermaLink="false">{site}/?p={number}</guid>\n',
            f"\t\t<description><![CDATA[{lead[:90]} [&#8230;]]]></description>\n",
            f"\t\t<content:encoded><![CDATA[{content}]]></content:encoded>\n",
            "\t</item>\n",
        ]
    )


def feed_body(n: int, total: int) -> bytes:
    """Feed `n` of `total`: 50 posts, newest first; later feeds hold newer posts."""
    rng = random.Random(n)
    site = f"https://berita{n}.example"
    newest = NEWEST - timedelta(minutes=total - 1 - n)
    head = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:atom="http://www.w3.org/2005/Atom"
\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
\t>
<channel>
\t<title>Berita Kaltara {n}</title>
\t<atom:link href="{site}/feed/" rel="self" type="application/rss+xml" />
\t<link>{site}</link>
\t<description>Kabar terkini dari Kalimantan Utara</description>
\t<lastBuildDate>{format_datetime(newest)}</lastBuildDate>
\t<language>id</language>
\t<sy:updatePeriod>hourly</sy:updatePeriod>
\t<sy:updateFrequency>1</sy:updateFrequency>
\t<generator>https://wordpress.org/?v=6.7.1</generator>
"""
    items = (
        post(rng, site, 90_000 - 7 * i, newest - timedelta(minutes=67 * i)) for i in range(ITEMS)
    )
    return (head + "".join(items) + "</channel>\n</rss>\n").encode()


def feed_etag(n: int) -> str:
    """A strong validator, known without building the body (which is fixed by `n`)."""
    return '"' + hashlib.sha256(f"{n}:{FEED_VERSION}".encode()).hexdigest()[:20] + '"'


# The feed server: its own process, so it shares neither our event loop nor our GIL.


def serve(total: int, conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(total, conn))


async def _serve(total: int, conn: multiprocessing.connection.Connection) -> None:
    counts = {"200": 0, "304": 0}

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if not 0 <= n < total:
            raise web.HTTPNotFound()
        tag = feed_etag(n)
        if request.headers.get("If-None-Match") == tag:
            counts["304"] += 1
            return web.Response(status=304, headers={"ETag": tag})
        counts["200"] += 1
        headers = {"ETag": tag, "Content-Type": "application/rss+xml; charset=UTF-8"}
        return web.Response(body=feed_body(n, total), headers=headers)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"cpu": time.process_time(), **counts})

    app = web.Application()
    app.router.add_get(r"/feed/{n:\d+}/", feed)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=4096).start()
    conn.send(runner.addresses[0][1])
    with contextlib.suppress(EOFError):
        await asyncio.to_thread(conn.recv)  # until the bench says stop, or is gone
    await runner.cleanup()


@contextlib.contextmanager
def feed_server(total: int) -> Iterator[str]:
    """Start the server process; yields its base URL."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(total, theirs), daemon=True
    )
    process.start()
    try:
        yield f"http://127.0.0.1:{ours.recv()}"
    finally:
        ours.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


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
CONTENT_TYPE = {"Content-Type": "application/rss+xml; charset=UTF-8"}


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
            schedule, registry.all, self.ingestor(registry, session, pool).poll_and_record,
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

    def ingestor(
        self, registry: SourceRegistry, session: aiohttp.ClientSession, pool: Executor | None
    ) -> Ingestor:
        poll = self.settings.poll
        return Ingestor(
            Store(self.redis, retention=self.settings.store.retention),
            registry,
            Fetcher(session, timeout=poll.timeout, max_bytes=poll.max_bytes),
            self.settings,
            clock=self.clock,
            rand=lambda: 0.5,  # no jitter: every next poll is INTERVAL away
            parse_pool=pool,
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


def start_pool(workers: int) -> tuple[ProcessPoolExecutor, frozenset[int]]:
    """A warm process pool (modules imported, code run once) and its workers' ids."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pids = frozenset(pool.map(parsed_by, [feed_body(0, 1)] * workers * 8))
    return pool, pids


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
