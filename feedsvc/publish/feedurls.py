"""Where a feed lives: its canonical URL, its metadata for rendering, its Link header."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from feedsvc.config import Settings
from feedsvc.publish.render import EMPTY_FEED_UPDATED, FORMATS, FeedInfo


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


def subscribe_url(settings: Settings, slug: str | None) -> str:
    """The "how to subscribe" page of a category (`None`: all news)."""
    return f"{settings.service.base_url.rstrip('/')}/kategori/{slug or 'all'}"


def feed_info(
    settings: Settings,
    slug: str | None,
    name: str,
    fmt: str,
    page: int,
    limit: int,
    last_page: int,
    *,
    empty_updated: datetime = EMPTY_FEED_UPDATED,
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
        empty_updated=empty_updated,
    )


def feed_links(settings: Settings, slug: str | None, fmt: str, page: int, limit: int) -> str:
    """The HTTP `Link` header: self, and the hub when WebSub is on."""
    links = [f'<{feed_url(settings, slug, fmt, page, limit)}>; rel="self"']
    if settings.feeds.websub_hub:
        links.append(f'<{settings.feeds.websub_hub}>; rel="hub"')
    return ", ".join(links)
