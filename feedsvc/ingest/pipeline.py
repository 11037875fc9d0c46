"""One poll of one source: fetch, parse, turn entries into articles, store.

A broken source never raises out of `Ingestor.poll`: its failure becomes the
source's status (one log line, then backoff). Only Redis errors propagate; the
poller handles those.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from feedsvc.config import Settings
from feedsvc.ingest import fullcontent, listing
from feedsvc.ingest.entries import (
    Counts,
    feed_warning,
    has_future_date,
    is_pushable,
    newest,
    to_article,
    trusted_date,
)
from feedsvc.ingest.fetch import Fetcher, FetchError, FetchResult
from feedsvc.ingest.listing import MAX_PAGES_PER_POLL
from feedsvc.ingest.parse import (
    ARTICLE,
    LISTING,
    Entry,
    PageReading,
    ParsedFeed,
    ParseError,
    parse_feed,
    read_page,
)
from feedsvc.ingest.parse.entry import one_line
from feedsvc.ingest.parsepool import ParsePool
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.ingest.status import (
    PollCrash,
    PollOutcome,
    current_target,
    failed,
    succeeded,
)
from feedsvc.models import DEFAULT_CATEGORY, Article, Source, SourceStatus
from feedsvc.storage.store import Store, UpsertStatus

log = logging.getLogger(__name__)

THREAD_PARSE_BYTES = 64 * 1024  # larger bodies are parsed off the event loop
POOL_PARSE_BYTES = 16 * 1024  # with a parse pool, bodies this large are parsed there
T = TypeVar("T")


class Ingestor:
    def __init__(
        self,
        store: Store,
        registry: SourceRegistry,
        fetcher: Fetcher,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        on_change: Callable[[set[str | None]], None] | None = None,
        parse_pool: ParsePool | None = None,
    ) -> None:
        self.on_change = on_change  # told which categories changed (WebSub pings)
        # A process pool parses many changed feeds on every core (docs/BENCHMARKS.md).
        self.parse_pool = parse_pool
        self.store = store
        self.registry = registry
        self.fetcher = fetcher
        self.settings = settings
        self.clock = clock
        self.rand = rand
        self._told_future: set[str] = set()  # sources whose future dates were logged

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        redis: Redis,
        session: aiohttp.ClientSession,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        on_change: Callable[[set[str | None]], None] | None = None,
        parse_pool: ParsePool | None = None,
    ) -> Ingestor:
        """The one way an Ingestor is built: its store, sources and fetcher as configured.

        The fetcher uses `session` within poll.timeout and poll.max_bytes; `store` is
        the process's own when it has one (built from the same settings).
        """
        fetcher = Fetcher(session, timeout=settings.poll.timeout, max_bytes=settings.poll.max_bytes)
        return cls(
            store or Store.from_settings(redis, settings.store),
            SourceRegistry(redis, settings),
            fetcher,
            settings,
            clock=clock,
            rand=rand,
            on_change=on_change,
            parse_pool=parse_pool,
        )

    @property
    def redis(self) -> Redis:
        return self.store.redis

    async def poll_and_record(self, source: Source, status: SourceStatus) -> SourceStatus:
        """The Poller's poll function: poll, then save the new status."""
        status = await self.poll(source, status)
        await self.registry.save_status(status)
        return status

    async def poll(self, source: Source, status: SourceStatus) -> SourceStatus:
        """One scheduled poll; any failure of the source ends up in the status."""
        return (await self.poll_counted(source, status))[0]

    async def poll_counted(
        self, source: Source, status: SourceStatus
    ) -> tuple[SourceStatus, Counts]:
        now = self.clock()
        status = current_target(source, status)
        try:
            outcome = await self._poll(source, status, now)
        except (FetchError, ParseError) as exc:
            return failed(source, status, now, exc, self.rand()), Counts()
        except RedisError:
            raise  # the store's trouble, not the source's: the poller deals with it
        except Exception as exc:
            # A bug or input nobody foresaw: still the source's failure, with backoff,
            # and one log record with the traceback.
            crash = PollCrash(f"internal error: {type(exc).__name__}: {one_line(exc)}")
            return failed(source, status, now, crash, self.rand(), traceback=exc), Counts()
        return succeeded(source, status, now, outcome, self.rand()), outcome.counts

    async def ingest_once(self, source: Source, kind: str, primed: bool) -> tuple[str, Counts]:
        """`feedsvc ingest URL`: fetch once, store, say what the URL turned out to be.

        `kind` "auto" tries a feed, then an article page, then a listing page. The
        source is not scheduled and its status is not kept. Raises FetchError or
        ParseError when nothing could be stored.
        """
        if kind != "auto":
            fresh = SourceStatus(source.name, primed=primed)
            status, counts = await self.poll_counted(dataclasses.replace(source, kind=kind), fresh)
            if status.failures:
                raise FetchError(status.last_error)
            return ("a feed" if kind == "feed" else "a listing page"), counts
        now = self.clock()
        fetch = await self.fetcher.get(source.url, origin=source.url)
        try:
            parsed = await self._parse_feed(fetch, now)
        except ParseError:
            return await self._ingest_page(source, fetch, primed, now)
        return "a feed", await self.store_entries(parsed.entries, source, primed, now)

    async def _ingest_page(
        self, source: Source, fetch: FetchResult, primed: bool, now: float
    ) -> tuple[str, Counts]:
        """Not a feed: one article, or a listing of them (parse/page.py decides which)."""
        page = await self._read_page(fetch, now, source.link_selector)
        if page.kind == LISTING and page.links:
            status = SourceStatus(source.name, primed=primed)
            counts = await self._ingest_links(source, status, list(page.links), now)
            return f"a listing page with {len(page.links)} article links", counts
        if page.kind == ARTICLE and page.entry is not None:
            return "an article page", await self.store_entries([page.entry], source, primed, now)
        raise ParseError("not a feed, and no article or article links on it")

    async def _read_page(
        self, fetch: FetchResult, now: float, link_selector: str = ""
    ) -> PageReading:
        """An HTML page read off the event loop: extraction costs tens of milliseconds."""
        when = datetime.fromtimestamp(now, UTC)
        call = functools.partial(
            read_page, fetch.body, dict(fetch.headers), fetch.url, now=when,
            link_selector=link_selector,
        )  # fmt: skip
        return await self._off_loop(call)

    async def _poll(self, source: Source, status: SourceStatus, now: float) -> PollOutcome:
        fetch = await self.fetcher.get(
            status.url,
            origin=source.url,
            etag=status.etag or None,
            last_modified=status.last_modified or None,
        )
        if fetch.not_modified:
            return PollOutcome(
                Counts(), not_modified=True, lower_bound=fetch.max_age(), fetch=fetch
            )
        if source.kind == "html":
            counts = await self._ingest_listing(source, status, fetch, now)
            return PollOutcome(counts, lower_bound=fetch.max_age(), fetch=fetch)
        parsed = await self._parse_feed(fetch, now)
        if parsed.error:
            log.debug(
                "source %s: usable despite: %s", source.name, parsed.error,
                extra={"source": source.name},
            )  # fmt: skip
        entries, page_warning = list(parsed.entries), ""
        if source.full_content:
            entries, page_warning = await self._with_page_texts(source, entries, now)
        counts = await self.store_entries(
            entries, source, status.primed, now, skipped=parsed.skipped
        )
        bounds = [b for b in (fetch.max_age(), parsed.ttl) if b]
        warnings = (feed_warning(parsed, counts), page_warning)
        return PollOutcome(
            counts,
            lower_bound=max(bounds) if bounds else None,
            fetch=fetch,
            warning="; ".join(w for w in warnings if w),
            excerpt_only=fullcontent.is_excerpt_only(parsed.entries),
        )

    async def _with_page_texts(
        self, source: Source, entries: list[Entry], now: float
    ) -> tuple[list[Entry], str]:
        """full_content: the entries (of the newest poll.max_entries) with their pages' text."""
        kept, _ = newest(entries, self.settings.poll.max_entries)
        when = datetime.fromtimestamp(now, UTC)

        async def stored(entry: Entry) -> str:
            try:
                article = await self.store.get(to_article(entry, source, when).id)
            except (ValueError, OverflowError):  # store_entries counts it as skipped
                return ""
            return article.content if article is not None else ""

        filled = await fullcontent.fill(
            self.redis, self.fetcher, self._read_page, stored, source, kept, now
        )
        by_entry = {id(old): new for old, new in zip(kept, filled.entries, strict=True)}
        return [by_entry.get(id(entry), entry) for entry in entries], filled.warning()

    async def _parse_feed(self, fetch: FetchResult, now: float) -> ParsedFeed:
        when = datetime.fromtimestamp(now, UTC)
        call = functools.partial(parse_feed, fetch.body, dict(fetch.headers), fetch.url, now=when)
        if self.parse_pool is not None and len(fetch.body) >= POOL_PARSE_BYTES:
            return await self._off_loop(call)
        if len(fetch.body) >= THREAD_PARSE_BYTES:
            return await asyncio.to_thread(call)
        return call()

    async def _off_loop(self, call: Callable[[], T]) -> T:
        """`call()` in the parse pool (bounded memory and CPU) when there is one, else a thread."""
        if self.parse_pool is not None:
            return await self.parse_pool.run(call)
        return await asyncio.to_thread(call)

    async def store_entries(
        self,
        entries: Iterable[Entry],
        source: Source,
        primed: bool,
        now: float,
        *,
        skipped: Sequence[str] = (),
    ) -> Counts:
        """Store what a poll found; `skipped` are the parser's reasons for entries it dropped.

        Each entry stands alone: one that cannot become an article is counted and the
        rest are stored. Past `poll.max_entries`, only the newest are taken.
        """
        when = datetime.fromtimestamp(now, UTC)
        max_age = self.settings.telegram.max_push_age_hours
        batch = []
        reasons = list(skipped)
        entries, over = newest(list(entries), self.settings.poll.max_entries)
        if over:
            reasons.insert(0, f"the {over} oldest, over poll.max_entries")
        ids: set[str] = set()
        for number, entry in enumerate(entries, 1):
            try:
                article = to_article(entry, source, when)
            except (ValueError, OverflowError) as exc:  # e.g. a date no datetime can hold
                reasons.append(one_line(f"entry {number}: {exc}", 120))
                continue
            if article.id in ids:  # the same entry twice in one document: the first counts
                continue
            ids.add(article.id)
            if trusted_date(entry, when) is None:
                article = await self._keep_first_seen(article)
                if has_future_date(entry, when):
                    self._tell_future_date(source.name, entry, when)
            batch.append((article, is_pushable(article, primed, when, max_age)))
        results = await self.store.upsert_many(batch, fallback=source.category or DEFAULT_CATEGORY)
        changed = {
            slug
            for (article, _), result in zip(batch, results, strict=True)
            if result.status in (UpsertStatus.NEW, UpsertStatus.UPDATED)
            for slug in article.slugs
            if slug not in result.refused
        }
        if changed and self.on_change is not None:
            self.on_change(changed)
        counts = _count(r.status for r in results)
        skipped = len(reasons) + over - bool(over)  # one reason stands for all `over`
        return dataclasses.replace(counts, skipped=skipped, why=tuple(reasons[:3]))

    def _tell_future_date(self, name: str, entry: Entry, now: datetime) -> None:
        if name in self._told_future:
            return
        self._told_future.add(name)  # once per source: every later poll would repeat it
        log.warning(
            "source %s: an entry is dated %s, in the future (now %s); such dates are not "
            "trusted and the entry keeps the time it was first seen",
            name, (entry.published or entry.updated).isoformat(), now.isoformat(timespec="seconds"),
        )  # fmt: skip

    async def _keep_first_seen(self, article: Article) -> Article:
        # An undated entry is dated when first seen; later polls must not move it.
        known = await self.store.published_of(article)
        if known is None or known == article.published:
            return article
        return dataclasses.replace(article, published=known, content_hash="")

    async def _ingest_listing(
        self, source: Source, status: SourceStatus, fetch: FetchResult, now: float
    ) -> Counts:
        return await self._ingest_links(source, status, listing.article_links(source, fetch), now)

    async def _ingest_links(
        self, source: Source, status: SourceStatus, links: list[str], now: float
    ) -> Counts:
        fresh = await listing.unseen(self.redis, source, links)
        pages = await listing.fetch_pages(
            self.redis, self.fetcher, self._read_page, source, fresh[:MAX_PAGES_PER_POLL], now
        )
        return await self.store_entries(pages, source, status.primed, now)


def _count(statuses: Iterable[UpsertStatus]) -> Counts:
    tally = dict.fromkeys(UpsertStatus, 0)
    for s in statuses:
        tally[s] += 1
    return Counts(
        tally[UpsertStatus.NEW],
        tally[UpsertStatus.UPDATED],
        tally[UpsertStatus.UNCHANGED],
        tally[UpsertStatus.OLD],
        removed=tally[UpsertStatus.REMOVED],
    )
