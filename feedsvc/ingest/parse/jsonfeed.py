"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) -> entries.

feedparser 6.0 reads only XML, so JSON Feed is mapped here. Every field is
untrusted: a value of the wrong type counts as missing.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime
from typing import Any

import orjson

from feedsvc.dates import parse_date
from feedsvc.ingest.parse.entry import (
    Entry,
    ParsedFeed,
    ParseError,
    as_text,
    build_entry,
    map_entries,
    one_line,
    plain_text,
    text_as_html,
    web_url,
)

# "https://jsonfeed.org/version/1.1", "http://jsonfeed.org/version/1", and the bare
# "1.0" or "1.1" some generators write.
_VERSION = re.compile(
    r"(?:https?://(?:www\.)?jsonfeed\.org/version/\S*|v?1(?:\.\d+)?/?)", re.IGNORECASE
)
_LEADING = b" \t\r\n"


def looks_like_json(body: bytes) -> bool:
    """True when the document is JSON (an object), whatever the Content-Type says."""
    return body.removeprefix(codecs.BOM_UTF8)[:256].lstrip(_LEADING).startswith(b"{")


def parse_json_feed(body: bytes, base: str, *, now: datetime | None = None) -> ParsedFeed:
    """Entries of a JSON Feed; ParseError when the JSON is broken or not a JSON Feed."""
    try:
        # JSON is UTF-8: a broken byte spoils its own string, not the feed.
        doc = orjson.loads(body.removeprefix(codecs.BOM_UTF8).decode("utf-8", "replace"))
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not a feed: broken JSON ({one_line(exc)})") from exc
    if not isinstance(doc, dict) or not _VERSION.fullmatch(as_text(doc.get("version")).strip()):
        raise ParseError("not a feed: a JSON document that is not a JSON Feed")
    items = doc.get("items")
    entries, skipped = map_entries(
        items if isinstance(items, list) else [], lambda item: _entry(item, base, now)
    )
    return ParsedFeed(
        title=plain_text(as_text(doc.get("title"))),
        link=web_url(doc.get("home_page_url"), base),
        entries=entries,
        error="" if isinstance(items, list) else "JSON Feed without an items list",
        skipped=skipped,
    )


def _entry(item: Any, base: str, now: datetime | None) -> Entry | None:
    if not isinstance(item, dict):
        raise TypeError(f"an item must be an object, not {_json_type(item)}")
    text = as_text(item.get("content_text"))
    updated = parse_date(as_text(item.get("date_modified")), now=now)
    return build_entry(
        base=base,
        guid=_guid(item.get("id")),
        link=web_url(item.get("url"), base) or web_url(item.get("external_url"), base),
        title=as_text(item.get("title")),
        categories=_tags(item.get("tags")),
        author=_author(item),
        published=parse_date(as_text(item.get("date_published")), now=now) or updated,
        updated=updated,
        summary=as_text(item.get("summary")) or text,
        content_html=as_text(item.get("content_html")) or text_as_html(text),
        image=web_url(item.get("image"), base) or web_url(item.get("banner_image"), base),
    )


def _tags(value: object) -> list[str]:
    # `"tags": 5` counts as no tags, like any other field of the wrong type.
    return [tag for tag in value if isinstance(tag, str)] if isinstance(value, list) else []


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "null")


def _guid(value: object) -> str:
    # The spec says string, but numbers are common in the wild.
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, str | int) else ""


def _author(item: dict[str, Any]) -> str:
    # 1.1 has an `authors` list, 1.0 a single `author` object.
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    for author in candidates:
        if isinstance(author, dict) and as_text(author.get("name")):
            return author["name"]
    return ""
