"""One HTML page: an article, a listing of articles, or neither, and why.

A listing (a home, category or tag page; a "Berita" index) holds many article links
and no single main text of its own; it is never stored as an article. What decides,
in order:

1. nothing readable as an article on it: a listing when it links to articles;
2. its metadata calls it a collection (JSON-LD CollectionPage, ItemList) or its URL
   is a listing's (home, /category/, /tag/, /page/2/, ?s=), and its metadata does not
   call it an article: a listing;
3. its metadata calls it an article (JSON-LD NewsArticle, og:type article,
   article:published_time): an article, whatever teasers it carries;
4. otherwise, two or more teasers of other posts (a heading that is a link to a
   post, outside boxes of related or popular posts) holding more text than the
   main text found, or a main text that is mostly links: a listing; else an article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

import lxml.html

from feedsvc.dates import WITA
from feedsvc.ingest.parse.article import read_article
from feedsvc.ingest.parse.document import parse_html
from feedsvc.ingest.parse.entry import Entry, lower_keys, web_url
from feedsvc.ingest.parse.layout import count_words
from feedsvc.ingest.parse.links import article_links, is_listing_url, is_post_link
from feedsvc.models import identity_key

ARTICLE, LISTING, NEITHER = "article", "listing", "neither"
MIN_TEASERS = 2
MAX_TEASER_LENGTH = 600  # characters of a teaser: a title and an excerpt
_PART = "[a-z0-9]+"
_BOX = re.compile(
    rf"""(?:{_PART}[-_]+)*
        (?:related|terkait|popular|populer|terpopuler|recent|latest|terbaru|widgets?
        |baca-?juga|lainnya|footer)
        (?:[-_]+{_PART})*""",
    re.IGNORECASE | re.VERBOSE,
)
MAX_LINK_SHARE = 0.5  # of the body's text inside links; more is a list of links


@dataclass(frozen=True, slots=True)
class PageReading:
    """What a page was taken for (`kind`), with the article or the links, and why."""

    kind: str
    entry: Entry | None = None
    links: tuple[str, ...] = ()
    why: str = ""


def read_page(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    *,
    now: datetime | None = None,
    zone: tzinfo = WITA,
    link_selector: str = "",
) -> PageReading:
    """Read the page at `url`. Raises ParseError for a `link_selector` that is not CSS."""
    lowered = lower_keys(headers)
    root = parse_html(body, lowered)
    if root is None:
        return PageReading(NEITHER, why="no HTML document in the response")
    links = tuple(article_links(root, url, link_selector))
    if link_selector:
        return PageReading(LISTING, links=links, why="the link selector names its links")
    teasers, teaser_words = _teasers(root, url)
    # read_article changes root: teasers are counted first, htmldate gets the page anew.
    reading = read_article(root, url, now=now, zone=zone, raw=lambda: parse_html(body, lowered))
    entry = reading.entry
    if entry is None:
        if links:
            return PageReading(LISTING, links=links, why="no article text, only links")
        return PageReading(NEITHER, why="no article text and no article links on it")
    if reading.marked != ARTICLE and (reading.marked == LISTING or is_listing_url(url)):
        return PageReading(LISTING, links=links, why="a listing's URL or metadata")
    if reading.marked == ARTICLE:
        return PageReading(ARTICLE, entry, links, "its metadata says article")
    content = lxml.html.fragment_fromstring(entry.content or "<p></p>", create_parent="div")
    words = count_words(content.text_content())
    if teasers >= MIN_TEASERS and teaser_words >= words:
        why = f"{teasers} teasers of other posts, more text than any main text"
        return PageReading(LISTING, links=links, why=why)
    if _link_share(content) > MAX_LINK_SHARE:
        return PageReading(LISTING, links=links, why="its text is mostly links")
    return PageReading(ARTICLE, entry, links, "one main text")


def _teasers(root: lxml.html.HtmlElement, url: str) -> tuple[int, int]:
    """Other posts' teasers outside boxes of related posts: how many, and their words.

    A teaser is a heading that is nothing but a link to another post, with what
    stands with it (its `<article>`, or the heading's own box when that is short).
    """
    here = identity_key(url)
    blocks: set[lxml.html.HtmlElement] = set()
    for heading in root.iter("h2", "h3", "h4"):
        link = heading.find(".//a[@href]")
        text = _bare(heading.text_content())
        if link is None or not text or _bare(link.text_content()) != text:
            continue
        target = web_url(link.get("href"), url)
        if not target or identity_key(target) == here or not is_post_link(target, url):
            continue
        if any(_is_box(e) for e in heading.iterancestors()):
            continue
        blocks.add(_teaser_block(heading))
    return len(blocks), sum(count_words(block.text_content()) for block in blocks)


def _teaser_block(heading: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    article = next((e for e in heading.iterancestors() if e.tag == "article"), None)
    if article is not None and len(_bare(article.text_content())) <= MAX_TEASER_LENGTH:
        return article
    parent = heading.getparent()
    if parent is not None and len(_bare(parent.text_content())) <= MAX_TEASER_LENGTH:
        return parent
    return heading


def _is_box(element: lxml.html.HtmlElement) -> bool:
    """A box of related, popular or recent posts: an article page's, not a listing."""
    if element.tag in ("nav", "aside", "footer"):
        return True
    tokens = f"{element.get('class') or ''} {element.get('id') or ''}".split()
    return any(_BOX.fullmatch(token) for token in tokens)


def _link_share(content: lxml.html.HtmlElement) -> float:
    total = len(_bare(content.text_content()))
    linked = sum(len(_bare(a.text_content())) for a in content.iter("a"))
    return linked / total if total else 0.0


def _bare(text: str) -> str:
    return "".join(text.split())
