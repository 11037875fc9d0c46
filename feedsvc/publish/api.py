"""The JSON API: push articles in, read sources' status out.

Bad input gets a 4xx with `{"error": ..., "field": ...}` naming what was wrong;
nothing a client sends reaches a Redis key or the store unchecked.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web

from feedsvc import appkeys
from feedsvc.dates import WITA, to_wita
from feedsvc.ingest.entries import is_pushable
from feedsvc.ingest.pushed import BadField, article_from_json
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Article, is_article_id, is_slug
from feedsvc.publish.feeds import whole_number
from feedsvc.publish.feedurls import feed_url
from feedsvc.publish.outage import write_time_left
from feedsvc.publish.render import FORMATS
from feedsvc.search import parse_query, search
from feedsvc.storage.removal import Removals
from feedsvc.storage.store import Cursor, Store, UpsertStatus
from feedsvc.tokens import token_matches

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/articles", post_article)
    app.router.add_get("/api/articles", get_articles)
    app.router.add_get("/api/articles/{id}", get_article)
    app.router.add_delete("/api/articles/{id}", delete_article)
    app.router.add_get("/api/categories", get_categories)
    app.router.add_get("/api/sources", get_sources)


def json_response(body: Any, status: int = 200, **kw: Any) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", **kw
    )


def json_error(status: int, message: str, field: str | None = None, **kw: Any) -> web.Response:
    return json_response({"error": message, "field": field}, status=status, **kw)


NO_TOKENS = "no API token is configured on this server: set api.tokens or FEEDSVC_API_TOKENS"


def check_bearer(request: web.Request, tokens: tuple[str, ...]) -> web.Response | None:
    """None when the bearer token is one of `tokens`; else the 401/403 to send.

    Each refusal is one log line that names the request, never the token; the
    answer says whether the server has any token at all (an empty api.tokens is
    the usual first-day mistake), never which.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        _log_refusal(request, 401, "no bearer token")
        return json_error(
            401,
            "a bearer token is required" + ("" if tokens else f"; {NO_TOKENS}"),
            headers={"WWW-Authenticate": 'Bearer realm="feedsvc"'},
        )
    if token_matches(given.strip(), tokens):
        return None
    if not tokens:
        _log_refusal(request, 403, "no API token is configured")
        return json_error(403, NO_TOKENS)
    _log_refusal(request, 403, "not one of the configured tokens")
    return json_error(403, "this token is not one of the API tokens configured on this server")


def _log_refusal(request: web.Request, status: int, why: str) -> None:
    log.warning(
        "API refused %s %s from %s: %d, %s",
        request.method, request.path[:200], request.remote or "-", status, why,
    )  # fmt: skip


async def post_article(request: web.Request) -> web.Response:
    """Create or update one article from a JSON body."""
    settings = request.app[appkeys.SETTINGS]
    denied = check_bearer(request, settings.api.tokens)
    if denied is not None:
        return denied
    if request.content_length is not None and request.content_length > MAX_BODY:
        return json_error(413, f"body is larger than {MAX_BODY} bytes")
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return json_error(400, "body is not valid JSON")
    now = datetime.now(UTC)
    try:
        article = article_from_json(data, now)
    except BadField as exc:
        return json_error(400, str(exc), exc.field)
    store = request.app[appkeys.STORE]
    if data.get("published") is None:
        article = await _keep_first_date(store, article)
    pushable = is_pushable(article, True, now, settings.telegram.max_push_age_hours)
    # A write Redis runs after the client got its 503 (a frozen server thawing) must
    # not happen: the script refuses it past this deadline on Redis's own clock.
    deadline = await store.deadline(write_time_left(request))
    result = await store.upsert(article, pushable=pushable, deadline_ms=deadline)
    pinger = request.app.get(appkeys.WEBSUB)
    if pinger is not None and result.status in (UpsertStatus.NEW, UpsertStatus.UPDATED):
        pinger.notify(set(article.slugs))
    body = {"id": result.id, "status": str(result.status), "url": f"/api/articles/{result.id}"}
    if result.status == UpsertStatus.NEW:
        return json_response(body, status=201, headers={"Location": body["url"]})
    return json_response(body)


async def _keep_first_date(store: Store, article: Article) -> Article:
    """An article re-posted without `published` keeps the date it was first stored with."""
    known = await store.published_of(article)
    if known is None or known == article.published:
        return article
    return dataclasses.replace(article, published=known, content_hash="")


async def get_categories(request: web.Request) -> web.Response:
    """Every category with its article count, largest first."""
    categories = await request.app[appkeys.STORE].categories()
    settings = request.app[appkeys.SETTINGS]
    return json_response(
        {
            "categories": [
                {
                    "slug": c.slug,
                    "name": c.name,
                    "count": c.count,
                    "feeds": {f: feed_url(settings, c.slug, f) for f in FORMATS},
                }
                for c in categories
            ]
        }
    )


async def get_articles(request: web.Request) -> web.Response:
    """Newest first; `?category=` slug, `?limit=`, `?before=` (an article id or a time),
    `?q=` words its title or lead holds (feedsvc/search.py)."""
    settings, store = request.app[appkeys.SETTINGS], request.app[appkeys.STORE]
    query = request.query
    category = query.get("category") or None
    if category is not None and (not is_slug(category) or await store.category(category) is None):
        return json_error(404, "no such category", "category")
    try:
        limit = _limit(query.get("limit"), settings.feeds.default_limit, settings.feeds.max_limit)
        before = await _cursor(store, query.get("before"))
        words = None if query.get("q") is None else parse_query(query["q"])
    except BadField as exc:
        return json_error(400, str(exc), exc.field)
    except ValueError as exc:  # from parse_query
        return json_error(400, str(exc), "q")
    if words is None:
        articles = await store.list(category, limit=limit, before=before)
    else:
        articles = await search(store, words, limit, category, before)
    body: dict[str, Any] = {"articles": [article_json(a) for a in articles]}
    if len(articles) == limit:
        params = {"limit": limit, "before": articles[-1].id}
        if category:
            params["category"] = category
        if words is not None:
            params["q"] = query["q"]
        body["next"] = f"/api/articles?{urlencode(params)}"
    return json_response(body)


async def get_article(request: web.Request) -> web.Response:
    """One article by id."""
    article_id = request.match_info["id"]
    if not is_article_id(article_id):
        return json_error(404, "no such article", "id")
    article = await request.app[appkeys.STORE].get(article_id)
    if article is None:
        return json_error(404, "no such article", "id")
    return json_response(article_json(article))


async def delete_article(request: web.Request) -> web.Response:
    """Remove one article from every feed and listing, for good: 204, or 404."""
    denied = check_bearer(request, request.app[appkeys.SETTINGS].api.tokens)
    if denied is not None:
        return denied
    article_id = request.match_info["id"]
    removed = None
    if is_article_id(article_id):
        removed = await Removals(request.app[appkeys.REDIS]).remove(article_id, datetime.now(UTC))
    if removed is None:
        return json_error(404, "no such article", "id")
    log.info("article %s removed through the API (from %s)", article_id, ", ".join(removed))
    pinger = request.app.get(appkeys.WEBSUB)
    if pinger is not None:
        pinger.notify(set(removed))
    return web.Response(status=204)


def article_json(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "link": article.link,
        "categories": [
            {"name": n, "slug": s} for n, s in zip(article.categories, article.slugs, strict=True)
        ],
        "author": article.author,
        "published": to_wita(article.published).isoformat(),
        "updated": to_wita(article.updated).isoformat() if article.updated else None,
        "summary": article.summary,
        "content_html": article.content,
        "source": article.source,
        "guid": article.guid,
        "image": article.image or None,
    }


def _limit(text: str | None, default: int, most: int) -> int:
    if text is None:
        return default
    value = whole_number(text, most)
    if value is None:
        raise BadField("limit", f"limit must be a whole number from 1 to {most}")
    return value


async def _cursor(store: Store, text: str | None) -> Cursor | None:
    if not text:
        return None
    if is_article_id(text):
        cursor = await store.cursor_after(text)
        if cursor is None:
            raise BadField("before", "before names an article that is not stored")
        return cursor
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadField("before", "before must be an article id or an ISO 8601 time") from None
    return Cursor.at(when if when.tzinfo else when.replace(tzinfo=WITA))


async def get_sources(request: web.Request) -> web.Response:
    """Every source with the status of its polls."""
    registry = SourceRegistry(request.app[appkeys.REDIS], request.app[appkeys.SETTINGS])
    sources = await registry.all()
    statuses = await registry.statuses([s.name for s in sources])
    now = time.time()
    return json_response(
        {"sources": [source_json(s, st, now) for s, st in zip(sources, statuses, strict=True)]}
    )


def source_json(source: Any, status: Any, now: float) -> dict[str, Any]:
    def iso(ts: float | None) -> str | None:
        return datetime.fromtimestamp(ts, UTC).isoformat() if ts else None

    return {
        "name": source.name,
        "url": source.url,
        "polled_url": status.url or source.url,
        "kind": source.kind,
        "category": source.category,
        "interval": source.interval,
        "origin": source.origin,
        "ok": status.failures == 0 and status.last_success is not None,
        "last_poll": iso(status.last_poll),
        "last_success": iso(status.last_success),
        "last_error": status.last_error or None,
        "last_error_at": iso(status.last_error_at),
        "warning": status.warning or None,
        "full_content": source.full_content,
        "excerpt_only": status.excerpt_only,
        "failures": status.failures,
        "next_poll": iso(status.next_poll),
        "polls": status.polls,
        "new_articles": status.new_articles,
    }
