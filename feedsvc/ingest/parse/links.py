"""Article links on a listing page (a WordPress category page, say).

Without a `link_selector`, a link counts as an article when it stays on the site
and its path looks like a post: a date (/2025/09/25/slug/), `?p=123`, or a long
hyphenated slug. Archive, feed, admin and media links never count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import parse_qs, urldefrag, urlsplit

from cssselect import SelectorError
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from feedsvc.ingest.parse.document import parse_html
from feedsvc.ingest.parse.entry import ParseError, lower_keys, web_url

MIN_SLUG_WORDS = 4  # "tentang-kami", "pedoman-media-siber" are pages, not posts

_DATED_PATH = re.compile(r"/(?:19|20)\d\d/\d{1,2}/(?:\d{1,2}/)?[^/]+")
_NOT_POST_SEGMENTS = frozenset({
    "category", "kategori", "tag", "tags", "author", "penulis", "page", "feed",
    "wp-admin", "wp-json", "wp-content", "wp-includes", "wp-login.php", "login",
    "search", "cari", "comments", "xmlrpc.php",
})  # fmt: skip
_MEDIA = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|bmp|ico|pdf|zip|rar|docx?|xlsx?|pptx?|mp[34]|m4a|webm"
    r"|avi|mov|css|js|xml|json|rss|atom)$",
    re.IGNORECASE,
)
_LISTING_SEGMENTS = frozenset({
    "category", "kategori", "tag", "tags", "author", "penulis", "page", "search", "cari",
    "rubrik", "kanal", "indeks", "index", "topik", "arsip", "archive",
})  # fmt: skip
_LISTING_QUERY = frozenset({"s", "cat", "tag", "author", "paged"})
_NOT_POST_QUERY = frozenset({"s", "cat", "tag", "author", "paged", "feed", "replytocom", "share"})


def find_article_links(
    body: bytes, headers: Mapping[str, str], url: str, link_selector: str = ""
) -> list[str]:
    """Absolute article URLs on the listing page at `url`, deduplicated, in page order.

    Raises ParseError when `link_selector` is not a valid CSS selector.
    """
    root = parse_html(body, lower_keys(headers))
    return article_links(root, url, link_selector) if root is not None else []


def article_links(root: HtmlElement, url: str, link_selector: str = "") -> list[str]:
    """`find_article_links` on a parsed page."""
    base = _base_href(root, url)
    if link_selector:
        hrefs = _selected_hrefs(root, link_selector)
        return _unique(web_url(href, base) for href in hrefs)
    listing = _page_key(url)
    links = (web_url(a.get("href"), base) for a in root.iter("a"))
    return _unique(
        link for link in links if link and _page_key(link) != listing and is_post_link(link, url)
    )


def is_listing_url(url: str) -> bool:
    """True when the URL's path says "many posts": home, category, tag, archive, search."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.lower().split("/") if s]
    query = parse_qs(parts.query)
    if not segments:
        return not query.get("p")
    if _LISTING_SEGMENTS.intersection(segments) or _LISTING_QUERY.intersection(query):
        return True
    # /2025/09/ and /2025/ are monthly and yearly archives.
    return all(s.isdigit() for s in segments) and len(segments) <= 2


def is_post_link(link: str, site_url: str) -> bool:
    """True when `link` is on the site of `site_url` and looks like one article."""
    parts = urlsplit(link)
    if _host(parts.hostname) != _host(urlsplit(site_url).hostname):
        return False
    segments = [s for s in parts.path.lower().split("/") if s]
    query = parse_qs(parts.query)
    if _NOT_POST_SEGMENTS.intersection(segments) or _NOT_POST_QUERY.intersection(query):
        return False
    if segments and _MEDIA.search(segments[-1]):
        return False
    if query.get("p", [""])[0].isdigit():
        return True
    if _DATED_PATH.search(parts.path):
        return True
    return bool(segments) and segments[-1].count("-") >= MIN_SLUG_WORDS - 1


def _selected_hrefs(root: HtmlElement, link_selector: str) -> Iterator[str]:
    try:
        selector = CSSSelector(link_selector, translator="html")
    except SelectorError as exc:
        raise ParseError(f"link_selector {link_selector!r} is not valid CSS: {exc}") from exc
    for element in selector(root):
        # The selector may name the links or the boxes that hold them.
        anchors = [element] if element.tag == "a" else element.iter("a")
        for anchor in anchors:
            yield anchor.get("href", "")


def _base_href(root: HtmlElement, url: str) -> str:
    base = root.find(".//base[@href]")
    if base is None:
        return url
    return web_url(base.get("href"), url) or url


def _unique(links: Iterable[str]) -> list[str]:
    # A post linked as /slug/ and /slug/#comments is one post.
    seen: dict[str, None] = {}
    for link in links:
        if link:
            seen.setdefault(urldefrag(link).url)
    return list(seen)


def _page_key(url: str) -> str:
    return urldefrag(url).url.rstrip("/")


def _host(hostname: str | None) -> str:
    return (hostname or "").lower().removeprefix("www.")
