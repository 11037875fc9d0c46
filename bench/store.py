"""Store benchmark: upserts and newest-50 listings against raw SET/GET, same server, same run.

    .venv/bin/python bench/store.py [--articles 10000] [--lists 10000] [--concurrency 16]

Starts the embedded Redis (append-only, fsync always, as in production) in a
temporary directory, or uses REDIS_URL (a throwaway database: it is flushed).
Prints a Markdown table; paste it into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import string
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from feedsvc.models import Article, stable_id
from feedsvc.storage.connection import client_from_url, unix_client
from feedsvc.storage.embedded import EmbeddedRedis
from feedsvc.storage.store import Store, _encode

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
    blob = "x" * len(_encode(docs[0]))  # a raw value as large as a stored article
    # A listing moves 50 articles, so its baseline is one MGET of 50 such values.
    batches = [[f"bench:{(i * 50 + j) % n_articles}" for j in range(50)] for i in range(64)]
    rows = []
    for c in (1, concurrency):
        await redis.flushdb()
        set_rate = await rate(n_articles, c, lambda i: redis.set(f"bench:{i}", blob))
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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--lists", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
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
