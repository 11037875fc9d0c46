"""Search over stored articles' titles and leads, for `/cari`, inline mode and
`GET /api/articles?q=`.

Words match as keyword alerts match them (feedsvc/words.py): whole words, case and
accents ignored, affixed forms through their root word; every word of the query
must be there, a "-word" must not. The store keeps each article's plain words
beside it (written with the article), and a first pass runs in Redis: the index is
read newest first and only the articles whose words contain, as a substring, what
every form of each query word must contain come back, without their bodies. Those
few are then checked exactly here, and only the matches are read whole. A search
reads at most `max_scan` articles of the index; see docs/DESIGN.md for when a
search engine is needed instead.
"""

from __future__ import annotations

import asyncio

from feedsvc.models import Article
from feedsvc.storage.store import Cursor, Store
from feedsvc.words import MAX_KEYWORDS, KeywordError, KeywordFilter, parse_keywords, plain_words

STEP = 500  # index entries one pass in Redis looks at (a few ms of the server's time)
MAX_SCAN = 20_000  # articles read at most for one search


def parse_query(text: str) -> KeywordFilter:
    """A search as typed ("banjir tarakan -hoaks"); ValueError saying what is wrong."""
    try:
        words = parse_keywords(text)
    except KeywordError as exc:
        raise ValueError(f"q must be plain words, at most {MAX_KEYWORDS} ({exc})") from None
    if not words.include:
        raise ValueError("q must name at least one word to look for")
    return words


def needles(query: KeywordFilter) -> list[str]:
    """What a text's words must contain to match: a query word holds in a word equal to
    it or in one holding all of it but its first letter (meN-/peN- drop that letter)."""
    return sorted({word[1:] or word for word in query.include})


async def search(
    store: Store,
    query: KeywordFilter,
    limit: int,
    category: str | None = None,
    before: Cursor | None = None,
    max_scan: int = MAX_SCAN,
) -> list[Article]:
    """The newest `limit` articles (of `category`, older than `before`) matching `query`."""
    found: list[Article] = []
    scanned, wanted = 0, needles(query)
    while len(found) < limit and scanned < max_scan:
        step = await store.candidates(
            category, before, scan=min(STEP, max_scan - scanned), want=limit - len(found),
            needles=wanted,
        )  # fmt: skip
        scanned += step.looked
        found += await _matching(store, query, step.found)
        if step.after is None:
            break
        before = step.after
    return found[:limit]


async def _matching(
    store: Store, query: KeywordFilter, candidates: list[tuple[str, str | None]]
) -> list[Article]:
    if not candidates:
        return []
    words = {i: frozenset(w.split()) for i, w in candidates if w is not None}
    older = await store.get_many([i for i, w in candidates if w is None])
    for article in older:  # stored before their words were: keep them now
        words[article.id] = plain_words(article.title, article.summary)
        await store.keep_words(article)
    ids = [i for i, _ in candidates if i in words]
    hits = await asyncio.to_thread(lambda: [i for i in ids if query.found_in(words[i])])
    return await store.get_many(hits)
