"""One article page -> Entry: title, links, dates, categories, author, image and the body.

The body is trafilatura's main-text extraction, taken as HTML (paragraphs, headings,
lists, tables, quotes, images and links), then cleaned by the sanitiser like every
other piece of upstream HTML (`build_entry`). On top of it, feedsvc puts back the
captions of figures, cuts the "Baca juga:" teasers Indonesian sites put mid-article,
and reads the metadata itself:

- title: og:title, the page's main heading, <title>; the site-name suffix stripped
- dates: the page's structured data (meta tags, JSON-LD, <time> markup), then a
  printed date line by the title ("Kamis, 25 September 2025 10:00 WITA"), then
  htmldate, then a relative age ("10 jam lalu"). A date without a zone is the site's
  local date: the zone of the page's other dates, else `zone` (WITA); it is never
  moved to another calendar day. Times keep the zone they were read in.
- categories and author: structured data, then what is printed around the title
- image: og:image and the like, else the body's first image

The body is in body.py, the dates in pagedates.py, the other fields in metadata.py,
and where the article sits in the page (its title heading, region, furniture and
printed lines) in layout.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from lxml.html import HtmlElement

import feedsvc.ingest.parse.metadata as metadata
from feedsvc.dates import WITA
from feedsvc.ingest.parse.body import extract_body, inner_html, lead, prune_teasers, unlazy_images
from feedsvc.ingest.parse.document import parse_html
from feedsvc.ingest.parse.entry import Entry, build_entry, lower_keys
from feedsvc.ingest.parse.layout import article_region, find_in_page, main_heading, printed_lines
from feedsvc.ingest.parse.pagedates import PageDates, take_dateline


@dataclass(frozen=True, slots=True)
class ArticleReading:
    """A page read as an article, and what tells whether it is one.

    `teasers` counts other posts' teasers taken off the page; `marked` is what the
    page's metadata calls it: "article", "listing" (a collection of posts) or "".
    """

    entry: Entry | None
    teasers: int = 0
    marked: str = ""


def parse_article_page(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    *,
    now: datetime | None = None,
    zone: tzinfo = WITA,
) -> Entry | None:
    """The article on the page at `url`, or None when it has no title or no body text."""
    lowered = lower_keys(headers)
    root = parse_html(body, lowered)
    if root is None:
        return None
    return read_article(root, url, now=now, zone=zone, raw=lambda: parse_html(body, lowered)).entry


def read_article(
    root: HtmlElement,
    url: str,
    *,
    raw: Callable[[], HtmlElement | None],
    now: datetime | None = None,
    zone: tzinfo = WITA,
) -> ArticleReading:
    """The article in the parsed page `root` (which this changes).

    `raw` parses the page again as it came: htmldate reads the whole page, teasers
    and all, as it was made to, and only when nothing else dates it.
    """
    meta = metadata.head_meta(root)
    ld = metadata.json_ld(root)
    marked = metadata.marked(meta, ld)
    unlazy_images(root)
    teasers = prune_teasers(root, url)
    body = extract_body(root, url)
    anchor = find_in_page(root, body) if body is not None else None
    heading = main_heading(root, anchor)
    title = metadata.title_of(root, meta, heading)
    if body is None or not title:
        return ArticleReading(None, teasers, marked)
    dateline = take_dateline(body, title)
    region = article_region(anchor, heading)
    lines = printed_lines(region, body, heading) if region is not None else []
    around = region if region is not None else root
    dates = PageDates(meta, ld, around, raw, url, now, zone, [dateline, *lines])
    entry = build_entry(
        base=url,
        guid=metadata.shortlink(root, url),
        link=url,
        title=title,
        categories=metadata.categories(meta, ld, around, lines),
        author=metadata.author(meta, ld, around, lines),
        published=dates.published(),
        updated=dates.modified(),
        summary=lead(body),
        content_html=inner_html(body),
        canonical=metadata.canonical(root, meta, url),
        image=metadata.image(meta, ld, body, around, url),
    )
    return ArticleReading(entry, teasers, marked)
