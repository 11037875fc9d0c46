"""Feed documents -> entries: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed by hand.

feedparser gets the body as a stream, the headers that say how to decode it, and
the document's URL (as Content-Location: the fetcher owns HTTP), so entry links
and xml:base resolve per element. Relative links in content resolve against the
xml:base in effect where the feed declares one, else against the entry's own
link (what a browser on the article page would do).
"""

from __future__ import annotations

import codecs
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from feedsvc.dates import MAX_YEAR, MIN_YEAR, parse_date
from feedsvc.ingest.parse.document import looks_like_utf8
from feedsvc.ingest.parse.entry import (
    Entry,
    ParsedFeed,
    ParseError,
    as_text,
    build_entry,
    document_base,
    lower_keys,
    map_entries,
    one_line,
    plain_text,
    text_as_html,
    web_url,
)
from feedsvc.ingest.parse.jsonfeed import looks_like_json, parse_json_feed
from feedsvc.ingest.sanitize import html_to_text

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_DECODING_HEADERS = ("content-type", "content-language")
# feedparser reads these zone names as UTC; dates.parse_date knows them.
_INDONESIAN_ZONE = re.compile(r"\b(?:WIB|WITA|WIT)\b", re.IGNORECASE)
_EMAIL = r"[^\s@()<>]+@[^\s@()<>]+"
_AUTHOR_FORMS = (
    re.compile(rf"{_EMAIL}\s*\((?P<name>[^()]*)\)"),  # RSS: "wira@x.id (Wira)"
    re.compile(rf"(?P<name>[^()<>]*?)\s*[(<]{_EMAIL}[)>]"),  # "Wira (wira@x.id)", "Wira <…>"
    re.compile(rf"(?P<name>){_EMAIL}"),  # an address alone: no name
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE)


def parse_feed(
    body: bytes, headers: Mapping[str, str], url: str, *, now: datetime | None = None
) -> ParsedFeed:
    """Entries of an RSS, Atom or JSON Feed document fetched from `url`.

    Raises ParseError when the bytes hold no feed at all (empty, an HTML page,
    garbage). A damaged feed that still parses keeps its entries and says what
    was wrong in `ParsedFeed.error`.
    """
    headers = lower_keys(headers)
    if not body or body.isspace():
        raise ParseError("empty response: no feed in it")
    base = document_base(headers, url)
    if looks_like_json(body):
        return parse_json_feed(body, base, now=now)
    body, headers = _readable(body, headers)
    result = _run_feedparser(body, headers, base)
    if not result.get("version") and not result.entries:
        raise ParseError(_why_not_a_feed(result, body, headers))
    feed = result.feed
    entries, skipped = map_entries(result.entries, lambda raw: _entry(raw, base, now))
    return ParsedFeed(
        title=plain_text(as_text(feed.get("title"))),
        link=web_url(feed.get("link"), base),
        entries=entries,
        ttl=_ttl_seconds(feed.get("ttl")),
        error=_bozo_reason(result),
        skipped=skipped,
    )


def _readable(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The document with broken bytes replaced where they are, in the encoding it uses.

    feedparser retries a document that fails to decode in the next candidate
    encoding, turning every title of a UTF-8 feed with one bad byte into mojibake.
    """
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00")) or body[1:2] == b"\x00":
        return body, headers  # UTF-16/32: feedparser reads those itself
    label = _header_charset(headers) or _xml_encoding(body)
    try:
        name = codecs.lookup(label).name if label else "utf-8"
    except LookupError:
        return body, headers
    if name in ("utf-8", "ascii"):
        if not looks_like_utf8(body.removeprefix(codecs.BOM_UTF8)):
            return body, headers  # undeclared or mislabelled legacy bytes: feedparser guesses
        name = "utf-8"
    try:
        body.decode(name)
        return body, headers
    except UnicodeDecodeError:
        text = body.decode(name, "replace")
    except (LookupError, ValueError):
        return body, headers
    media = headers.get("content-type", "application/xml").split(";")[0].strip()
    return text.encode("utf-8"), {**headers, "content-type": f"{media}; charset=utf-8"}


def _header_charset(headers: Mapping[str, str]) -> str:
    match = _CHARSET.search(headers.get("content-type", ""))
    return match.group(1) if match else ""


def _xml_encoding(body: bytes) -> str:
    match = _XML_ENCODING.match(body.removeprefix(codecs.BOM_UTF8)[:512])
    return match.group(1).decode("ascii") if match else ""


def _run_feedparser(body: bytes, headers: Mapping[str, str], base: str) -> Any:
    # A stream, never bytes: feedparser would try a bytes argument as a file name.
    # feedparser's own sanitiser is off: nh3 cleans every field afterwards (entry.py),
    # and running both cost a tenth of the ingest time (docs/BENCHMARKS.md).
    passed = {name: headers[name] for name in _DECODING_HEADERS if name in headers}
    # Without a document URL feedparser lets one item's xml:base leak into the next.
    passed["content-location"] = base
    # Headers without a type would be "not XML" to feedparser; this one lets the
    # document's own XML declaration and byte order mark decide the encoding.
    passed.setdefault("content-type", "application/xml")
    try:
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=passed,
            sanitize_html=False,
            resolve_relative_uris=False,  # content: see _content_html
        )
    except MemoryError:
        raise  # the parse pool's limit: "too large to parse", not "not a feed"
    except Exception as exc:  # hostile bytes may break any parser; it is still just "not a feed"
        raise ParseError(f"not a feed: the parser failed ({one_line(exc)})") from exc


def _why_not_a_feed(result: Any, body: bytes, headers: Mapping[str, str]) -> str:
    if "html" in headers.get("content-type", "") or _HTML_START.search(body[:2048]):
        return "not a feed: the URL returned an HTML page (use its RSS/Atom feed URL)"
    if result.get("bozo_exception") is not None:
        return f"not a feed: {_exception_text(result['bozo_exception'])}"
    return "not a feed: no RSS, Atom or JSON Feed document found"


def _bozo_reason(result: Any) -> str:
    if not result.get("bozo"):
        return ""
    exc = result.get("bozo_exception")
    return _exception_text(exc) if exc is not None else "feed is not well-formed"


def _exception_text(exc: BaseException) -> str:
    return one_line(f"{type(exc).__name__}: {exc}")


def _ttl_seconds(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return minutes * 60 if minutes > 0 else None


def _entry(raw: Any, base: str, now: datetime | None) -> Entry | None:
    guid = as_text(raw.get("id"))
    # A permalink guid is already the link (feedparser copies it); a WordPress
    # `?p=123` guid still leads to the post, so it serves when <link> is missing.
    link = web_url(raw.get("link"), base) or web_url(guid, base)
    updated = _date(raw, "updated", now)
    content_html, content_base = _content_html(raw)
    return build_entry(
        base=base,
        guid=guid,
        link=link,
        title=as_text(raw.get("title")),
        categories=_tags(raw),
        author=_author(raw),
        # Atom requires only <updated>, RSS 1.0 items carry dc:date (read as updated).
        published=_date(raw, "published", now) or updated,
        updated=updated,
        summary=_summary_text(raw),
        content_html=content_html,
        # xml:base, where the feed set one for this content, else the entry's link.
        content_base=content_base if content_base != base else "",
        image=_image(raw, base),
    )


def _image(raw: Any, base: str) -> str:
    """The entry's image: an image enclosure, media:content or media:thumbnail."""
    enclosures = [
        link.get("href")
        for link in raw.get("links") or ()
        if link.get("rel") == "enclosure" and as_text(link.get("type")).startswith("image/")
    ]
    media = [
        item.get("url")
        for item in raw.get("media_content") or ()
        if item.get("medium") == "image" or as_text(item.get("type")).startswith("image/")
    ]
    thumbnails = [item.get("url") for item in raw.get("media_thumbnail") or ()]
    found = (web_url(url, base) for url in (*enclosures, *media, *thumbnails))
    return next((url for url in found if url), "")


def _content_html(raw: Any) -> tuple[str, str]:
    """The longest HTML content (content:encoded, atom:content), else the summary.

    With the base URL feedparser saw in effect for it (xml:base or the document's).
    """
    parts = [c for c in raw.get("content") or () if isinstance(c.get("value"), str)]
    as_html = [c for c in parts if c.get("type") in _HTML_TYPES]
    if as_html:
        best = max(as_html, key=lambda c: len(c["value"]))
        return best["value"], as_text(best.get("base"))
    if parts:
        best = max(parts, key=lambda c: len(c["value"]))
        return text_as_html(best["value"]), ""
    summary = as_text(raw.get("summary"))
    detail = raw.get("summary_detail") or {}
    if detail.get("type") in _HTML_TYPES:
        return summary, as_text(detail.get("base"))
    return text_as_html(summary), ""


def _summary_text(raw: Any) -> str:
    summary = as_text(raw.get("summary"))
    detail = raw.get("summary_detail") or {}
    return html_to_text(summary) if detail.get("type") in _HTML_TYPES else summary


def _author(raw: Any) -> str:
    """The author's name, never an e-mail address."""
    # Read here, not from author_detail: feedparser's address pattern stops at
    # four-letter top-level domains and cuts "wira@kaltara.news (Wira)" wrongly.
    text = " ".join(as_text(raw.get("author")).split())
    for form in _AUTHOR_FORMS:
        match = form.fullmatch(text)
        if match:
            return match["name"].strip()
    detail = raw.get("author_detail") or {}
    return text or as_text(detail.get("name"))


def _tags(raw: Any) -> list[str]:
    # label is Atom's display name; term is all RSS and most Atom feeds give.
    tags = raw.get("tags") or ()
    return [as_text(tag.get("label")) or as_text(tag.get("term")) for tag in tags]


def _date(raw: Any, field: str, now: datetime | None) -> datetime | None:
    # dict.get: FeedParserDict would answer "updated" with "published" (deprecated).
    text = as_text(dict.get(raw, field))
    parsed = dict.get(raw, f"{field}_parsed")
    if parsed is None or _INDONESIAN_ZONE.search(text):
        return parse_date(text, now=now) if text else None
    return _from_struct(parsed)


def _from_struct(value: time.struct_time) -> datetime | None:
    try:
        found = datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    # The same plausible range parse_date keeps to.
    return found if MIN_YEAR <= found.year <= MAX_YEAR else None
