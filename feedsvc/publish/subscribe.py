"""`GET /kategori/{slug}`: how to subscribe to one category, for people, not feed readers.

Someone who taps "RSS" on a phone gets raw XML from a feed URL; the index page's
feed links lead here instead: the feed URLs to copy (tapping one selects it whole),
links that open the common web readers with the feed filled in, and the bot's
command. The feed URLs themselves stay exactly what readers poll; this page carries
them as autodiscovery links too, so a reader given this page finds the feeds.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from aiohttp import web

from feedsvc import appkeys
from feedsvc.config import Settings
from feedsvc.models import is_slug
from feedsvc.publish.cache import Rendered
from feedsvc.publish.feedurls import feed_url
from feedsvc.publish.httpcache import respond
from feedsvc.publish.pages import ALL_NAME, CSS, FORMAT_LABELS, HTML_TYPE, alternate_links
from feedsvc.publish.render import FORMATS

# Web readers that open a subscription from a link; the feed URL goes in encoded.
READERS = (
    ("Feedly", "https://feedly.com/i/subscription/feed%2F"),
    ("Inoreader", "https://www.inoreader.com/?add_feed="),
    ("NewsBlur", "https://www.newsblur.com/?url="),
)
PAGE_CSS = """
.url{display:block;padding:.5rem .6rem;margin:.25rem 0 .5rem;border:1px solid var(--line);
border-radius:.25rem;font:.9rem/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
user-select:all;-webkit-user-select:all;word-break:break-all}
.readers a{display:inline-block;padding:.4rem 0;margin-right:1rem}
dt{font-weight:bold;margin-top:.75rem}
dd{margin:0}
"""


def add_routes(app: web.Application) -> None:
    app.router.add_get("/kategori/{slug}", subscribe_page)


async def subscribe_page(request: web.Request) -> web.Response:
    """How to follow one category (`all`: every category) in a reader or on Telegram."""
    settings, store = request.app[appkeys.SETTINGS], request.app[appkeys.STORE]
    slug_text = request.match_info["slug"]
    slug = None if slug_text == "all" else slug_text
    name = ALL_NAME
    if slug is not None:
        category = await store.category(slug) if is_slug(slug) else None
        if category is None:
            raise web.HTTPNotFound(text="no such category\n")
        name = category.name
    body = render_subscribe(settings, slug, name).encode()
    # Only the config changes this page; its date is the store's first start.
    return respond(request, Rendered.of(body, await store.started()), HTML_TYPE)


def render_subscribe(settings: Settings, slug: str | None, name: str) -> str:
    """The whole page; pure."""
    title = f"Berlangganan {name} — {settings.service.title}"
    home = settings.service.base_url.rstrip("/") + "/"
    parts = [
        "<!doctype html>",
        f'<html lang="{_e(settings.service.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        *alternate_links(settings, slug, f"{settings.service.title} — {name}"),
        f"<style>{CSS.strip()}\n{PAGE_CSS.strip()}</style>",
        "</head>",
        "<body>",
        "<header>",
        f'<p class="intro"><a href="{_e(home)}">{_e(settings.service.title)}</a></p>',
        f"<h1>Berlangganan {_e(name)}</h1>",
        "</header>",
        "<main>",
        _readers_section(settings, slug),
        _telegram_section(settings, slug),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _readers_section(settings: Settings, slug: str | None) -> str:
    rss = feed_url(settings, slug, "rss")
    readers = " ".join(
        f'<a href="{_e(prefix + quote(rss, safe=""))}" rel="noopener">{label}</a>'
        for label, prefix in READERS
    )
    urls = "\n".join(
        f'<dt id="{fmt}">{FORMAT_LABELS[fmt]}</dt>\n'
        f'<dd><code class="url">{_e(feed_url(settings, slug, fmt))}</code></dd>'
        for fmt in FORMATS
    )
    return (
        '<section aria-labelledby="pembaca">\n'
        '<h2 id="pembaca">Di aplikasi pembaca feed</h2>\n'
        f'<p class="readers">Buka langsung di: {readers}</p>\n'
        "<p>Atau salin salah satu alamat ini (ketuk untuk memilih) dan tempelkan di "
        "aplikasi pembaca feed Anda (Feedly, Inoreader, NewsBlur, Thunderbird, Newsboat "
        "dan lainnya). Kalau ragu, pilih RSS.</p>\n"
        f"<dl>\n{urls}\n</dl>\n"
        "</section>"
    )


def _telegram_section(settings: Settings, slug: str | None) -> str:
    if not settings.telegram.token:
        return ""  # no bot runs for this service
    command = f"/langganan {slug or 'semua'}"
    return (
        '<section aria-labelledby="telegram">\n'
        '<h2 id="telegram">Di Telegram</h2>\n'
        f'<p>Kirim <code class="url">{_e(command)}</code> ke bot berita ini: setiap berita '
        "baru dikirim ke obrolan Anda. Di grup, hanya admin grup yang dapat berlangganan; "
        "untuk kanal, jadikan bot admin kanal lalu kirim perintah itu di sana.</p>\n"
        "</section>"
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)
