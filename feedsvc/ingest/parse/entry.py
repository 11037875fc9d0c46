"""What parsing gives the rest of ingest: entries, the parsed feed, and ParseError.

`build_entry` is the one place where raw fields from any source (feedparser, JSON
Feed, an article page) become an `Entry`: HTML is sanitised there and nowhere else,
so no path can skip it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from feedsvc.ingest.sanitize import (
    clean_html,
    clean_text,
    html_to_text,
    strip_control_chars,
    strip_invisible,
    summarize,
)
from feedsvc.urls import http_url

TITLE_FROM_SUMMARY_LIMIT = 80
MAX_TITLE_LENGTH = 500  # characters; a longer title is cut at a word
MAX_AUTHOR_LENGTH = 200
MAX_CATEGORY_LENGTH = 100  # longer "categories" are sentences, not names
# Title, author, summary and content of one article together, in characters: a
# long read is a tenth of this, and every feed page and push stays of sane size.
MAX_ARTICLE_LENGTH = 100_000
MAX_ERROR_LENGTH = 200


class ParseError(Exception):
    """The bytes are not a usable feed or page; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One article as a source shows it, cleaned but not yet stored.

    `title`, `author`, `categories` and `summary` are plain text; `content` is
    sanitised HTML with absolute links; `image` is the featured image's absolute
    http(s) URL or "". Times are aware, in the zone the source wrote them in (so
    their `date()` is the source's calendar day), or None (unknown).
    """

    guid: str
    link: str
    title: str
    categories: tuple[str, ...] = ()
    author: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    summary: str = ""
    content: str = ""
    canonical: str = ""
    image: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document's entries.

    `ttl` is the feed's own poll hint in seconds (RSS <ttl>). `error` is empty for
    a clean document; otherwise it says what was wrong with a document that still
    parsed as a feed (its entries are kept). `skipped` says, per entry that could
    not be used, why.
    """

    title: str
    link: str
    entries: tuple[Entry, ...]
    ttl: int | None = None
    error: str = ""
    skipped: tuple[str, ...] = ()


def map_entries(
    raws: Iterable[Any], mapper: Callable[[Any], Entry | None]
) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Each raw entry mapped on its own: a broken one is skipped with its reason."""
    entries: list[Entry] = []
    skipped: list[str] = []
    for number, raw in enumerate(raws, 1):
        try:
            entry = mapper(raw)
        except MemoryError:
            raise
        except Exception as exc:  # any field of hostile input may break a mapping
            skipped.append(one_line(f"entry {number}: {type(exc).__name__}: {exc}", 120))
            continue
        if entry is None:
            skipped.append(f"entry {number}: no title, link, id or text")
        else:
            entries.append(entry)
    return tuple(entries), tuple(skipped)


def build_entry(
    *,
    base: str,
    guid: str,
    link: str,
    title: str,
    categories: Iterable[str] = (),
    author: str = "",
    published: datetime | None = None,
    updated: datetime | None = None,
    summary: str = "",
    content_html: str = "",
    content_base: str = "",
    canonical: str = "",
    image: str = "",
) -> Entry | None:
    """An Entry from raw fields, or None when there is nothing in them at all.

    `title`, `author`, category names and `summary` may hold markup, which is
    stripped; the summary is taken from the content when empty. `content_html` is
    untrusted HTML. No plain-text field comes out holding anything tag-like.
    """
    guid = strip_control_chars(guid).strip()
    title = cut(plain_text(title), MAX_TITLE_LENGTH)
    content = clean_html(content_html, content_base or link or base) if content_html else ""
    # Through plain_text even when it is text already: escaped markup in the source
    # ("&lt;script&gt;") would otherwise come back as markup-looking plain text.
    summary_text = plain_text(summary) or plain_text(html_to_text(content))
    if not (link or guid or title or summary_text):
        return None  # an RSS item may be a description alone, but not nothing
    title = title or summarize(summary_text, TITLE_FROM_SUMMARY_LIMIT)
    author = cut(plain_text(author), MAX_AUTHOR_LENGTH)
    summary = summarize(summary_text)
    room = MAX_ARTICLE_LENGTH - len(title) - len(author) - len(summary)
    return Entry(
        guid=guid,
        link=link,
        title=title,
        categories=clean_categories(categories),
        author=author,
        published=published,
        updated=updated,
        summary=summary,
        content=cut_html(content, room, link or base),
        canonical=canonical,
        image=web_url(image, link or base),
    )


def cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters long, cut at a word with "…"."""
    return text if len(text) <= limit else summarize(text, limit - 1)


def cut_html(content: str, limit: int, base: str) -> str:
    """Sanitised HTML cut to about `limit` characters before a tag, tags closed again."""
    if len(content) <= limit:
        return content
    margin = 64  # for the end tags cleaning adds back and the "…"
    while margin < limit:
        end = content.rfind("<", 0, limit - margin)
        cut = clean_html(content[: end if end > 0 else limit - margin] + "<p>…</p>", base)
        if len(cut) <= limit:
            return cut
        margin *= 2
    return ""


def clean_categories(names: Iterable[str]) -> tuple[str, ...]:
    """Display names, cleaned, first spelling kept among case variants."""
    seen: dict[str, str] = {}
    for name in names:
        cleaned = plain_text(name)
        if cleaned and len(cleaned) <= MAX_CATEGORY_LENGTH:
            seen.setdefault(cleaned.casefold(), cleaned)
    return tuple(seen.values())


def plain_text(text: str) -> str:
    """`clean_text`, with a shortcut for the common case of text without markup."""
    if "<" in text or "&" in text:
        return clean_text(text)
    # What clean_text gives for such text, without two parser passes per field.
    return " ".join(strip_invisible(strip_control_chars(text)).split())


def web_url(value: object, base: str) -> str:
    """`value` made absolute against `base` when it is an http(s) URL, else ""."""
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        url = urljoin(base, strip_control_chars(value).strip())
    except ValueError:  # e.g. an unclosed IPv6 literal
        return ""
    return http_url(url) or ""


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names in lower case, the form feedparser looks them up in."""
    return {name.lower(): value for name, value in headers.items()}


def document_base(headers: Mapping[str, str], url: str) -> str:
    """The URL relative links in a response are relative to (Content-Location wins)."""
    return web_url(headers.get("content-location", ""), url) or url


def text_as_html(text: str) -> str:
    """Plain text as HTML paragraphs, so it can be stored as content."""
    paragraphs = (part.strip() for part in text.split("\n\n"))
    return "".join(f"<p>{html.escape(part)}</p>" for part in paragraphs if part)


def as_text(value: object) -> str:
    """`value` when it is a string; feeds put lists, numbers or nothing where text goes."""
    return value if isinstance(value, str) else ""


def one_line(value: object, limit: int = MAX_ERROR_LENGTH) -> str:
    """A message safe for one log line and a status field."""
    text = " ".join(strip_control_chars(str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
