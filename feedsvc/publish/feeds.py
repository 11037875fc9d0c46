"""Feed routes with HTTP caching: `/feeds/{category}.{rss|atom|json}` and WordPress aliases.

A rendered feed is cached in the process under (category, format, page, limit)
together with the category's change counter from the store; a request costs one
Redis read of that counter, and only a changed counter re-renders. Concurrent
misses for one key share one render.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from feedsvc import appkeys
from feedsvc.config import Settings
from feedsvc.models import is_slug
from feedsvc.publish.render import (
    CONTENT_TYPES,
    EMPTY_FEED_UPDATED,
    FORMATS,
    FeedInfo,
    last_updated,
    render,
)
from feedsvc.storage.store import Store

CACHE_CONTROL = "public, max-age=60"
CACHE_ENTRIES = 512
EXTENSIONS = {"rss": "rss", "atom": "atom", "json": "json", "xml": "rss"}
MAX_PAGE = 100_000

CacheKey = tuple[str | None, str, int, int]


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    gzipped: bytes
    etag: str  # strong, over the body bytes
    etag_gzip: str  # the gzip representation is another entity: its own tag
    last_modified: datetime

    @classmethod
    def of(cls, body: bytes, last_modified: datetime) -> Rendered:
        digest = hashlib.sha256(body).hexdigest()[:24]
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag=f'"{digest}"',
            etag_gzip=f'"{digest}-gz"',
            last_modified=last_modified.replace(microsecond=0),
        )


class VersionReader:
    """Feed requests that arrive in one event-loop tick share one Redis read.

    Each request joins the batch that is still open when it arrives; the read is
    sent after the batch closes, so every request still sees every change made
    before it arrived.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._batch: dict[str | None, asyncio.Future[int | None]] | None = None
        self._reads: set[asyncio.Task[None]] = set()  # strong references while in flight

    async def version(self, slug: str | None) -> int | None:
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = {}
            loop.call_soon(self._close)
        future = self._batch.get(slug)
        if future is None:
            future = self._batch[slug] = loop.create_future()
        return await asyncio.shield(future)

    def _close(self) -> None:
        batch, self._batch = self._batch or {}, None
        task = asyncio.get_running_loop().create_task(self._read(batch))
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def _read(self, batch: dict[str | None, asyncio.Future[int | None]]) -> None:
        try:
            versions = await self.store.feed_versions(list(batch))
        except Exception as exc:
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
                    future.exception()  # each waiter re-raises it
            return
        for future, version in zip(batch.values(), versions, strict=True):
            if not future.done():
                future.set_result(version)


class FeedCache:
    """Rendered feeds by key, each valid for one store version; misses render once."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[int, Rendered]] = OrderedDict()
        self._pending: dict[tuple[CacheKey, int], asyncio.Future[Rendered]] = {}

    async def get(
        self, key: CacheKey, version: int, build: Callable[[], Awaitable[Rendered]]
    ) -> tuple[Rendered, bool]:
        """(rendered, was_a_hit)."""
        cached = self._entries.get(key)
        if cached is not None and cached[0] == version:
            self._entries.move_to_end(key)
            return cached[1], True
        pending = self._pending.get((key, version))
        if pending is not None:
            return await asyncio.shield(pending), True
        future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
        self._pending[(key, version)] = future
        try:
            rendered = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; nobody else needs to see it logged
            raise
        finally:
            del self._pending[(key, version)]
        future.set_result(rendered)
        self._store(key, version, rendered)
        return rendered, False

    def _store(self, key: CacheKey, version: int, rendered: Rendered) -> None:
        self._entries[key] = (version, rendered)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def add_routes(app: web.Application) -> None:
    app[appkeys.FEED_CACHE] = FeedCache()
    app.on_startup.append(_start_version_reader)
    router = app.router
    router.add_get("/feeds/{file}", feed_by_file)
    for path, fmt in (("/feed", "rss"), ("/feed/rss2", "rss"), ("/feed/atom", "atom")):
        for variant in (path, path + "/"):
            router.add_get(variant, _fixed(None, fmt))
    for suffix, fmt in (("feed", "rss"), ("feed/rss2", "rss"), ("feed/atom", "atom")):
        for variant in (suffix, suffix + "/"):
            router.add_get(f"/category/{{slug}}/{variant}", _fixed("", fmt))


async def _start_version_reader(app: web.Application) -> None:
    app[appkeys.FEED_VERSIONS] = VersionReader(app[appkeys.STORE])


def _fixed(
    category: str | None, fmt: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        """A WordPress-style feed URL; `category` "" means: from the path."""
        slug = request.match_info["slug"] if category == "" else category
        return await serve_feed(request, slug, fmt)

    return handler


async def feed_by_file(request: web.Request) -> web.StreamResponse:
    """`/feeds/kaltara.rss`, `/feeds/all.atom`, `/feeds/kaltara.json`."""
    name, dot, ext = request.match_info["file"].rpartition(".")
    if not dot or ext not in EXTENSIONS:
        raise web.HTTPNotFound(text=f"unknown feed format; use one of: {', '.join(FORMATS)}\n")
    if name != "all" and not is_slug(name) and is_slug(name.lower()):
        raise web.HTTPMovedPermanently(request.rel_url.with_name(f"{name.lower()}.{ext}"))
    return await serve_feed(request, None if name == "all" else name, EXTENSIONS[ext])


async def serve_feed(request: web.Request, slug: str | None, fmt: str) -> web.StreamResponse:
    settings = request.app[appkeys.SETTINGS]
    page, limit = page_and_limit(request, settings)
    if slug is not None and not is_slug(slug):
        raise web.HTTPNotFound(text="no such category\n")
    version = await request.app[appkeys.FEED_VERSIONS].version(slug)
    if version is None:
        raise web.HTTPNotFound(text="no such category\n")

    async def build() -> Rendered:
        return await render_feed(request.app, slug, fmt, page, limit)

    rendered, hit = await request.app[appkeys.FEED_CACHE].get(
        (slug, fmt, page, limit), version, build
    )
    request.app[appkeys.METRICS].render_cache(hit)
    links = {"Link": feed_links(settings, slug, fmt, page, limit)}
    return respond(request, rendered, CONTENT_TYPES[fmt], links)


def page_and_limit(request: web.Request, settings: Settings) -> tuple[int, int]:
    """`?page=` and `?limit=`, checked; anything odd is a 400 with a plain reason."""
    most = settings.feeds.max_limit
    limit = _positive(request.query, "limit", settings.feeds.default_limit, most)
    page = _positive(request.query, "page", 1, MAX_PAGE)
    return page, limit


def _positive(query: object, name: str, default: int, most: int) -> int:
    values = query.getall(name, [])  # type: ignore[attr-defined]
    if not values:
        return default
    if len(values) > 1:
        raise web.HTTPBadRequest(text=f"{name} given more than once\n")
    value = whole_number(values[0], most)
    if value is None:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number from 1 to {most}\n")
    return value


def whole_number(text: str, most: int) -> int | None:
    """`text` as a number from 1 to `most`; None for anything else (signs, "1e3", "١")."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    value = int(text)
    return value if 1 <= value <= most else None


async def render_feed(
    app: web.Application, slug: str | None, fmt: str, page: int, limit: int
) -> Rendered:
    settings, store = app[appkeys.SETTINGS], app[appkeys.STORE]
    total = await store.count(slug)
    last_page = max(1, math.ceil(total / limit))
    if page > last_page:
        raise web.HTTPNotFound(text=f"page {page} is past the last page ({last_page})\n")
    articles = await store.list(slug, limit=limit, offset=(page - 1) * limit)
    name = (await store.category(slug)).name if slug else ""
    info = feed_info(settings, slug, name, fmt, page, limit, last_page)
    body = render(fmt, info, articles)
    return Rendered.of(body, last_updated(articles) or EMPTY_FEED_UPDATED)


def feed_url(
    settings: Settings, slug: str | None, fmt: str, page: int = 1, limit: int | None = None
) -> str:
    """The canonical absolute URL of a feed page."""
    query = {}
    if limit and limit != settings.feeds.default_limit:
        query["limit"] = limit
    if page > 1:
        query["page"] = page
    base = settings.service.base_url.rstrip("/")
    url = f"{base}/feeds/{slug or 'all'}.{fmt}"
    return f"{url}?{urlencode(query)}" if query else url


def feed_info(
    settings: Settings,
    slug: str | None,
    name: str,
    fmt: str,
    page: int,
    limit: int,
    last_page: int,
) -> FeedInfo:
    service = settings.service

    def url(n: int) -> str:
        return feed_url(settings, slug, fmt, n, limit)

    title = f"{service.title} — {name}" if name else service.title
    return FeedInfo(
        title=title,
        home_url=service.base_url.rstrip("/") + "/",
        self_url=url(page),
        description=f"Berita {name or 'terbaru'} dari {service.title}",
        category=slug or "all",
        language=service.language,
        author=service.title,
        first_url=url(1),
        next_url=url(page + 1) if page < last_page else None,
        previous_url=url(page - 1) if page > 1 else None,
        last_url=url(last_page),
        hub_url=settings.feeds.websub_hub or None,
        alternates=tuple((f, feed_url(settings, slug, f, 1, limit)) for f in FORMATS),
        timezone=ZoneInfo(service.timezone),
    )


def feed_links(settings: Settings, slug: str | None, fmt: str, page: int, limit: int) -> str:
    """The HTTP `Link` header: self, and the hub when WebSub is on."""
    links = [f'<{feed_url(settings, slug, fmt, page, limit)}>; rel="self"']
    if settings.feeds.websub_hub:
        links.append(f'<{settings.feeds.websub_hub}>; rel="hub"')
    return ", ".join(links)


def respond(
    request: web.Request,
    rendered: Rendered,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> web.Response:
    """200 or 304 per the request's validators; gzip when the client takes it."""
    use_gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    headers = {
        "ETag": rendered.etag_gzip if use_gzip else rendered.etag,
        "Last-Modified": format_datetime(rendered.last_modified.astimezone(UTC), usegmt=True),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
        **(extra or {}),
    }
    if not_modified(request, rendered):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=rendered.gzipped, headers=headers)
    return web.Response(body=rendered.body, headers=headers)


def not_modified(request: web.Request, rendered: Rendered) -> bool:
    """RFC 9110 13.1: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or bool(tags & {rendered.etag, rendered.etag_gzip})
    since = request.headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return rendered.last_modified <= when


def accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "x-gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params or float(q) > 0
            except ValueError:
                return False
    return False
