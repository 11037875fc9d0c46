"""OPML 1.0/2.0 subscription lists: bytes to outlines and back, and outlines to sources.

Reading never touches the network and expands no external entities; `include`
outlines are not followed. Only outlines with an `xmlUrl` are feeds; the outlines
around them are folders, whose text becomes the feeds' category on import.

Attributes feedsvc needs to round-trip a source (its name, kind, interval, link
selector) go in their own namespace, as OPML 2.0 asks for extensions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from feedsvc.config import SOURCE_KINDS, SOURCE_NAME
from feedsvc.ingest.sources import SourceError, check_source
from feedsvc.models import Source, identity_key, slugify
from feedsvc.urls import http_url

FEEDSVC_NS = "urn:feedsvc:opml"
DOCS = "http://opml.org/spec2.opml"
MAX_NAME = 60  # leaves room for a "-NN" suffix within the 64 a source name may have
_NON_NAME = re.compile(r"[^a-z0-9]+")


class OpmlError(ValueError):
    """The bytes are not a usable OPML document; the message is one line for the user."""


@dataclass(frozen=True)
class Outline:
    """One feed outline. `folders` are the texts of the outlines around it, outermost first."""

    text: str
    xml_url: str = ""
    html_url: str = ""
    title: str = ""
    type: str = "rss"
    category: str = ""  # OPML 2.0: comma-separated, slash-delimited paths ("/News/Kaltara")
    folders: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)  # feedsvc-namespace attributes
    line: int = 0  # where it is in the file, for messages


@dataclass(frozen=True)
class OpmlDocument:
    title: str
    feeds: list[Outline]  # every outline with an xmlUrl, in document order
    ignored: int = 0  # outlines that are neither feeds nor folders (links, includes)


# --- reading -------------------------------------------------------------------------


def read_opml(data: bytes) -> OpmlDocument:
    """Parse an OPML file; raises OpmlError when it is not one."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_pis=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not well-formed XML: {_first_line(exc)}") from None
    if root is None or _local(root.tag) != "opml":
        found = _local(root.tag) if root is not None else "nothing"
        raise OpmlError(f"not an OPML file: the document is <{found}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("not an OPML file: it has no <body>")
    feeds, ignored = [], 0
    for element in body.iter("outline"):
        attrs = _attributes(element)
        if "xmlurl" in attrs:
            feeds.append(_outline(element, attrs))
        elif not len(element.findall("outline")):
            ignored += 1
    return OpmlDocument(title=_head_title(root), feeds=feeds, ignored=ignored)


def _outline(element: etree._Element, attrs: dict[str, str]) -> Outline:
    return Outline(
        text=attrs.get("text", ""),
        title=attrs.get("title", ""),
        xml_url=attrs["xmlurl"].strip(),
        html_url=attrs.get("htmlurl", "").strip(),
        type=attrs.get("type", ""),
        category=attrs.get("category", ""),
        folders=tuple(_folder_name(a) for a in reversed(list(element.iterancestors("outline")))),
        extra={
            etree.QName(k).localname: v
            for k, v in element.attrib.items()
            if k.startswith(f"{{{FEEDSVC_NS}}}")
        },
        line=element.sourceline or 0,
    )


def _attributes(element: etree._Element) -> dict[str, str]:
    # Writers disagree on case (xmlUrl, xmlurl, XMLURL); OPML attributes are few.
    return {k.lower(): v for k, v in element.attrib.items() if not k.startswith("{")}


def _folder_name(element: etree._Element) -> str:
    attrs = _attributes(element)
    return (attrs.get("text") or attrs.get("title") or "").strip()


def _head_title(root: etree._Element) -> str:
    title = root.find("head/title")
    return (title.text or "").strip() if title is not None else ""


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else str(tag)


def _first_line(exc: etree.XMLSyntaxError) -> str:
    # `msg` has the line and column without lxml's "(<string>, line N)" suffix.
    text = getattr(exc, "msg", "") or str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


# --- writing -------------------------------------------------------------------------


def write_opml(
    outlines: Iterable[Outline], *, title: str, modified: datetime | None = None
) -> bytes:
    """OPML 2.0 with one flat outline per feed.

    `modified` (aware) becomes dateCreated/dateModified; pass the data's own time,
    not the clock's, when the bytes should only change with the data.
    """
    outlines = list(outlines)
    extended = any(o.extra for o in outlines)
    root = etree.Element("opml", version="2.0", nsmap={"feedsvc": FEEDSVC_NS} if extended else None)
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    if modified is not None:
        stamp = format_datetime(modified.replace(microsecond=0))
        etree.SubElement(head, "dateCreated").text = stamp
        etree.SubElement(head, "dateModified").text = stamp
    etree.SubElement(head, "docs").text = DOCS
    body = etree.SubElement(root, "body")
    for outline in outlines:
        _write_outline(body, outline)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _write_outline(body: etree._Element, outline: Outline) -> None:
    element = etree.SubElement(body, "outline", text=outline.text or outline.title)
    plain = {
        "title": outline.title,
        "type": outline.type,
        "xmlUrl": outline.xml_url,
        "htmlUrl": outline.html_url,
        "category": outline.category,
    }
    for name, value in plain.items():
        if value:
            element.set(name, value)
    for name, value in outline.extra.items():
        element.set(f"{{{FEEDSVC_NS}}}{name}", value)


# --- sources <-> outlines ---------------------------------------------------------------


def source_outline(source: Source) -> Outline:
    """How a source is exported; `plan_import` turns it back into the same source."""
    extra = {"name": source.name, "kind": source.kind, "interval": f"{source.interval:g}"}
    if source.link_selector:
        extra["linkSelector"] = source.link_selector
    if source.full_content:
        extra["fullContent"] = "true"
    return Outline(
        text=source.name,
        title=source.name,
        type="rss",
        xml_url=source.url,
        html_url=source.url if source.kind == "html" else "",  # the listing page is a web page
        category=f"/{source.category}" if source.category else "",
        extra=extra,
    )


@dataclass(frozen=True)
class Rejected:
    outline: Outline
    why: str


@dataclass
class ImportPlan:
    add: list[Source] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)  # already there
    invalid: list[Rejected] = field(default_factory=list)  # unusable outlines


def plan_import(
    feeds: Iterable[Outline],
    existing: Iterable[Source],
    *,
    default_interval: float,
    category: str = "",
    interval: float | None = None,
) -> ImportPlan:
    """Which outlines become which sources. Pure: the caller adds them.

    `category` and `interval`, when given, override what the file says. A feed
    whose URL is already a source (or earlier in the file) is skipped; names are
    made unique against existing sources and each other.
    """
    existing = list(existing)
    taken = {s.name for s in existing}
    by_url = {identity_key(s.url): f"already a source: {s.name}" for s in existing}
    plan = ImportPlan()
    for outline in feeds:
        url = feed_url(outline.xml_url)
        known = by_url.get(identity_key(url))
        if known:
            plan.skipped.append(Rejected(outline, known))
            continue
        try:
            every = interval or _interval(outline.extra.get("interval"), default_interval)
            source = _source(outline, url, taken, category, every)
        except SourceError as exc:
            plan.invalid.append(Rejected(outline, str(exc)))
            continue
        taken.add(source.name)
        by_url[identity_key(url)] = f"repeats line {outline.line} ({source.name})"
        plan.add.append(source)
    return plan


def _source(outline: Outline, url: str, taken: set[str], category: str, interval: float) -> Source:
    if not url:
        raise SourceError("the outline's xmlUrl is empty")
    extra = outline.extra
    kind = extra.get("kind", "feed")
    if kind not in SOURCE_KINDS:
        kind = "feed"
    source = Source(
        name=_unique(_wanted_name(outline, url), taken),
        url=url,
        kind=kind,
        category=category or _category(outline),
        interval=interval,
        link_selector=extra.get("linkSelector", "") if kind == "html" else "",
        origin="added",
        full_content=kind == "feed" and extra.get("fullContent") == "true",
    )
    check_source(source, prefix="")  # the outline is named where the reason is shown
    return source


def feed_url(url: str) -> str:
    """`feed://host/x` and `feed:https://host/x`, as some readers export them, as http(s)."""
    url = url.strip()
    if url.lower().startswith("feed:"):
        rest = url[5:]
        return rest if http_url(rest) else "http:" + rest
    return url


def _wanted_name(outline: Outline, url: str) -> str:
    given = outline.extra.get("name", "")
    if SOURCE_NAME.match(given):
        return given
    for text in (outline.title, outline.text, urlsplit(url).hostname or ""):
        name = source_name(text)
        if name:
            return name
    return "feed"


def source_name(text: str) -> str:
    """A source name from a title: "Jurnal Kaltara – Berita" -> "jurnal-kaltara-berita"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_NAME.sub("-", ascii_text.lower()).strip("-")[:MAX_NAME].strip("-")


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name[:MAX_NAME]}-{n}", n + 1
    return candidate


def _category(outline: Outline) -> str:
    """The innermost usable folder, else the last part of the first category path."""
    paths = [p.strip().rstrip("/") for p in outline.category.split(",")]
    from_attr = [p.rsplit("/", 1)[-1].strip() for p in paths if p]
    for name in (*reversed(outline.folders), *from_attr[:1]):
        if _usable_category(name):
            return name
    return ""


def _usable_category(name: str) -> bool:
    try:
        slugify(name)
    except ValueError:
        return False
    return True


def _interval(text: str | None, default: float) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if 0 < value < float("inf") else default
