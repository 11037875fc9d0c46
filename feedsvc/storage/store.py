"""The article store: the only module that talks to Redis about articles.

Writes go through one Lua script, so an upsert is atomic however many workers
write at once: it decides new / updated / unchanged, merges categories, keeps the
indexes, bumps the per-category versions the feed cache keys on, trims each
category to `retention` articles (deleting bodies no category holds any more),
appends the new-article event (its fields: events.py) and refuses an article
removed by hand before (removal.py), all in one round trip. Key layout: keys.py.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from feedsvc.config import StoreSettings
from feedsvc.models import DEFAULT_CATEGORY, Article, slugify
from feedsvc.storage import events, history, keys
from feedsvc.storage.codec import alt_id, decode, encode, link_key, score_of, text_mark
from feedsvc.storage.scripts import DECLARE, KEEP_WORDS, LIST, PUBLISHED, SEARCH, UPSERT
from feedsvc.words import stored_words

log = logging.getLogger(__name__)


class DeadlinePassed(RedisError):
    """Redis ran an upsert after its deadline, so nothing was written."""


class UpsertStatus(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    OLD = "old"  # older than every category's retention window: not stored
    REMOVED = "removed"  # removed by hand before (storage/removal.py): not stored again


@dataclass(frozen=True, slots=True)
class Upserted:
    id: str  # may differ from the article's id when it joined another source's article
    status: UpsertStatus
    refused: tuple[str, ...] = ()  # category slugs left off: store.max_categories reached


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class Candidates:
    """What one step of a search found in Redis (`Store.candidates`)."""

    found: list[tuple[str, str | None]]  # id, its stored words (None: stored before them)
    looked: int  # ids of the index looked at
    after: Cursor | None  # where the next step goes on; None at the end


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a newest-first listing: strictly older than (score, id)."""

    score: int
    id: str = ""

    @classmethod
    def at(cls, when: datetime) -> Cursor:
        return cls(score_of(when), "")


class Store:
    """Articles in Redis. `retention` is the newest N kept per category.

    At most `max_categories` categories are created; an article whose categories
    are all refused gets the `fallback` category its upsert names.
    """

    def __init__(self, redis: Redis, retention: int = 1000, max_categories: int = 200) -> None:
        self.redis = redis
        self.retention = retention
        self.max_categories = max_categories
        self._upsert = redis.register_script(UPSERT)
        self._list = redis.register_script(LIST)
        self._declare = redis.register_script(DECLARE)
        self._started: datetime | None = None
        self._published = redis.register_script(PUBLISHED)
        self._search = redis.register_script(SEARCH)
        self._keep_words = redis.register_script(KEEP_WORDS)
        self._told_full = False

    @classmethod
    def from_settings(cls, redis: Redis, store: StoreSettings) -> Store:
        """The store as configured (store.retention, store.max_categories): every writer's."""
        return cls(redis, retention=store.retention, max_categories=store.max_categories)

    async def upsert(
        self,
        article: Article,
        *,
        pushable: bool = False,
        fallback: str = DEFAULT_CATEGORY,
        deadline_ms: int | None = None,
    ) -> Upserted:
        """Insert or update; a new article also appends an event (pushable or not).

        With `deadline_ms` (on Redis's clock, see `deadline`), a call Redis runs
        after it writes nothing and raises DeadlinePassed.
        """
        call = self._upsert_call(article, pushable, fallback)
        if deadline_ms is not None:
            call["args"].append(deadline_ms)
        try:
            result = self._upserted(await self._upsert(**call))
        except ResponseError as exc:
            if str(exc).startswith("LATE"):
                raise DeadlinePassed(str(exc)) from None
            raise
        await self._note_posted([article], [result])
        return result

    async def deadline(self, seconds: float) -> int:
        """Redis's clock `seconds` from now, in ms: a deadline for `upsert`."""
        sec, usec = await self.redis.time()
        return int(sec) * 1000 + int(usec) // 1000 + round(seconds * 1000)

    async def upsert_many(
        self, articles: list[tuple[Article, bool]], *, fallback: str = DEFAULT_CATEGORY
    ) -> list[Upserted]:
        """Upsert (article, pushable) pairs in one round trip; each stays atomic."""
        if not articles:
            return []
        calls = [self._upsert_call(article, pushable, fallback) for article, pushable in articles]
        results = await self._upsert_batch(calls)
        if any(isinstance(r, NoScriptError) for r in results):
            # A fresh, restarted or failed-over Redis: load the script, redo what failed.
            await self.redis.script_load(UPSERT)
            again = [c for c, r in zip(calls, results, strict=True) if isinstance(r, NoScriptError)]
            redone = iter(await self._upsert_batch(again))
            results = [next(redone) if isinstance(r, NoScriptError) else r for r in results]
        for result in results:
            if isinstance(result, Exception):
                raise result
        done = [self._upserted(result) for result in results]
        await self._note_posted([article for article, _ in articles], done)
        return done

    async def _note_posted(self, articles: list[Article], results: list[Upserted]) -> None:
        """Each source's publishing dates, for the admins' silent-source alerts."""
        new = [
            (article.source, result.id, score_of(article.published))
            for article, result in zip(articles, results, strict=True)
            if result.status is UpsertStatus.NEW and article.source
        ]
        await history.note_posted(self.redis, new)

    async def _upsert_batch(self, calls: list[dict[str, list[Any]]]) -> list[Any]:
        # Plain EVALSHA commands, not Script objects: a cluster pipeline refuses those.
        # Every key is under {news}, so on a cluster, too, the batch goes to one node
        # in one round trip.
        sha = self._upsert.sha
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command(
                    "EVALSHA", sha, len(call["keys"]), *call["keys"], *call["args"]
                )
            return await pipe.execute(raise_on_error=False)

    def _upserted(self, result: list[str]) -> Upserted:
        article_id, status, refused = result
        if refused and not self._told_full:
            self._told_full = True  # once per process: the store stays full
            log.warning(
                "store.max_categories=%d reached: new categories (first: %s) are left off "
                "and articles without another fall back to their source's category",
                self.max_categories, refused.split(",")[0],
            )  # fmt: skip
        return Upserted(article_id, UpsertStatus(status), tuple(filter(None, refused.split(","))))

    def _upsert_call(self, article: Article, pushable: bool, fallback: str) -> dict[str, list[Any]]:
        args = [
            *self._key_args(article),
            encode(article),
            article.content_hash,
            score_of(article.published),
            article.source,
            "1" if pushable else "0",
            self.retention,
            events.MAXLEN,
            alt_id(article),
            self.max_categories,
            fallback,
            slugify(fallback),
            text_mark(article),
            stored_words(article.title, article.summary),
            len(article.categories),
            *article.categories,
            *article.slugs,
        ]
        return {
            "keys": [keys.ALL_INDEX, keys.CATEGORY_NAMES, keys.VERSIONS, keys.EVENTS, keys.REMOVED],
            "args": args,
        }

    def _key_args(self, article: Article) -> list[Any]:
        return [
            keys.ARTICLE_PREFIX,
            keys.CATEGORY_PREFIX,
            keys.LINK_PREFIX,
            article.id,
            link_key(article.link) if article.link else "",
        ]

    async def published_of(self, article: Article) -> datetime | None:
        """When the stored article this one would be stored as was published."""
        link = link_key(article.link) if article.link else ""
        args = [keys.ARTICLE_PREFIX, keys.LINK_PREFIX, article.id, alt_id(article), link]
        # The key names only the slot: every article key shares it.
        score = await self._published(keys=[keys.article(article.id)], args=[*args, article.source])
        return datetime.fromtimestamp(float(score) / 1000, UTC) if score else None

    async def get(self, article_id: str) -> Article | None:
        doc, names = await self.redis.hmget(keys.article(article_id), ["d", "n"])
        return decode(article_id, doc, names) if doc else None

    async def list(
        self,
        category: str | None = None,
        limit: int = 20,
        before: Cursor | None = None,
        offset: int = 0,
    ) -> list[Article]:
        """Newest first; `category` is a slug, None for every category.

        `before` continues after a cursor; `offset` skips that many (pages of a feed).
        """
        index = keys.category(_checked_slug(category))
        cursor = [str(before.score), before.id] if before else ["", ""]
        args = [keys.ARTICLE_PREFIX, limit, *cursor, offset]
        flat = await self._list(keys=[index], args=args)
        return [decode(*flat[i : i + 3]) for i in range(0, len(flat), 3)]

    async def candidates(
        self,
        category: str | None,
        before: Cursor | None,
        *,
        scan: int,
        want: int,
        needles: list[str],
    ) -> Candidates:
        """Search's first pass, in Redis: of the next `scan` ids (newest first, after
        `before`), at most `want` whose stored words hold every needle as a substring."""
        index = keys.category(_checked_slug(category))
        cursor = [str(before.score), before.id] if before else ["", ""]
        args = [keys.ARTICLE_PREFIX, scan, want, *cursor, *needles]
        looked, last, score, *flat = await self._search(keys=[index], args=args)
        found = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
        after = Cursor(int(float(score)), last) if looked and score else None
        return Candidates(found, int(looked), after)

    async def get_many(self, ids: list[str]) -> list[Article]:
        """The stored ones of `ids`, in that order."""
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in ids:
                pipe.hmget(keys.article(article_id), ["d", "n"])
            rows = await pipe.execute()
        return [decode(i, doc, names) for i, (doc, names) in zip(ids, rows, strict=True) if doc]

    async def keep_words(self, article: Article) -> None:
        """Store the search words of an article stored before they were kept with it."""
        words = stored_words(article.title, article.summary)
        await self._keep_words(keys=[keys.article(article.id)], args=[words])

    async def cursor_after(self, article_id: str) -> Cursor | None:
        """The cursor just past `article_id`, or None if it is not stored."""
        score = await self.redis.hget(keys.article(article_id), "s")
        return Cursor(int(float(score)), article_id) if score is not None else None

    async def categories(self) -> list[Category]:
        """Every category with an article or declared (configured), largest first."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.CATEGORY_NAMES)
            pipe.smembers(keys.DECLARED)
            names, declared = await pipe.execute()
        slugs = sorted(names)
        async with self.redis.pipeline(transaction=False) as pipe:
            for slug in slugs:
                pipe.zcard(keys.category(slug))
            counts = await pipe.execute()
        found = [
            Category(s, names[s], n)
            for s, n in zip(slugs, counts, strict=True)
            if n or s in declared
        ]
        return sorted(found, key=lambda c: (-c.count, c.slug))

    async def declare(self, names: Iterable[str], now: datetime | None = None) -> datetime:
        """Create these categories (empty, with feeds) if new; record the store's start.

        Returns when the store was first started: the date of feeds with no item.
        """
        pairs = [(name, slugify(name)) for name in dict.fromkeys(names) if name.strip()]
        args: list[Any] = [score_of(now or datetime.now(UTC))]
        for name, slug in pairs:
            args += [name, slug]
        started_keys = [keys.CATEGORY_NAMES, keys.VERSIONS, keys.DECLARED, keys.STARTED]
        started = await self._declare(keys=started_keys, args=args)
        self._started = datetime.fromtimestamp(int(started) / 1000, UTC)
        return self._started

    async def started(self) -> datetime:
        """When the store was first started (recorded now if it never was)."""
        if self._started is None:
            return await self.declare([])
        return self._started

    async def category(self, slug: str) -> Category | None:
        name = await self.redis.hget(keys.CATEGORY_NAMES, _checked_slug(slug))
        if name is None:
            return None
        return Category(slug, name, await self.redis.zcard(keys.category(slug)))

    async def count(self, category: str | None = None) -> int:
        return await self.redis.zcard(keys.category(_checked_slug(category)))

    async def feed_versions(self, slugs: list[str | None]) -> list[int | None]:
        """Change counters in one read; None for a category that does not exist.

        The upsert script creates a category's name and counter together and
        nothing deletes them, so a counter is also proof that the category exists.
        """
        fields = [keys.ALL_VERSION_FIELD if s is None else _checked_slug(s) for s in slugs]
        values = await self.redis.hmget(keys.VERSIONS, fields)
        return [
            0 if v is None and s is None else (int(v) if v is not None else None)
            for s, v in zip(slugs, values, strict=True)
        ]

    async def versions(self, slugs: list[str | None]) -> list[int]:
        """Change counters; any store change touching a category bumps its counter."""
        fields = [keys.ALL_VERSION_FIELD if s is None else _checked_slug(s) for s in slugs]
        values = await self.redis.hmget(keys.VERSIONS, fields)
        return [int(v or 0) for v in values]


def _checked_slug(slug: str | None) -> str | None:
    # Never build a key from unchecked input.
    if slug is not None and slugify(slug) != slug:
        raise ValueError(f"not a category slug: {slug!r}")
    return slug
