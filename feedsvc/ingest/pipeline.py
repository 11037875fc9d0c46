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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from feedsvc.config import Settings
from feedsvc.dates import duration
from feedsvc.ingest.fetch import Fetcher, FetchError, FetchResult
from feedsvc.ingest.parse import (
    ARTICLE,
    LISTING,
    Entry,
    PageReading,
    ParsedFeed,
    ParseError,
    find_article_links,
    parse_feed,
    read_page,
)
from feedsvc.ingest.parse.entry import one_line
from feedsvc.ingest.parsepool import ParsePool
from feedsvc.ingest.schedule import next_poll_after_failure, next_poll_after_success
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import DEFAULT_CATEGORY, Article, Source, SourceStatus, slugify, stable_id
from feedsvc.storage import keys
from feedsvc.storage.store import Store, UpsertStatus

log = logging.getLogger(__name__)

UNTITLED = "(tanpa judul)"
MAX_PAGES_PER_POLL = 30  # article pages an html source may fetch in one poll
PAGE_CONCURRENCY = 4
SEEN_KEEP = 5000  # article URLs remembered per html source
THREAD_PARSE_BYTES = 64 * 1024  # larger bodies are parsed off the event loop
POOL_PARSE_BYTES = 16 * 1024  # with a parse pool, bodies this large are parsed there
FUTURE_SLACK = timedelta(minutes=10)
MAX_ENTRY_CATEGORIES = 10  # a feed's tag cloud on every item is noise, not categories
MOVE_AFTER_POLLS = 3  # polls that must see the same permanent redirect before it is followed
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Counts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    old: int = 0
    skipped: int = 0  # entries that could not be stored, or were over poll.max_entries
    why: tuple[str, ...] = ()  # the first few reasons

    def __str__(self) -> str:
        text = (
            f"{self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.old} too old"
        )
        return text + (f", {self.skipped} skipped" if self.skipped else "")


@dataclass(frozen=True, slots=True)
class PollOutcome:
    counts: Counts
    not_modified: bool = False
    lower_bound: float | None = None  # seconds the server asked us to wait at least
    fetch: FetchResult | None = None
    warning: str = ""  # a successful poll that still needs the owner's eye


class PollCrash(Exception):
    """Something unexpected broke a poll; the source records it like any failure."""


def skipped_warning(counts: Counts) -> str:
    """`2 entries skipped: entry 3: …; entry 7: …`, one line for the source's status."""
    if not counts.skipped:
        return ""
    noun = "entry" if counts.skipped == 1 else "entries"
    return one_line(f"{counts.skipped} {noun} skipped: " + "; ".join(counts.why), 300)


def to_article(entry: Entry, source: Source, first_seen: datetime) -> Article:
    """The stored form of an entry: identity, categories, and a date it can sort by."""
    link = entry.canonical or entry.link
    identity = entry.guid or link or f"{source.name}|{entry.title}|{entry.published}"
    # Whole seconds: the store reads a first-seen time back from its millisecond score,
    # and a finer time would hash differently there and rewrite the entry once.
    first_seen = first_seen.replace(microsecond=0)
    published = entry.published or entry.updated or first_seen
    if published > first_seen + FUTURE_SLACK:  # a site's clock or time zone is off
        published = first_seen
    return Article(
        id=stable_id(identity),
        title=entry.title or UNTITLED,
        link=link,
        categories=article_categories(entry.categories, source.category),
        published=published,
        updated=entry.updated if entry.updated and entry.updated != published else None,
        author=entry.author,
        summary=entry.summary,
        content=entry.content,
        source=source.name,
        guid=entry.guid,
        image=entry.image,
    )


def article_categories(names: Iterable[str], fallback: str) -> tuple[str, ...]:
    """The usable names, the first MAX_ENTRY_CATEGORIES distinct ones; else the fallback."""
    usable: dict[str, str] = {}
    for name in names:
        try:
            slug = slugify(name)
        except ValueError:
            continue
        usable.setdefault(slug, name)
        if len(usable) == MAX_ENTRY_CATEGORIES:
            break
    return tuple(usable.values()) or (fallback or DEFAULT_CATEGORY,)


def newest(entries: list[Entry], limit: int) -> tuple[list[Entry], int]:
    """The `limit` newest entries (undated ones count as new), in document order."""
    if len(entries) <= limit:
        return entries, 0
    latest = datetime.max.replace(tzinfo=UTC)
    order = sorted(
        range(len(entries)),
        key=lambda i: entries[i].published or entries[i].updated or latest,
        reverse=True,
    )
    keep = sorted(order[:limit])
    return [entries[i] for i in keep], len(entries) - limit


def is_pushable(article: Article, primed: bool, now: datetime, max_age_hours: float) -> bool:
    """Push only what a primed source finds that is still fresh."""
    return primed and article.published >= now - timedelta(hours=max_age_hours)


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
        status = _current_target(source, status)
        try:
            outcome = await self._poll(source, status, now)
        except (FetchError, ParseError) as exc:
            return self._failed(source, status, now, exc), Counts()
        except RedisError:
            raise  # the store's trouble, not the source's: the poller deals with it
        except Exception as exc:
            # A bug or input nobody foresaw: still the source's failure, with backoff,
            # and one log record with the traceback.
            crash = PollCrash(f"internal error: {type(exc).__name__}: {one_line(exc)}")
            return self._failed(source, status, now, crash, traceback=exc), Counts()
        return self._succeeded(source, status, now, outcome), outcome.counts

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
        counts = await self.store_entries(
            parsed.entries, source, status.primed, now, skipped=parsed.skipped
        )
        bounds = [b for b in (fetch.max_age(), parsed.ttl) if b]
        return PollOutcome(
            counts,
            lower_bound=max(bounds) if bounds else None,
            fetch=fetch,
            warning=_feed_warning(parsed, counts),
        )

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
            if entry.published is None and entry.updated is None:
                article = await self._keep_first_seen(article)
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

    async def _keep_first_seen(self, article: Article) -> Article:
        # An undated entry is dated when first seen; later polls must not move it.
        known = await self.store.published_of(article)
        if known is None or known == article.published:
            return article
        return dataclasses.replace(article, published=known, content_hash="")

    async def _ingest_listing(
        self, source: Source, status: SourceStatus, fetch: FetchResult, now: float
    ) -> Counts:
        return await self._ingest_links(source, status, _article_links(source, fetch), now)

    async def _ingest_links(
        self, source: Source, status: SourceStatus, links: list[str], now: float
    ) -> Counts:
        fresh = await self._unseen(source, links)
        pages = await self._fetch_pages(source, fresh[:MAX_PAGES_PER_POLL], now)
        return await self.store_entries(pages, source, status.primed, now)

    async def _unseen(self, source: Source, links: list[str]) -> list[str]:
        if not links:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for link in links:
                pipe.zscore(keys.source_seen(source.name), link)
            seen = await pipe.execute()
        return [link for link, score in zip(links, seen, strict=True) if score is None]

    async def _fetch_pages(self, source: Source, links: list[str], now: float) -> list[Entry]:
        limit = asyncio.Semaphore(PAGE_CONCURRENCY)

        async def one(link: str) -> tuple[str, Entry | None, bool]:
            async with limit:
                try:
                    fetched = await self.fetcher.get(link, origin=source.url)
                    page = await self._read_page(fetched, now)
                except (FetchError, ParseError) as exc:
                    log.info(
                        "source %s: article page %s: %s", source.name, link, exc,
                        extra={"source": source.name},
                    )  # fmt: skip
                    permanent = (
                        isinstance(exc, ParseError) or 400 <= getattr(exc, "status", 0) < 500
                    )
                    return link, None, permanent
                if page.kind != ARTICLE:
                    # A category or tag page whose URL looked like a post: never an article.
                    log.info(
                        "source %s: %s is not an article (%s)", source.name, link, page.why,
                        extra={"source": source.name},
                    )  # fmt: skip
                return link, page.entry if page.kind == ARTICLE else None, True

        results = await asyncio.gather(*(one(link) for link in links))
        done = {link: now for link, _, settled in results if settled}
        if done:
            key = keys.source_seen(source.name)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, done)
                pipe.zremrangebyrank(key, 0, -SEEN_KEEP - 1)
                await pipe.execute()
        return [entry for _, entry, _ in results if entry is not None]

    def _failed(
        self,
        source: Source,
        status: SourceStatus,
        now: float,
        exc: Exception,
        traceback: BaseException | None = None,
    ) -> SourceStatus:
        failures = status.failures + 1
        retry_after = getattr(exc, "retry_after", None)
        next_poll = next_poll_after_failure(
            now, source.interval, failures, self.rand(), retry_after
        )
        log.log(
            logging.ERROR if traceback else logging.WARNING,
            "source %s: %s (failure %d; next try in %s)",
            source.name, exc, failures, duration(next_poll - now),
            exc_info=traceback, extra={"source": source.name},
        )  # fmt: skip
        return dataclasses.replace(
            status,
            last_poll=now,
            last_error=str(exc),
            last_error_at=now,
            failures=failures,
            next_poll=next_poll,
            polls=status.polls + 1,
        )

    def _succeeded(
        self, source: Source, status: SourceStatus, now: float, outcome: PollOutcome
    ) -> SourceStatus:
        fetch = outcome.fetch
        status = self._follow_redirect(source, status, fetch)
        if fetch is not None and not outcome.not_modified:
            status = dataclasses.replace(
                status, etag=fetch.etag or "", last_modified=fetch.last_modified or ""
            )
        if outcome.counts.new or outcome.counts.updated:
            log.info("source %s: %s", source.name, outcome.counts, extra={"source": source.name})
        if not outcome.not_modified:
            if outcome.warning and outcome.warning != status.warning:
                log.warning(
                    "source %s: %s", source.name, outcome.warning, extra={"source": source.name}
                )
            status = dataclasses.replace(status, warning=outcome.warning)
        return dataclasses.replace(
            status,
            last_poll=now,
            last_success=now,
            failures=0,
            next_poll=next_poll_after_success(
                now, source.interval, self.rand(), outcome.lower_bound
            ),
            polls=status.polls + 1,
            new_articles=status.new_articles + outcome.counts.new,
            primed=True,
        )

    def _follow_redirect(
        self, source: Source, status: SourceStatus, fetch: FetchResult | None
    ) -> SourceStatus:
        """Poll where a permanent redirect points, once the same one was seen on 3 polls.

        One 301 can be a hijacked or misconfigured server for a moment; polls of the
        source's own URL keep following it meanwhile, so nothing is missed.
        """
        target = fetch.moved_to if fetch is not None else None
        if not target or target == status.url:
            if status.moved_to:
                return dataclasses.replace(status, moved_to="", moved_seen=0)
            return status
        seen = status.moved_seen + 1 if target == status.moved_to else 1
        if seen < MOVE_AFTER_POLLS:
            return dataclasses.replace(status, moved_to=target, moved_seen=seen)
        log.info(
            "source %s: moved permanently from %s to %s", source.name, status.url, target,
            extra={"source": source.name},
        )  # fmt: skip
        return dataclasses.replace(status, url=target, moved_to="", moved_seen=0)


def _feed_warning(parsed: ParsedFeed, counts: Counts) -> str:
    if not parsed.entries and not parsed.skipped:
        why = f" ({parsed.error})" if parsed.error else ""
        return one_line(f"the feed has no entries{why}", 300)
    return skipped_warning(counts)


def _article_links(source: Source, fetch: FetchResult) -> list[str]:
    headers = dict(fetch.headers)
    return find_article_links(fetch.body, headers, fetch.url, source.link_selector)


def _current_target(source: Source, status: SourceStatus) -> SourceStatus:
    """Poll the redirect target, unless the source's own URL changed since."""
    if status.url and status.defined_url == source.url:
        return status
    return dataclasses.replace(
        status,
        url=source.url,
        defined_url=source.url,
        etag="",
        last_modified="",
        moved_to="",
        moved_seen=0,
    )


def _count(statuses: Iterable[UpsertStatus]) -> Counts:
    tally = dict.fromkeys(UpsertStatus, 0)
    for s in statuses:
        tally[s] += 1
    return Counts(
        tally[UpsertStatus.NEW],
        tally[UpsertStatus.UPDATED],
        tally[UpsertStatus.UNCHANGED],
        tally[UpsertStatus.OLD],
    )
