"""Articles -> RSS 2.0, Atom 1.0 and JSON Feed 1.1 bytes.

Pure functions: the same `FeedInfo` and articles always give the same bytes, because
the HTTP layer's strong ETag is a hash of the body. Nothing here reads the clock.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

import orjson
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc import __version__
from feedsvc.dates import WITA
from feedsvc.models import Article

GENERATOR = f"feedsvc {__version__}"

FORMATS = ("rss", "atom", "json")
MEDIA_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}
CONTENT_TYPES = {fmt: f"{media}; charset=utf-8" for fmt, media in MEDIA_TYPES.items()}

# Atom needs `updated` even on an empty feed. The service gives the store's start
# (FeedInfo.empty_updated), which never changes, so the bytes (and ETag) stay stable;
# this fixed date is only the default of a FeedInfo built without one.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
# Date part of every tag: URI (RFC 4151). Never change it: every id would change with it.
TAG_YEAR = 2026
UNTITLED = "(tanpa judul)"

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
# RSS plain-text elements holding "&" or "<". The RSS Profile (and the W3C validator)
# wants those two as hexadecimal references there, so nobody mistakes them for HTML.
_RSS_PLAIN_TEXT = re.compile(rb"(<(?:title|category|dc:creator)>)([^<]*&[^<]*)")
# Characters XML 1.0 forbids (lxml refuses them), plus DEL and the C1 controls it
# discourages: in news text they are only ever mojibake, and the W3C validator flags them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What one feed page says about itself. URLs are absolute.

    `self_url` is exactly this representation's URL, query included. `author` is the
    feed-level author name (Atom needs one when an entry has none; the title is used
    when empty). `alternates` holds `(format, url)` pairs for the sibling formats.
    """

    title: str
    home_url: str
    self_url: str
    description: str = ""
    category: str = "all"
    language: str = "id"
    author: str = ""
    generator: str = GENERATOR
    first_url: str | None = None
    next_url: str | None = None
    previous_url: str | None = None
    last_url: str | None = None
    hub_url: str | None = None
    alternates: tuple[tuple[str, str], ...] = ()
    timezone: tzinfo = WITA
    empty_updated: datetime = EMPTY_FEED_UPDATED  # the feed's date while it has no item


def render(fmt: str, info: FeedInfo, articles: Sequence[Article]) -> bytes:
    """Render `articles` (already newest first) as `fmt`: "rss", "atom" or "json"."""
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown feed format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderer(info, articles)


def render_rss(info: FeedInfo, articles: Sequence[Article]) -> bytes:
    xml = _generator("rss", info, articles).rss_str(pretty=True)
    return _RSS_PLAIN_TEXT.sub(_hex_references, xml)


def render_atom(info: FeedInfo, articles: Sequence[Article]) -> bytes:
    return _generator("atom", info, articles).atom_str(pretty=True)


def render_json(info: FeedInfo, articles: Sequence[Article]) -> bytes:
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _clean(info.title),
        "home_page_url": info.home_url,
        # feed_url identifies the feed, so every page names the first page, not itself.
        "feed_url": info.first_url or info.self_url,
        "description": _clean(info.description or info.title),
        "language": info.language,
        "authors": [{"name": _clean(info.author or info.title)}],
    }
    if info.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": info.hub_url}]
    if info.next_url:
        feed["next_url"] = info.next_url
    feed["items"] = [_json_item(info, article) for article in articles]
    return orjson.dumps(feed)


def last_updated(articles: Sequence[Article]) -> datetime | None:
    """Newest change among `articles` (UTC): the feed's `updated` and `Last-Modified`."""
    return max((_changed(article) for article in articles), default=None)


def entry_id(info: FeedInfo, article: Article) -> str:
    """The article's permanent id: Atom `id`, RSS `guid` and JSON Feed `id` alike."""
    return _tag(info, "article", article.id)


def feed_id(info: FeedInfo) -> str:
    """The Atom feed id: one per category, shared by every page of it."""
    return _tag(info, "feed", info.category)


# --- RSS and Atom (feedgen) ---------------------------------------------------


class _ExtraLinks(BaseExtension):
    """Links feedgen writes nowhere in RSS: paging, hub, sibling formats.

    Used for Atom as well, so both formats get the same links by one path.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed[0]
        for attrs in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", attrs)
        return feed

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        # feedgen's Atom tree has no namespace (xmlns is written as a plain attribute),
        # so a namespaced element here would come out as <ns0:link>.
        for attrs in self.links:
            etree.SubElement(feed, "link", attrs)
        return feed


class _EntryLinkAttributes(BaseEntryExtension):
    """Puts back the rel and type feedgen 1.0 drops from Atom entry links.

    (It reads them from the element it just created instead of from the link given.)
    An entry has at most one link: the article page.
    """

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for link in entry.iterfind("link"):
            link.set("rel", "alternate")
            link.set("type", "text/html")
        return entry


def _generator(fmt: str, info: FeedInfo, articles: Sequence[Article]) -> FeedGenerator:
    fg = FeedGenerator()
    # dc:creator carries authors in RSS (feedgen's <author> needs an e-mail); Atom
    # has author/name, so Dublin Core stays out of it.
    fg.load_extension("dc", atom=False, rss=True)
    # media:content carries the featured image in both (RSS enclosures need a length).
    fg.load_extension("media", atom=True, rss=True)
    fg.register_extension("extra_links", _ExtraLinks, _EntryLinkAttributes)
    fg.extra_links.links = _extra_links(fmt, info)

    fg.id(feed_id(info))
    fg.title(_clean(info.title))
    fg.description(_clean(info.description or info.title))
    fg.language(info.language)
    fg.generator(_clean(info.generator))
    fg.author(name=_clean(info.author or info.title))
    fg.updated(_local(last_updated(articles) or info.empty_updated, info.timezone))
    fg.link(href=info.self_url, rel="self", type=MEDIA_TYPES[fmt])
    # Added last on purpose: feedgen's RSS <link> is the last link given.
    fg.link(href=info.home_url, rel="alternate", type="text/html")
    for article in articles:
        _add_entry(fg, info, article)
    return fg


def _extra_links(fmt: str, info: FeedInfo) -> list[dict[str, str]]:
    links = [
        {"rel": "alternate", "type": MEDIA_TYPES[other], "href": url}
        for other, url in info.alternates
        if other != fmt and other in MEDIA_TYPES
    ]
    if info.hub_url:
        links.append({"rel": "hub", "href": info.hub_url})
    paging = (
        ("first", info.first_url),
        ("previous", info.previous_url),
        ("next", info.next_url),
        ("last", info.last_url),
    )
    links += [{"rel": rel, "href": url} for rel, url in paging if url]
    return links


def _add_entry(fg: FeedGenerator, info: FeedInfo, article: Article) -> None:
    article = _cleaned(article)
    entry = fg.add_entry(order="append")
    entry.id(entry_id(info, article))  # also the RSS guid, isPermaLink="false"
    entry.title(article.title or UNTITLED)
    if article.link:
        entry.link(href=article.link, rel="alternate", type="text/html")
    entry.published(_local(article.published, info.timezone))
    entry.updated(_local(_changed(article), info.timezone))
    if article.author:
        entry.author(name=article.author)
        entry.dc.dc_creator(article.author)
    for name, slug in zip(article.categories, article.slugs, strict=True):
        entry.category(term=slug, label=name)
    if article.summary:
        # RSS <description> is HTML, so plain text goes in escaped; Atom says so by type.
        entry.summary(html.escape(article.summary, quote=False), type="html")
    entry.content(_content_html(article), type="html")  # RSS content:encoded
    if article.image:
        entry.media.content(url=article.image, medium="image", group=None)


def _hex_references(match: re.Match[bytes]) -> bytes:
    text = match[2].replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
    return match[1] + text


# --- JSON Feed ------------------------------------------------------------------


def _json_item(info: FeedInfo, article: Article) -> dict[str, Any]:
    article = _cleaned(article)  # the same text as the XML formats carry
    item: dict[str, Any] = {"id": entry_id(info, article)}
    if article.link:
        item["url"] = article.link
    item["title"] = article.title or UNTITLED
    item["content_html"] = _content_html(article)
    if article.summary:
        item["summary"] = article.summary
    item["date_published"] = _rfc3339(article.published, info.timezone)
    if article.updated:
        item["date_modified"] = _rfc3339(_changed(article), info.timezone)
    if article.image:
        item["image"] = article.image
    if article.author:
        item["authors"] = [{"name": article.author}]
    item["tags"] = list(article.categories)
    return item


# --- small helpers ----------------------------------------------------------------


def _tag(info: FeedInfo, kind: str, name: str) -> str:
    host = urlsplit(info.home_url).hostname or "localhost"
    return f"tag:{host},{TAG_YEAR}:{kind}:{name}"


def _changed(article: Article) -> datetime:
    # A source's "updated" before "published" is a source bug; never go backwards.
    if article.updated is None:
        return article.published
    return max(article.published, article.updated)


def _content_html(article: Article) -> str:
    # Every item gets a body, so readers that show only content show something.
    return article.content or html.escape(article.summary or article.title, quote=False)


def _local(moment: datetime, zone: tzinfo) -> datetime:
    # Whole seconds: RFC 822 has none finer, and equal inputs must give equal bytes.
    local = moment.astimezone(zone).replace(microsecond=0)
    offset = local.utcoffset() or timedelta(0)
    if offset % timedelta(minutes=1):
        # Local mean time before ~1932 (Makassar: +07:57:36) has an offset neither
        # RFC 822 nor RFC 3339 can write; UTC can.
        return local.astimezone(UTC)
    return local


def _rfc3339(moment: datetime, zone: tzinfo) -> str:
    return _local(moment, zone).isoformat()


def _clean(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _cleaned(article: Article) -> Article:
    """`article` without characters XML cannot carry; itself (no copy) when it has none."""
    texts = (
        article.title, article.link, article.author, article.summary, article.content,
        article.image,
    )  # fmt: skip
    if not any(_XML_INVALID.search(text) for text in (*texts, *article.categories)):
        return article
    return dataclasses.replace(
        article,
        title=_clean(article.title),
        link=_clean(article.link),
        author=_clean(article.author),
        summary=_clean(article.summary),
        content=_clean(article.content),
        image=_clean(article.image),
        categories=tuple(_clean(name) for name in article.categories),
    )


_RENDERERS: dict[str, Callable[[FeedInfo, Sequence[Article]], bytes]] = {
    "rss": render_rss,
    "atom": render_atom,
    "json": render_json,
}
