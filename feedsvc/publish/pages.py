"""The pages people open in a browser: the HTML index (`GET /`) and `GET /opml`.

The index is plain HTML with a little inline CSS: no JavaScript and nothing loaded
from elsewhere, so it reads well on a cheap phone on a slow connection. Every piece
of text from a news site goes through `_e` (HTML escaping); article links are kept
only when they are http(s).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from feedsvc import __version__, appkeys
from feedsvc.config import Settings
from feedsvc.dates import format_wita, relative_age, to_wita
from feedsvc.ingest.sanitize import summarize
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Article
from feedsvc.publish.cache import Rendered
from feedsvc.publish.categories import configured_slugs, shown_categories
from feedsvc.publish.feedurls import feed_url, subscribe_url
from feedsvc.publish.httpcache import respond
from feedsvc.publish.notices import SourceHealth, empty_text, failing_notice
from feedsvc.publish.opml import Outline, write_opml
from feedsvc.publish.render import FORMATS, MEDIA_TYPES, last_updated
from feedsvc.storage.store import Category
from feedsvc.urls import http_url

INDEX_POSTS = 20
EXCERPT_LENGTH = 120  # about three lines on a phone, like the news sites' "Recent Posts"
HTML_TYPE = "text/html; charset=utf-8"
# No registered type exists; the OPML 2.0 spec (note 8) names text/x-opml, and feed
# readers sniff the XML either way.
OPML_TYPE = "text/x-opml; charset=utf-8"
FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
ALL_NAME = "Semua berita"

CSS = """
:root{color-scheme:light dark;--muted:#5f6b76;--line:#d9dee3;--accent:#0b5cad}
@media (prefers-color-scheme:dark){:root{--muted:#a3adb7;--line:#3a4249;--accent:#7db7f0}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:44rem;padding:0 1rem 2rem;
font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
overflow-wrap:anywhere}
a{color:var(--accent)}
header{padding:1rem 0 .75rem;border-bottom:2px solid var(--accent)}
h1{margin:0;font-size:1.5rem;line-height:1.2}
h2{margin:1.5rem 0 .25rem;font-size:1.15rem}
h3{margin:0;font-size:1.05rem;line-height:1.35}
h3 a{text-decoration:none}
h3 a:hover{text-decoration:underline}
p{margin:.25rem 0}
.intro,.meta,.feeds,footer{color:var(--muted);font-size:.875rem}
.feeds a{display:inline-block;padding:.4rem 0;margin-right:1rem}
ol,ul{list-style:none;margin:0;padding:0}
.posts li,.cats li{padding:.75rem 0;border-bottom:1px solid var(--line)}
.cats li{display:grid;grid-template-columns:minmax(0,1fr) auto;align-items:baseline;
gap:0 1rem}
.cats .feeds{margin:0}
.cats .feeds a:last-child{margin-right:0}
@media (max-width:30rem){.cats li{grid-template-columns:minmax(0,1fr)}}
.count{color:var(--muted);font-weight:normal;white-space:nowrap}
.lead{margin-top:.2rem;font-size:.95rem}
.thumb{float:right;margin:0 0 .25rem .75rem;width:6rem;height:4rem;object-fit:cover;
border-radius:.25rem}
.posts li{overflow:hidden}
.empty{padding:1rem 0}
.notice{margin:1rem 0 0;padding:.6rem .75rem;border-left:4px solid #c77700;
background:rgba(199,119,0,.1);font-size:.9rem}
footer{margin-top:2rem}
"""


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/opml", opml)


async def index(request: web.Request) -> web.Response:
    """The home page: latest posts, categories with counts, feed links."""
    settings, store = request.app[appkeys.SETTINGS], request.app[appkeys.STORE]
    categories = shown_categories(await store.categories(), configured_slugs(settings))
    posts = await store.list(limit=INDEX_POSTS)
    total, failing = await SourceRegistry(request.app[appkeys.REDIS], settings).failing()
    now = datetime.now(UTC)
    health = SourceHealth(total, tuple(failing))
    body = render_index(settings, categories, posts, now, health).encode()
    # The ages on the page move with the clock, so it was last modified now.
    return respond(request, Rendered.of(body, now), HTML_TYPE)


async def opml(request: web.Request) -> web.Response:
    """OPML 2.0 listing the all-news feed and every category's feed."""
    settings, store = request.app[appkeys.SETTINGS], request.app[appkeys.STORE]
    categories = shown_categories(await store.categories(), configured_slugs(settings))
    newest = last_updated(await store.list(limit=1))
    body = render_opml(settings, categories, newest)
    response = respond(request, Rendered.of(body, newest or datetime.now(UTC)), OPML_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{_file_name(settings)}.opml"'
    return response


# --- the HTML index -------------------------------------------------------------


def render_index(
    settings: Settings,
    categories: Sequence[Category],
    posts: Sequence[Article],
    now: datetime,
    sources: SourceHealth | None = None,
) -> str:
    """The whole index page; pure, so tests pass the clock in."""
    title = settings.service.title
    parts = [
        "<!doctype html>",
        f'<html lang="{_e(settings.service.language)}">',
        _head(settings, categories),
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        '<p class="intro">Berita daerah terbaru, diperbarui otomatis. Ikuti lewat '
        "aplikasi pembaca feed: pilih RSS, Atom atau JSON Feed.</p>",
        _feed_line(settings, None, ALL_NAME),
        "</header>",
        "<main>",
        failing_notice(sources, now),
        _posts_section(posts, now, sources),
        _categories_section(settings, categories),
        "</main>",
        _footer(settings),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _head(settings: Settings, categories: Sequence[Category]) -> str:
    title = settings.service.title
    lines = [
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f'<meta name="description" content="Berita terbaru dari {_e(title)}">',
        *alternate_links(settings, None, f"{title} — {ALL_NAME}"),
    ]
    if categories:
        top = categories[0]  # the biggest category, usually the region's own
        lines += alternate_links(settings, top.slug, f"{title} — {top.name}")
    opml_url = _site_url(settings, "opml")
    lines += [
        f'<link rel="outline" type="text/x-opml" title="{_e(title)} (OPML)" href="{_e(opml_url)}">',
        f"<style>{CSS.strip()}</style>",
        "</head>",
    ]
    return "\n".join(lines)


def alternate_links(settings: Settings, slug: str | None, title: str) -> list[str]:
    """Feed autodiscovery tags, one per format."""
    return [
        f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" '
        f'title="{_e(title)} ({FORMAT_LABELS[fmt]})" href="{_e(feed_url(settings, slug, fmt))}">'
        for fmt in FORMATS
    ]


def _feed_line(settings: Settings, slug: str | None, name: str, label: str = "") -> str:
    # Each leads to the category's "how to subscribe" page (a phone would show raw XML);
    # readers find the feeds themselves through the autodiscovery links.
    page = subscribe_url(settings, slug)
    links = " ".join(
        f'<a href="{_e(page)}#{fmt}" '
        f'title="Cara berlangganan feed {FORMAT_LABELS[fmt]} {_e(name)}">{FORMAT_LABELS[fmt]}</a>'
        for fmt in FORMATS
    )
    return f'<p class="feeds">{_e(label or name)}: {links}</p>'


def _posts_section(posts: Sequence[Article], now: datetime, sources: SourceHealth | None) -> str:
    heading = '<section aria-labelledby="terbaru">\n<h2 id="terbaru">Berita terbaru</h2>'
    if not posts:
        return f'{heading}\n<p class="empty">{empty_text(sources)}</p>\n</section>'
    items = "\n".join(_post(article, now) for article in posts)
    return f'{heading}\n<ol class="posts">\n{items}\n</ol>\n</section>'


def _post(article: Article, now: datetime) -> str:
    title = _e(article.title or "(tanpa judul)")
    link = http_url(article.link)
    heading = f'<a href="{_e(link)}">{title}</a>' if link else title
    meta = [_e(", ".join(article.categories))]
    if article.author:
        meta.append(_e(article.author))
    meta.append(_time(article.published, now))
    lines = ["<li><article>", f"<h3>{heading}</h3>", f'<p class="meta">{" · ".join(meta)}</p>']
    image = http_url(article.image)
    if image:
        # Small and lazy: the page stays light on a phone; the photo is the site's.
        lines.append(
            f'<img class="thumb" src="{_e(image)}" alt="" loading="lazy" '
            'referrerpolicy="no-referrer" width="96" height="64">'
        )
    excerpt = _excerpt(article)
    if excerpt:
        lines.append(f'<p class="lead">{_e(excerpt)}</p>')
    lines.append("</article></li>")
    return "\n".join(lines)


def _time(published: datetime, now: datetime) -> str:
    stamp = to_wita(published).isoformat(timespec="seconds")
    exact = format_wita(published)
    return f'<time datetime="{stamp}" title="{_e(exact)}">{relative_age(published, now)}</time>'


def _excerpt(article: Article) -> str:
    # The stored summary, made from the content at write time when a source gave none.
    text = article.summary
    return summarize(text, EXCERPT_LENGTH) if text.strip() else ""


def _categories_section(settings: Settings, categories: Sequence[Category]) -> str:
    heading = '<section aria-labelledby="kategori">\n<h2 id="kategori">Kategori</h2>'
    if not categories:
        return f'{heading}\n<p class="empty">Belum ada kategori.</p>\n</section>'
    items = "\n".join(_category(settings, category) for category in categories)
    return f'{heading}\n<ul class="cats">\n{items}\n</ul>\n</section>'


def _category(settings: Settings, category: Category) -> str:
    # Two grid cells: name and count, then the feed links, which line up in every row.
    name = _e(category.name)
    count = f'<span class="count">({category.count} berita)</span>'
    feeds = _feed_line(settings, category.slug, category.name, "Feed")
    label = f'<span class="cat"><b>{name}</b> {count}</span>'
    return f'<li id="kategori-{_e(category.slug)}">{label}\n{feeds}</li>'


def _footer(settings: Settings) -> str:
    opml_url = _e(_site_url(settings, "opml"))
    return (
        f'<footer><p>Semua feed sekaligus: <a href="{opml_url}" type="text/x-opml">OPML</a> '
        "(untuk diimpor ke aplikasi pembaca feed). Waktu dalam WITA.</p>"
        f"<p>feedsvc {_e(__version__)}</p></footer>"
    )


# --- OPML -----------------------------------------------------------------------


def render_opml(
    settings: Settings, categories: Iterable[Category], updated: datetime | None
) -> bytes:
    """OPML 2.0: one `type="rss"` outline for all news, then one per category.

    The dates are the newest article's, not the clock's, so the bytes (and the
    ETag) only change when the store does; an empty store has no dates.
    """
    feeds = [(None, ALL_NAME), *((c.slug, c.name) for c in categories)]
    outlines = [_outline(settings, slug, name) for slug, name in feeds]
    modified = to_wita(updated) if updated is not None else None
    return write_opml(outlines, title=settings.service.title, modified=modified)


def _outline(settings: Settings, slug: str | None, name: str) -> Outline:
    title = f"{settings.service.title} — {name}"
    return Outline(
        text=title,
        title=title,
        type="rss",
        xml_url=feed_url(settings, slug, "rss"),
        html_url=_site_url(settings, ""),
    )


# --- small helpers ----------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _site_url(settings: Settings, path: str) -> str:
    return f"{settings.service.base_url.rstrip('/')}/{path}"


def _file_name(settings: Settings) -> str:
    name = "".join(c if c.isascii() and c.isalnum() else "-" for c in settings.service.title)
    return "-".join(part for part in name.lower().split("-") if part) or "feeds"
