"""Search over a full store: `feedsvc.search.search` against the page-by-page scan it replaced.

    .venv/bin/python bench/search.py [--articles 20000] [--rounds 3] [--redis-url URL]

Fills one Redis (embedded, or --redis-url, which is flushed) with `--articles` articles
shaped like the region's news (a title of about ten words, a lead of about 280
characters, a body of about 3 KB of paragraphs) spread over 20 categories at the
default `store.retention` of 1,000, then searches the whole store for:
- a word no post holds (the whole store is read: the case that must stay well
  under the web's 2 s Redis budget),
- a rare word (one post in 2,000: the limit of 20 is never reached),
- a common word (the first 20 matches end it).
Each search runs first with the word caches cleared (a process's first search) and
then again, for the baseline and the current code alternately, `--rounds` times;
the table shows medians and the baseline / current ratio of the same run.

The baseline is the previous search, kept here as it was: the store's listing read
newest first, 500 whole articles at a time, each article's title and lead cut into
words in Python.
"""

from __future__ import annotations

import argparse
import asyncio
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

from feedsvc import words
from feedsvc.config import RedisSettings, Settings
from feedsvc.lifecycle import open_redis
from feedsvc.models import Article, stable_id
from feedsvc.search import search
from feedsvc.storage.store import Cursor, Store
from feedsvc.words import KeywordFilter, parse_keywords, plain_words

CATEGORIES = [f"Daerah {n}" for n in range(20)]
WORDS_TEXT = (
    "pemprov kaltara bupati bulungan pembangunan daerah masyarakat jalan jembatan sekolah "
    "guru dokter rumah sakit harga beras pasar nelayan petani sawit tambang batubara "
    "pemilu gubernur dprd polisi narkoba kebakaran hutan gempa kapal pelabuhan bandara "
    "tarakan nunukan malinau sebatik perbatasan malaysia vaksin stunting pajak anggaran "
    "apbd korupsi jaksa sidang pengadilan pariwisata festival warga kegiatan program "
    "pemerintah kabupaten provinsi menyampaikan mengatakan kepala dinas kota desa"
)
VOCABULARY = WORDS_TEXT.split()
NOWHERE = "ekspedisi"  # no post holds it
RARE = "krayan"  # one post in 2,000
COMMON = "kaltara"


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, k=n))


def make_post(n: int, rng: random.Random, now: datetime) -> Article:
    title = sentence(rng, 9).capitalize() + (f" {RARE}" if n % 2000 == 7 else "")
    body = "".join(f"<p>{sentence(rng, 45).capitalize()}.</p>" for _ in range(8))
    link = f"https://www.jurnalkaltara.com/bench/search-{n}/"
    return Article(
        id=stable_id(link),
        title=title,
        link=link,
        categories=(CATEGORIES[n % len(CATEGORIES)],),
        published=now - timedelta(minutes=n),
        summary="TANJUNG SELOR – " + sentence(rng, 36) + ".",
        content=body,
        author="Wira",
        source="bench",
    )


async def baseline(store: Store, query: KeywordFilter, limit: int) -> list[Article]:
    """The previous search: whole articles, 500 at a time, words cut in Python."""
    found: list[Article] = []
    scanned, before = 0, None
    while len(found) < limit and scanned < 20_000:
        page = await store.list(None, limit=min(500, 20_000 - scanned), before=before)
        if not page:
            break
        scanned += len(page)
        found += await asyncio.to_thread(
            lambda page=page: [a for a in page if query.found_in(plain_words(a.title, a.summary))]
        )
        before = await store.cursor_after(page[-1].id)
        if before is None:
            before = Cursor.at(page[-1].published)
    return found[:limit]


async def timed(op: Callable[[], Awaitable[list[Article]]]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    result = await op()
    return (time.perf_counter() - start) * 1000, [a.id for a in result]


def clear_caches() -> None:
    words.plain_words.cache_clear()
    words.root.cache_clear()


async def fill(store: Store, count: int) -> None:
    rng, now = random.Random(20), datetime.now(UTC)
    for start in range(0, count, 500):
        batch = [make_post(n, rng, now) for n in range(start, min(count, start + 500))]
        await store.upsert_many([(p, False) for p in batch])


async def measure(store: Store, rounds: int) -> list[dict[str, object]]:
    rows = []
    for word in (NOWHERE, RARE, COMMON):
        query = parse_keywords(word)
        runs: dict[str, list[float]] = {
            "base cold": [], "base warm": [], "cold": [], "warm": [],
        }  # fmt: skip
        found = set()
        for _ in range(rounds):
            for name, op in (("base", baseline), ("", search)):
                clear_caches()
                cold, ids = await timed(lambda op=op, q=query: op(store, q, 20))
                warm, again = await timed(lambda op=op, q=query: op(store, q, 20))
                assert ids == again
                found.add(tuple(ids))
                runs[f"{name} cold".strip()].append(cold)
                runs[f"{name} warm".strip()].append(warm)
        assert len(found) == 1, "the baseline and the current search disagree"
        medians = {k: statistics.median(v) for k, v in runs.items()}
        rows.append({"word": word, "found": len(found.pop()), **medians})
    return rows


async def main(args: argparse.Namespace) -> int:
    data = tempfile.mkdtemp(prefix="feedsvc-search-")
    settings = Settings(redis=RedisSettings(url=args.redis_url, data_dir=data))
    async with open_redis(settings) as (redis, mode):
        await redis.flushall()
        store = Store(redis)
        await fill(store, args.articles)
        stored = await store.count(None)
        rows = await measure(store, args.rounds)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Redis: {mode}; {stored} articles stored; load average after: {load}\n")
    print(
        "| search for | found | baseline first | current first | ratio "
        "| baseline again | current again | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| `{r['word']}` | {r['found']} | {r['base cold']:.0f} ms | {r['cold']:.0f} ms "
            f"| {r['base cold'] / r['cold']:.1f}x | {r['base warm']:.0f} ms "
            f"| {r['warm']:.0f} ms | {r['base warm'] / r['warm']:.1f}x |"
        )
    worst = max(max(r["cold"], r["warm"]) for r in rows)  # type: ignore[type-var]
    print(f"\nslowest current search: {worst:.0f} ms (goal: well under 500 ms)")
    return 0 if worst < 500 else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="", help="a Redis to flush and use (else embedded)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
