"""The html listing crawl: which article links are new, and fetching those pages.

A listing page (kind = "html") names article URLs; each one that was not fetched to a
settled end before is fetched (at most PAGE_CONCURRENCY at once) and read as an
article. Settled URLs are remembered per source (the newest SEEN_KEEP) in Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from feedsvc.ingest.fetch import Fetcher, FetchError, FetchResult
from feedsvc.ingest.parse import ARTICLE, Entry, PageReading, ParseError, find_article_links
from feedsvc.models import Source
from feedsvc.storage import keys

log = logging.getLogger("feedsvc.ingest.pipeline")  # the name operators filter on

MAX_PAGES_PER_POLL = 30  # article pages an html source may fetch in one poll
PAGE_CONCURRENCY = 4
SEEN_KEEP = 5000  # article URLs remembered per html source

ReadPage = Callable[[FetchResult, float], Awaitable[PageReading]]


def article_links(source: Source, fetch: FetchResult) -> list[str]:
    """The article URLs a listing page names (the source's selector, if it has one)."""
    headers = dict(fetch.headers)
    return find_article_links(fetch.body, headers, fetch.url, source.link_selector)


async def unseen(redis: Redis, source: Source, links: list[str]) -> list[str]:
    """The links this source has not fetched to a settled end yet."""
    if not links:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for link in links:
            pipe.zscore(keys.source_seen(source.name), link)
        seen = await pipe.execute()
    return [link for link, score in zip(links, seen, strict=True) if score is None]


async def fetch_pages(
    redis: Redis,
    fetcher: Fetcher,
    read: ReadPage,
    source: Source,
    links: list[str],
    now: float,
) -> list[Entry]:
    """Fetch and read each link; the articles found. Settled links are remembered."""
    limit = asyncio.Semaphore(PAGE_CONCURRENCY)

    async def one(link: str) -> tuple[str, Entry | None, bool]:
        async with limit:
            try:
                fetched = await fetcher.get(link, origin=source.url)
                page = await read(fetched, now)
            except (FetchError, ParseError) as exc:
                log.info(
                    "source %s: article page %s: %s", source.name, link, exc,
                    extra={"source": source.name},
                )  # fmt: skip
                # One that failed for a moment is tried again on the next poll.
                settled = isinstance(exc, ParseError) or not exc.transient
                return link, None, settled
            if page.kind != ARTICLE:
                # A category or tag page whose URL looked like a post: never an article.
                log.info(
                    "source %s: %s is not an article (%s)", source.name, link, page.why,
                    extra={"source": source.name},
                )  # fmt: skip
            return link, page.entry if page.kind == ARTICLE else None, True

    results = await asyncio.gather(*(one(link) for link in links))
    await remember(redis, source, {link: now for link, _, settled in results if settled})
    return [entry for _, entry, _ in results if entry is not None]


async def remember(redis: Redis, source: Source, done: dict[str, float]) -> None:
    """Remember links fetched to a settled end (with when), the newest SEEN_KEEP."""
    if not done:
        return
    key = keys.source_seen(source.name)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(key, done)
        pipe.zremrangebyrank(key, 0, -SEEN_KEEP - 1)
        await pipe.execute()
