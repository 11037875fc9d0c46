"""Parsing: fetched bytes and response headers in, entries out.

Pure functions, no I/O: the fetcher owns HTTP and hands over what it got. Bad input
raises ParseError (one line for the user) or gives nothing; never anything else.

- feed.py: RSS/Atom (feedparser) and JSON Feed (jsonfeed.py) documents
- links.py: article links on a listing page, for sources of kind "html"
- article.py: one article page (trafilatura for the body, feedsvc for the rest)
- page.py: is a page an article, a listing of articles, or neither
- document.py: HTML bytes to a tree, with the charset a browser would use
- entry.py: Entry, ParsedFeed, ParseError; where all HTML gets sanitised
"""

from __future__ import annotations

from feedsvc.ingest.parse.article import parse_article_page
from feedsvc.ingest.parse.entry import Entry, ParsedFeed, ParseError
from feedsvc.ingest.parse.feed import parse_feed
from feedsvc.ingest.parse.links import find_article_links, is_post_link
from feedsvc.ingest.parse.page import ARTICLE, LISTING, NEITHER, PageReading, read_page

__all__ = [
    "ARTICLE",
    "LISTING",
    "NEITHER",
    "Entry",
    "PageReading",
    "ParseError",
    "ParsedFeed",
    "find_article_links",
    "is_post_link",
    "parse_article_page",
    "parse_feed",
    "read_page",
]
