"""The article's body: trafilatura's main text as HTML, with the page's images put back.

trafilatura extracts the main text (paragraphs, headings, lists, tables, quotes and
links) as HTML; the sanitiser cleans it later like every other piece of upstream HTML
(`build_entry`). Before it runs, other posts' teasers and boxes of related posts are
taken off the page; after, the images of the page's body go back between the
paragraphs with their captions, and "Baca juga:" teasers are cut.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import lxml.html
import trafilatura
from lxml import etree
from lxml.html import HtmlElement

from feedsvc.ingest.parse.entry import web_url
from feedsvc.ingest.parse.layout import (
    ANCHOR_LENGTH,
    bare_start,
    common_ancestor,
    count_words,
    in_furniture,
    norm,
    norm_start,
    remove,
)

log = logging.getLogger("feedsvc.ingest.parse.article")  # the logger name operators know

_PART = "[a-z0-9]+"
_BOXED_FURNITURE = re.compile(
    rf"""(?:{_PART}[-_]+)*
        (?:related|terkait|baca-?juga|bacajuga|popular|populer|terpopuler|lainnya|comments?
        |komentar|share|sharing|bagikan|iklan|newsletter)
        (?:[-_]+{_PART})*""",
    re.IGNORECASE | re.VERBOSE,
)
MAX_TEASER_LENGTH = 600
# Headings of blocks inside a body that list other posts, and "Baca juga:" teasers.
_FURNITURE_TITLE = re.compile(
    r"""(?:berita\ (?:terkait|terkini|terbaru|lainnya|pilihan)|artikel\ (?:terkait|lainnya)
    |related\ (?:posts?|articles?|news)|baca\ juga|lihat\ juga|simak\ juga
    |bagikan(?:\ ini)?|share(?:\ this)?)\s*:?""",
    re.IGNORECASE | re.VERBOSE,
)
_READ_ALSO = re.compile(r"(?:baca|lihat|simak)(?:\s+juga)?\s*:", re.IGNORECASE)
MAX_READ_ALSO_LENGTH = 300

TEXT_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "pre")
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original")
MIN_BODY_WORDS = 10
LEAD_LENGTH = 600  # enough text for a 280-character summary
MIN_IMAGE_SIDE = 50  # pixels: smaller images are icons

# trafilatura, as the benchmark in docs/BENCHMARKS.md runs it: tables, formatting and
# links kept, comments not, fallback extractors on when the main one finds little.
_EXTRACT_OPTIONS: dict[str, Any] = {
    "output_format": "html",
    "include_comments": False,
    "include_tables": True,
    "include_images": False,  # with them it takes in captions and credits: images go back below
    "include_links": True,
    "include_formatting": True,
    "deduplicate": False,
}


def extract_body(root: HtmlElement, url: str) -> HtmlElement | None:
    """The page's main text as an HTML <body> element, or None when it has none."""
    try:
        html = trafilatura.extract(root, url=url, **_EXTRACT_OPTIONS)
    except (ValueError, TypeError, etree.LxmlError) as exc:  # hostile markup
        log.debug("trafilatura failed on %s: %s", url, exc)
        return None
    if not html:
        return None
    body = lxml.html.document_fromstring(html).find("body")
    if body is None:
        return None
    _put_back_images(body, root)
    _cut_teasers(body)
    # Less than a sentence is what fallback extraction finds on a page with no text.
    return body if count_words(body.text_content()) >= MIN_BODY_WORDS else None


def prune_teasers(root: HtmlElement, url: str) -> int:
    """Remove other posts' teasers and boxes of related posts; how many teasers went.

    trafilatura takes `<article>` elements for the article, so related posts marked
    up as articles would pass for the body when the body itself is not in one; a
    related-posts box inside the body makes it stop reading there; and the class
    names of Indonesian themes ("berita-terkait", "baca-juga") are not among those
    it knows. Nothing holding the page's main heading or its main text goes.
    """
    keep = _main_text_path(root)
    teasers = [a for a in root.iter("article") if a not in keep and _is_teaser(a, url)]
    furniture = [e for e in root.iter() if e not in keep and _is_boxed_furniture(e)]
    for element in (*teasers, *furniture):
        remove(element)
    return len(teasers)


def _main_text_path(root: HtmlElement) -> set[HtmlElement]:
    """The element whose own paragraphs hold the most text, and its ancestors."""
    scores: dict[HtmlElement, int] = {}
    for paragraph in root.iter("p"):
        parent = paragraph.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + len(paragraph.text_content().strip())
    if not scores:
        return set()
    best = max(scores, key=lambda element: scores[element])
    return {best, *best.iterancestors()}


def _is_teaser(element: HtmlElement, url: str) -> bool:
    """A short block whose heading links to another page: another post's teaser."""
    if len(norm(element.text_content())) > MAX_TEASER_LENGTH or element.find(".//h1") is not None:
        return False
    for heading in element.iter("h2", "h3", "h4", "h5"):
        link = heading.find(".//a[@href]")
        if link is not None and web_url(link.get("href"), url).rstrip("/") != url.rstrip("/"):
            return True
    return False


def _is_boxed_furniture(element: HtmlElement) -> bool:
    if not isinstance(element.tag, str) or element.tag in ("html", "body"):
        return False
    tokens = f"{element.get('class') or ''} {element.get('id') or ''}".split()
    if not any(_BOXED_FURNITURE.fullmatch(token) for token in tokens):
        return False
    # A wrapper holding the title is layout, whatever its class says.
    return element.find(".//h1") is None


def unlazy_images(root: HtmlElement) -> None:
    # Lazy-loading themes keep the real image in a data- attribute.
    for image in root.iter("img"):
        real = next((image.get(name) for name in _LAZY_SRC if image.get(name)), None)
        if real and (not image.get("src") or image.get("src", "").startswith("data:")):
            image.set("src", real)


def _put_back_images(body: HtmlElement, root: HtmlElement) -> None:
    """Put the page's images (with their captions) back between the body's paragraphs.

    trafilatura's own image handling takes in captions, credits and duplicates, and
    changes what text it picks; so the text comes without images, and each image of
    the page's body container goes back before the paragraph it stands before there.
    """
    if root.find(".//img") is None:
        return
    blocks = {key: b for b in body.iter(*TEXT_BLOCKS) if (key := _key(b))}
    first, last = _matched_in_page(root, blocks)
    container = common_ancestor(first, last) if first is not None and last is not None else None
    if container is None:
        return
    waiting: list[HtmlElement] = []
    for element in container.iter("img", *TEXT_BLOCKS):
        if element.tag == "img":
            if is_body_image(element, container):
                waiting.append(element)
            continue
        if not waiting:
            continue  # a block's key is only needed after an image
        target = blocks.get(_key(element))
        if target is not None:
            for image in waiting:
                target.addprevious(_figure(image))
            waiting = []


def _matched_in_page(
    root: HtmlElement, blocks: dict[str, HtmlElement]
) -> tuple[HtmlElement | None, HtmlElement | None]:
    # From each end, reading no more keys than it takes.
    candidates = list(root.iter(*TEXT_BLOCKS))
    first = next((e for e in candidates if _key(e) in blocks), None)
    last = next((e for e in reversed(candidates) if _key(e) in blocks), None)
    return first, last


def _key(element: HtmlElement) -> str:
    return bare_start(element, ANCHOR_LENGTH)


def is_body_image(image: HtmlElement, container: HtmlElement) -> bool:
    src = image.get("src") or ""
    if not src or src.startswith("data:") or in_furniture(image, container):
        return False
    # Icons, avatars and tracking pixels state a small size.
    sizes = [image.get("width", ""), image.get("height", "")]
    return not any(size.isdigit() and int(size) < MIN_IMAGE_SIDE for size in sizes)


def _figure(image: HtmlElement) -> HtmlElement:
    figure = etree.Element("figure")
    copy = etree.SubElement(figure, "img", src=image.get("src", ""))
    if image.get("alt"):
        copy.set("alt", image.get("alt", ""))
    holder = next((e for e in image.iterancestors() if e.tag == "figure"), None)
    caption = holder.find(".//figcaption") if holder is not None else None
    text = norm(caption.text_content()) if caption is not None else ""
    if text:
        etree.SubElement(figure, "figcaption").text = text
    return figure


def _cut_teasers(body: HtmlElement) -> None:
    """Remove "Baca juga:" links and "Berita Terkait" lists from the body."""
    for block in list(body.iter(*TEXT_BLOCKS)):
        if block.getparent() is None:
            continue
        text = norm_start(block, MAX_READ_ALSO_LENGTH)
        if _READ_ALSO.match(text) and len(text) <= MAX_READ_ALSO_LENGTH:
            remove(block)
        elif block.tag.startswith("h") and _FURNITURE_TITLE.fullmatch(text):
            following = block.getnext()
            remove(block)
            if following is not None and following.tag in ("ul", "ol"):
                remove(following)


def inner_html(body: HtmlElement) -> str:
    return (body.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in body
    )


def lead(body: HtmlElement) -> str:
    """The first paragraphs' text: a summary without image captions in front."""
    parts: list[str] = []
    for paragraph in body.iter("p"):
        parts.append(paragraph.text_content())
        if sum(map(len, parts)) > LEAD_LENGTH:
            break
    return "\n".join(parts)
