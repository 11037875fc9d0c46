"""Keyword alerts and search: what deciding a post's recipients and searching the store cost.

    .venv/bin/python bench/filters.py [--chats 10000] [--posts 50] [--articles 10000]

In one run, against one Redis (embedded, or --redis-url, which is flushed):
- recipients: `Pusher.recipients` for one post in a category of `--chats`
  subscribed chats without keywords (the baseline) and, right after, in one of as
  many chats, half of them with 5 keywords each (one in ten with an exclusion);
  the median and the worst of `--posts` different posts, wall and CPU time, the
  first post (index built, roots not cached yet) apart;
- the stemmer: Sastrawi's set-up, a root of a word not seen before and of one seen;
- search: `feedsvc.search.search` over `--articles` stored articles for a word in
  one post of 500 (reads most of the store) and a common one (stops at 20), each
  the first time (words not cached) and again.

Prints Markdown tables for docs/BENCHMARKS.md, with the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.delivery.push import Pusher
from bot.subscriptions import Subscriptions
from feedsvc import words
from feedsvc.config import RedisSettings, Settings, TelegramSettings
from feedsvc.ingest.sanitize import html_to_text
from feedsvc.lifecycle import open_redis
from feedsvc.models import Article, stable_id
from feedsvc.search import search
from feedsvc.storage.store import Store
from feedsvc.words import parse_keywords

SEED = Path(__file__).resolve().parents[1] / "tests/data/article-wordpress-seed.html"
TOPICS = [
    "banjir",
    "longsor",
    "pln",
    "listrik",
    "air",
    "jalan",
    "jembatan",
    "sekolah",
    "guru",
    "dokter",
    "rumah",
    "sakit",
    "harga",
    "beras",
    "pasar",
    "nelayan",
    "petani",
    "sawit",
    "tambang",
    "batubara",
    "pemilu",
    "bupati",
    "gubernur",
    "dprd",
    "polisi",
    "narkoba",
    "sabu",
    "kebakaran",
    "hutan",
    "gempa",
    "angin",
    "kapal",
    "pelabuhan",
    "bandara",
    "pesawat",
    "tarakan",
    "nunukan",
    "malinau",
    "bulungan",
    "sebatik",
    "krayan",
    "perbatasan",
    "malaysia",
    "tki",
    "vaksin",
    "covid",
    "stunting",
    "pajak",
    "anggaran",
    "apbd",
    "korupsi",
    "jaksa",
    "sidang",
    "pengadilan",
    "banjir",
    "rob",
    "pariwisata",
    "festival",
]


def make_post(n: int, rng: random.Random, categories: int = 1) -> Article:
    title = " ".join(rng.sample(TOPICS, 5)).capitalize() + f" ke-{n}"
    lead = "TANJUNG SELOR – " + " ".join(rng.sample(TOPICS, 20)) + "."
    link = f"https://www.jurnalkaltara.com/bench/filters-{n}/"
    published = datetime.now(UTC) - timedelta(minutes=n)
    return Article(
        id=stable_id(link),
        title=title,
        link=link,
        categories=("KALTARA" if categories == 1 else f"Daerah {n % categories}",),
        published=published,
        summary=lead,
        source="bench",
    )


async def subscribe(redis, chats: range, slug: str, rng: random.Random, filtered: bool) -> None:
    """Every chat on `slug`; with `filtered`, every other one with 5 keywords."""
    subs = Subscriptions(redis)
    batch = []
    for chat in chats:
        keywords = None
        if filtered and chat % 2 == 0:
            picked = rng.sample(TOPICS, 5)
            if chat % 20 == 0:
                picked[-1] = "-" + picked[-1]
            keywords = str(parse_keywords(" ".join(picked)))
        batch.append(subs.add(chat, [slug], keywords))
        if len(batch) == 50:  # the client pool has a few dozen connections
            await asyncio.gather(*batch)
            batch = []
    await asyncio.gather(*batch)


async def timed(op: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    start = time.perf_counter()
    result = await op()
    return (time.perf_counter() - start) * 1000, result


async def timed_cpu(op: Callable[[], Awaitable[object]]) -> tuple[float, float, object]:
    """Wall ms, this process's CPU ms (its threads too), the result."""
    cpu = time.process_time()
    took, result = await timed(op)
    return took, (time.process_time() - cpu) * 1000, result


async def recipients(redis, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The same posts decided for a category without keywords (the baseline) and for
    one where half the chats have keywords, one after the other, so both see the
    same load."""
    await redis.flushall()
    rng = random.Random(12)
    await subscribe(redis, range(1, args.chats + 1), "kaltara", rng, filtered=True)
    plain = range(100_001, 100_001 + args.chats)
    await subscribe(redis, plain, "polos", rng, filtered=False)
    telegram = TelegramSettings(token="1:x", channels=())
    pusher = Pusher(redis, Store(redis), Subscriptions(redis), None, None, telegram, owner="b")  # type: ignore[arg-type]
    words.root.cache_clear()
    words.compiled.cache_clear()
    runs: dict[str, list[tuple[float, float, int]]] = {"polos": [], "kaltara": []}
    for n in range(args.posts + 1):
        post = make_post(n, rng)
        for slug, seen in runs.items():
            took, cpu, chats = await timed_cpu(lambda p=post, s=slug: pusher.recipients([s], p))
            seen.append((took, cpu, len(chats)))  # type: ignore[arg-type]
    return {slug: _summary(seen) for slug, seen in runs.items()}


def _summary(seen: list[tuple[float, float, int]]) -> dict[str, float]:
    rest = seen[1:]  # the first post builds the index and roots every word: apart
    return {
        "first": seen[0][0],
        "median": statistics.median(t for t, _, _ in rest),
        "worst": max(t for t, _, _ in rest),
        "cpu": statistics.median(c for _, c, _ in rest),
        "reached": statistics.median(r for _, _, r in rest),
    }


def stemmer() -> dict[str, float]:
    words._stemmer.cache_clear()
    words.root.cache_clear()
    start = time.perf_counter()
    words._stemmer()
    setup = (time.perf_counter() - start) * 1000
    vocabulary = sorted(set(words.tokens(html_to_text(SEED.read_text(encoding="utf-8")))))
    vocabulary = [w for w in vocabulary if w.isalpha()]
    start = time.perf_counter()
    for word in vocabulary:
        words.root(word)
    cold = (time.perf_counter() - start) * 1e6 / len(vocabulary)
    start = time.perf_counter()
    for _ in range(10):
        for word in vocabulary:
            words.root(word)
    warm = (time.perf_counter() - start) * 1e6 / (10 * len(vocabulary))
    return {"setup_ms": setup, "cold_us": cold, "warm_us": warm, "words": len(vocabulary)}


async def searching(redis, args: argparse.Namespace) -> list[tuple[str, float, float, int]]:
    await redis.flushall()
    store = Store(redis)
    rng = random.Random(7)
    # Ten categories: the store keeps store.retention (1,000) articles per category.
    posts = [make_post(n, rng, categories=10) for n in range(args.articles)]
    rare = "ekspedisi"
    for n in range(0, args.articles, 500):  # one post in 500 holds the rare word
        posts[n] = dataclasses.replace(posts[n], title=posts[n].title + " " + rare)
    for start in range(0, len(posts), 500):
        await store.upsert_many([(p, False) for p in posts[start : start + 500]])
    rows = []
    for word in (rare, "banjir"):
        words.plain_words.cache_clear()
        words.root.cache_clear()
        query = parse_keywords(word)
        cold, found = await timed(lambda query=query: search(store, query, 20))
        warm, _ = await timed(lambda query=query: search(store, query, 20))
        rows.append((word, cold, warm, len(found)))  # type: ignore[arg-type]
    return rows


async def main(args: argparse.Namespace) -> int:
    data = tempfile.mkdtemp(prefix="feedsvc-filters-")
    settings = Settings(redis=RedisSettings(url=args.redis_url, data_dir=data))
    async with open_redis(settings) as (redis, mode):
        decided = await recipients(redis, args)
        plain, filtered = decided["polos"], decided["kaltara"]
        stems = stemmer()
        found = await searching(redis, args)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Redis: {mode}; {args.chats} chats, {args.posts} posts; load average: {load}\n")
    print("| recipients of one post | median | worst | first post | CPU (median) | chats reached |")
    print("|---|---|---|---|---|---|")
    for name, r in (("no keywords (baseline)", plain), ("half with 5 keywords", filtered)):
        print(
            f"| {name} | {r['median']:.1f} ms | {r['worst']:.1f} ms | {r['first']:.1f} ms "
            f"| {r['cpu']:.1f} ms | {r['reached']:.0f} |"
        )
    ratio = filtered["median"] / plain["median"]
    print(f"\nwith keywords / without: {ratio:.2f}x (goal: with keywords <= 20 ms)\n")
    print(
        f"Sastrawi: set-up {stems['setup_ms']:.0f} ms; a root of a word not seen before "
        f"{stems['cold_us']:.0f} µs, of one seen {stems['warm_us']:.2f} µs "
        f"({stems['words']:.0f} words of the seed article)\n"
    )
    print(f"| search over {args.articles} articles | first time | again | found |")
    print("|---|---|---|---|")
    for word, cold, warm, count in found:
        print(f"| `{word}` | {cold:.0f} ms | {warm:.0f} ms | {count} |")
    return 0 if filtered["median"] <= 20 else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--redis-url", default="", help="a Redis to flush and use (else embedded)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
