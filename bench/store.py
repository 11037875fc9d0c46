"""Store benchmark: upserts and newest-50 listings against raw SET/GET, same server, same run.

    .venv/bin/python bench/store.py [--articles 10000] [--lists 10000] [--concurrency 16]
    .venv/bin/python bench/store.py --cluster [...]

Starts the embedded Redis (append-only, fsync always, as in production) in a
temporary directory, or uses REDIS_URL (a throwaway database: it is flushed).
With --cluster: a standalone redis-server and the 3-master local cluster of the
tests (tests/fakes/cluster.py), both on loopback TCP with the same persistence
(append-only, fsync every second), both up at once and measured in alternating
rounds (--rounds, medians); every cluster row is set next to the standalone one.
The raw baseline's keys share one hash tag, as the store's do, so its MGET is
valid on the cluster too.
Prints Markdown tables; paste them into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import string
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from feedsvc.models import Article, stable_id
from feedsvc.storage.codec import encode
from feedsvc.storage.connection import client_from_url, unix_client
from feedsvc.storage.embedded import EmbeddedRedis, redis_server_binary
from feedsvc.storage.store import Store
from tests.fakes.cluster import LocalCluster, free_cluster_ports

CATEGORIES = ["KALTARA", "Bulungan", "Tarakan", "Nunukan", "Malinau", "Tana Tidung"]
WORDS = ["pemprov", "kaltara", "bupati", "bulungan", "pembangunan", "daerah", "masyarakat"]


def paragraph(rng: random.Random, size: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(WORDS))
    return " ".join(words)


def articles(n: int) -> list[Article]:
    rng = random.Random(42)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        link = f"https://news.example/2026/{i}/{''.join(rng.choices(string.ascii_lowercase, k=8))}/"
        content = "".join(f"<p>{paragraph(rng, 300)}</p>" for _ in range(10))  # ~3 KB
        out.append(
            Article(
                id=stable_id(link),
                title=paragraph(rng, 60),
                link=link,
                categories=(rng.choice(CATEGORIES), "KALTARA"),
                published=t0 + timedelta(minutes=i),
                author="Wira",
                summary=paragraph(rng, 200),
                content=content,
                source="bench",
            )
        )
    return out


async def rate(n: int, concurrency: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Operations per second running `op(i)` for i in range(n) on `concurrency` tasks."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await op(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def measure(redis: Redis, n_articles: int, n_lists: int, concurrency: int) -> list[tuple]:
    docs = articles(n_articles)
    store = Store(redis, retention=1000)
    blob = "x" * len(encode(docs[0]))  # a raw value as large as a stored article
    # A listing moves 50 articles, so its baseline is one MGET of 50 such values.
    raw = [f"bench:{{raw}}:{i}" for i in range(n_articles)]  # one slot, as the store's keys
    batches = [[raw[(i * 50 + j) % n_articles] for j in range(50)] for i in range(64)]
    rows = []
    for c in (1, concurrency):
        await redis.flushdb()
        set_rate = await rate(n_articles, c, lambda i: redis.set(raw[i], blob))
        mget_rate = await rate(n_lists, c, lambda i: redis.mget(batches[i % 64]))
        await redis.flushdb()
        upsert_rate = await rate(n_articles, c, lambda i: store.upsert(docs[i]))
        list_rate = await rate(n_lists, c, lambda i: store.list("kaltara", limit=50))
        rows.append((c, "upsert", upsert_rate, "SET of an article's size", set_rate))
        rows.append((c, "list newest 50", list_rate, "MGET of 50 such values", mget_rate))
    return rows


def report(rows: list[tuple], args: argparse.Namespace, redis_version: str) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Redis {redis_version}; "
        f"{args.articles} articles, {args.lists} listings.",
        "",
        "| tasks | store op | ops/s | raw baseline | ops/s | ratio |",
        "|---:|---|---:|---|---:|---:|",
    ]
    for c, name, ops, base, base_ops in rows:
        lines.append(
            f"| {c} | {name} | {ops:,.0f} | {base} | {base_ops:,.0f} | {ops / base_ops:.2f} |"
        )
    return "\n".join(lines)


def compare(standalone: list[tuple], cluster: list[tuple]) -> str:
    """Each cluster figure next to the standalone one of the same run."""
    lines = [
        "| tasks | op | standalone ops/s | 3-master cluster ops/s | cluster / standalone |",
        "|---:|---|---:|---:|---:|",
    ]
    for (c, name, ops, base, base_ops), (_, _, c_ops, _, c_base) in zip(
        standalone, cluster, strict=True
    ):
        lines.append(f"| {c} | {name} | {ops:,.0f} | {c_ops:,.0f} | {c_ops / ops:.2f} |")
        lines.append(
            f"| {c} | {base} | {base_ops:,.0f} | {c_base:,.0f} | {c_base / base_ops:.2f} |"
        )
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def standalone_tcp(directory: Path) -> AsyncIterator[Redis]:
    """A redis-server on loopback TCP persisting as the cluster's nodes do."""
    [port] = free_cluster_ports(1)
    argv = [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(directory), "--appendonly", "yes", "--save", "",
            "--loglevel", "warning"]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL
    )
    redis = client_from_url(f"redis://127.0.0.1:{port}")
    try:
        for _ in range(300):
            with contextlib.suppress(Exception):
                await redis.ping()
                break
            await asyncio.sleep(0.02)
        yield redis
    finally:
        await redis.aclose()
        proc.terminate()
        await proc.wait()


async def run_cluster(args: argparse.Namespace) -> None:
    """Both up at once; rounds alternate between them, each row the median of its rounds
    (on a shared machine, load moves more between minutes than between the two)."""
    base = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    (base / "standalone").mkdir()
    (base / "cluster").mkdir()
    cluster = LocalCluster(base / "cluster")
    await asyncio.to_thread(cluster.start)
    together = client_from_url(cluster.url)
    try:
        async with standalone_tcp(base / "standalone") as alone:
            version = (await alone.info("server"))["redis_version"]
            runs: dict[str, list[list[tuple]]] = {"standalone": [], "cluster": []}
            for _ in range(args.rounds):
                for name, redis in (("standalone", alone), ("cluster", together)):
                    runs[name].append(
                        await measure(redis, args.articles, args.lists, args.concurrency)
                    )
    finally:
        await together.aclose()
        await asyncio.to_thread(cluster.stop)
    standalone, clustered = median_rows(runs["standalone"]), median_rows(runs["cluster"])
    print(f"Medians of {args.rounds} alternating rounds.\n")
    print("Standalone redis-server (TCP, appendonly, fsync every second):\n")
    print(report(standalone, args, version))
    print("\n3-master cluster (same settings per node):\n")
    print(report(clustered, args, version))
    print("\n" + compare(standalone, clustered))


def median_rows(rounds: list[list[tuple]]) -> list[tuple]:
    """Row by row, the median of each rate over the rounds."""
    rows = []
    for same in zip(*rounds, strict=True):
        c, name, _, base, _ = same[0]
        ops = statistics.median(r[2] for r in same)
        base_ops = statistics.median(r[4] for r in same)
        rows.append((c, name, ops, base, base_ops))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--lists", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cluster", action="store_true", help="standalone against a cluster")
    parser.add_argument("--rounds", type=int, default=3, help="with --cluster: rounds of each")
    args = parser.parse_args()
    if args.cluster:
        await run_cluster(args)
        return
    server = None
    if os.environ.get("REDIS_URL"):
        redis = client_from_url(os.environ["REDIS_URL"])
    else:
        tmp = tempfile.mkdtemp(prefix="feedsvc-bench-")
        server = EmbeddedRedis(tmp)
        await server.start()
        redis = unix_client(str(server.socket_path))
    try:
        version = (await redis.info("server"))["redis_version"]
        rows = await measure(redis, args.articles, args.lists, args.concurrency)
        print(report(rows, args, version))
    finally:
        await redis.aclose()
        if server is not None:
            await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
