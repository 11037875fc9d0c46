"""Feed routes with HTTP caching: `/feeds/{category}.{rss|atom|json}` and WordPress aliases.

A rendered feed is cached in the process under (category, format, page, limit)
together with the category's change counter from the store; a request costs one
Redis read of that counter, and only a changed counter re-renders. Concurrent
misses for one key share one render (cache.py); validators, 304s and gzip: httpcache.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from feedsvc import appkeys
from feedsvc.config import Settings
from feedsvc.models import is_slug
from feedsvc.publish.cache import FeedCache, Rendered, VersionReader
from feedsvc.publish.feedurls import feed_info, feed_links
from feedsvc.publish.httpcache import respond
from feedsvc.publish.outage import REDIS_TROUBLE
from feedsvc.publish.render import (
    CONTENT_TYPES,
    FORMATS,
    last_updated,
    render,
)
from feedsvc.storage.removal import Removals

EXTENSIONS = {"rss": "rss", "atom": "atom", "json": "json", "xml": "rss"}
MAX_PAGE = 100_000


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
    key = (slug, fmt, page, limit)
    try:
        # Half the request's budget (outage.redis_guard), so a stale copy is in time.
        async with asyncio.timeout(settings.redis.timeout / 2):
            version = await request.app[appkeys.FEED_VERSIONS].version(slug)
    except REDIS_TROUBLE as exc:
        stale = request.app[appkeys.FEED_CACHE].stale(key)
        if stale is None:
            raise
        request.app[appkeys.OUTAGE].failed(exc, time.monotonic())
        return serve_stale(request, stale, CONTENT_TYPES[fmt], feed_links(settings, *key))
    if version is None:
        raise web.HTTPNotFound(text="no such category\n")

    async def build() -> Rendered:
        return await render_feed(request.app, slug, fmt, page, limit)

    rendered, hit = await request.app[appkeys.FEED_CACHE].get(key, version, build)
    request.app[appkeys.METRICS].render_cache(hit)
    links = {"Link": feed_links(settings, slug, fmt, page, limit)}
    return respond(request, rendered, CONTENT_TYPES[fmt], links)


def serve_stale(
    request: web.Request, stale: tuple[Rendered, float], content_type: str, links: str
) -> web.Response:
    """The last rendering of a feed while Redis cannot say whether it is current."""
    rendered, rendered_at = stale
    age = max(0, round(time.monotonic() - rendered_at))
    # RFC 9111 5.2: Age; Warning 110 (obsoleted by RFC 9111, still what caches show).
    headers = {"Link": links, "Age": str(age), "Warning": '110 - "Response is Stale"'}
    response = respond(request, rendered, content_type, headers)
    response.headers["Cache-Control"] = "no-cache"  # no cache should keep a stale copy
    return response


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
    started = await store.started()
    info = feed_info(settings, slug, name, fmt, page, limit, last_page, empty_updated=started)
    body = render(fmt, info, articles)
    # A removal changes the feed too: Last-Modified must not go back to an older post.
    removed = await Removals(app[appkeys.REDIS]).last_removal(slug)
    changed = [when for when in (last_updated(articles), removed) if when is not None]
    return Rendered.of(body, max(changed, default=started))
