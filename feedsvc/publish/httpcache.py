"""HTTP caching of a rendered body: validators, 304s, gzip when the client takes it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

from feedsvc.publish.cache import Rendered

CACHE_CONTROL = "public, max-age=60"


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
    when = http_date(since)
    return when is not None and rendered.last_modified <= when


def http_date(text: str) -> datetime | None:
    """An HTTP date as an aware datetime; None for anything unusable (absurd years too)."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError):  # a 20-digit year overflows
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


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
