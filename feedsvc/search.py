"""Search over stored articles' titles and leads, for `/cari`, inline mode and
`GET /api/articles?q=`.

Words match as keyword alerts match them (feedsvc/words.py): whole words, case and
accents ignored, affixed forms through their root word; every word of the query
must be there, a "-word" must not. There is no index: the store is read newest
first, a page at a time, until enough posts match or `max_scan` articles were read.
The cost grows with what is stored (`store.retention` per category); see
docs/DESIGN.md for when a search engine is needed instead.
"""

from __future__ import annotations

import asyncio

from feedsvc.models import Article
from feedsvc.storage.store import Cursor, Store
from feedsvc.words import MAX_KEYWORDS, KeywordError, KeywordFilter, parse_keywords, plain_words

PAGE = 500  # articles read from the store per step
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
    scanned = 0
    while len(found) < limit and scanned < max_scan:
        page = await store.list(category, limit=min(PAGE, max_scan - scanned), before=before)
        if not page:
            break
        scanned += len(page)
        found += await asyncio.to_thread(_matching, query, page)  # CPU work: off the loop
        before = await store.cursor_after(page[-1].id)
        if before is None:  # trimmed meanwhile: go on from its time
            before = Cursor.at(page[-1].published)
    return found[:limit]


def _matching(query: KeywordFilter, page: list[Article]) -> list[Article]:
    return [a for a in page if query.found_in(plain_words(a.title, a.summary))]
