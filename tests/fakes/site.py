"""A small WordPress-like news site for tests, served from loopback.

Routes are plain data (`site.routes[path] = Page(...)`) so each test shapes the
site it needs; every request is recorded with its headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from aiohttp import web

# The steering repo's shared folder (the feedparser corpus, the seed article) sits
# next to this repository; FEEDSVC_SHARED points elsewhere. Tests that need it
# skip with a clear reason when it is absent.
SHARED = Path(os.environ.get("FEEDSVC_SHARED") or Path(__file__).resolve().parents[3] / "shared")
SEED = SHARED / "fixtures" / "seed-article.txt"


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: bool = False  # answer If-None-Match with 304
    reset: bool = False  # drop the connection without an answer


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Page] = {}
        self.hits: list[Hit] = []
        self.base = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        return app

    def url(self, path: str) -> str:
        return self.base + path

    def hits_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs
        self.hits.append(Hit(path, dict(request.headers)))
        page = self.routes.get(path)
        if page is None:
            return web.Response(status=404, text="not found")
        if page.delay:
            await asyncio.sleep(page.delay)
        if page.reset and request.transport is not None:
            request.transport.abort()  # the client sees the connection reset
            raise ConnectionResetError("reset by the test site")
        headers = dict(page.headers)
        if page.etag:
            tag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return web.Response(status=304, headers=headers)
        return web.Response(status=page.status, body=page.body, headers=headers)


@dataclass
class Item:
    title: str
    link: str
    published: datetime | None
    categories: tuple[str, ...] = ("KALTARA",)
    author: str = "Wira"
    content: str = "<p>Isi berita.</p>"
    guid: str = ""


def rss(items: list[Item], *, title: str = "Jurnal Kaltara", link: str = "", ttl: int = 0) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>Berita Kalimantan Utara</description><language>id</language>",
    ]
    if ttl:
        parts.append(f"<ttl>{ttl}</ttl>")
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title><link>{escape(it.link)}</link>")
        if it.published:
            parts.append(f"<pubDate>{format_datetime(it.published)}</pubDate>")
        parts.append(f"<dc:creator><![CDATA[{it.author}]]></dc:creator>")
        parts += [f"<category><![CDATA[{c}]]></category>" for c in it.categories]
        if it.guid:
            parts.append(f'<guid isPermaLink="false">{escape(it.guid)}</guid>')
        parts.append(f"<description>{escape(it.content[:80])}</description>")
        parts.append(f"<content:encoded><![CDATA[{it.content}]]></content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def seed_text() -> tuple[str, list[str]]:
    """The seed article's title and body paragraphs."""
    if not SEED.is_file():
        pytest.skip(f"seed article not found next to the repository ({SEED})")
    lines = [ln.strip() for ln in SEED.read_text().splitlines() if ln.strip()]
    title = lines[1]
    body = lines[2 : lines.index("Wira")]
    return title, body


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    canonical: str,
    published_iso: str = "2025-09-25T10:12:00+08:00",
    category: str = "KALTARA",
    author: str = "Wira",
) -> bytes:
    """An article page in the shape of a common WordPress news theme."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    recent = "".join(
        f'<li><a href="/2025/09/2{n}/recent-{n}/">Berita lain {n}</a><span>{n} jam ago</span></li>'
        for n in range(1, 4)
    )
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<title>{escape(title)} – Jurnal Kaltara</title>
<link rel="canonical" href="{escape(canonical)}">
<meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{published_iso}">
<meta property="article:section" content="{escape(category)}">
<script>var tracker = 1;</script>
</head><body>
<nav class="main-nav"><a href="/">Beranda</a> <a href="/category/kaltara/">Kaltara</a></nav>
<article class="post">
<div class="entry-meta">Categories:
<a href="/category/kaltara/" rel="category tag">{escape(category)}</a></div>
<h1 class="entry-title">{escape(title)}</h1>
<div class="entry-content">{body}
<div class="sharedaddy"><a href="https://facebook.com/sharer">Bagikan</a></div>
<script>alert(1)</script></div>
<span class="author vcard"><a rel="author" href="/author/wira/">{escape(author)}</a></span>
</article>
<aside class="widget"><h2 class="widget-title">Recent Posts</h2><ul>{recent}</ul></aside>
<footer>© Jurnal Kaltara</footer>
</body></html>""".encode()


def listing_page(links: list[str]) -> bytes:
    items = "".join(
        f'<article><h2 class="entry-title"><a href="{escape(link)}">Judul {i}</a></h2></article>'
        for i, link in enumerate(links)
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Kaltara</title></head>
<body><nav><a href="/">Beranda</a><a href="/category/kaltara/">Kaltara</a>
<a href="/tag/bulungan/">Bulungan</a><a href="/feed/">RSS</a></nav>
<main>{items}</main>
<div class="pagination"><a href="/category/kaltara/page/2/">2</a></div>
</body></html>""".encode()
