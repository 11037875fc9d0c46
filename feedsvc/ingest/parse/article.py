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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import parse_qs, urlsplit

import htmldate
import lxml.html
import orjson
import trafilatura
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from feedsvc.dates import WITA, is_indonesian_date, parse_local_date
from feedsvc.ingest.parse.document import parse_html
from feedsvc.ingest.parse.entry import Entry, build_entry, lower_keys, plain_text, web_url

log = logging.getLogger(__name__)


def _css(selector: str) -> CSSSelector:
    return CSSSelector(selector, translator="html")


_TITLE = tuple(_css(s) for s in ("h1.entry-title", "h1[itemprop=headline]", ".entry-title", "h1"))
_PUBLISHED = _css("time.published, time.entry-date, [itemprop=datePublished]")
_MODIFIED = _css("time.updated, [itemprop=dateModified]")
_ANY_TIME = _css("time[datetime]")
_CATEGORY_LINKS = _css("a[rel~=category]")
_AUTHOR = tuple(
    _css(s)
    for s in (
        "a[rel~=author]",
        ".author .fn, .vcard .fn",
        "[itemprop=author] [itemprop=name], .author-name, .byline .author",
        ".author, [itemprop=author]",
    )
)
_IMAGE_META = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "image")

# Where a page's own furniture sits: its text is never a date, author or heading of
# the article. Parts are [a-z0-9]+ joined by runs of - or _, never \w+, so a hostile
# class name cannot make the match backtrack for long.
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "nav", "aside", "form"})
_JUNK_ROLES = frozenset({"navigation", "complementary", "banner", "contentinfo", "search"})
_PART = "[a-z0-9]+"
_JUNK_TOKEN = re.compile(
    rf"""(?:{_PART}[-_]+)*
        (?:sidebar|share|sharing|social|related|navigation|recent|latest|popular|terkait
        |breadcrumbs?|comments?|advert[a-z0-9]*|iklan|newsletter|topbar|popup|cookie|yarpp)
        (?:[-_]+{_PART})*
    |(?:widgets?|a2a|baca-juga)(?:[-_]+{_PART})*
    |secondary|sharedaddy|respond|jp-relatedposts|nav-links|site-header|site-footer|masthead
    |colophon""",
    re.IGNORECASE | re.VERBOSE,
)
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

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip
_TEXT_BLOCKS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "td", "pre")
_CATEGORY_LINE = re.compile(r"^(?:categories|category|kategori|rubrik)\s*:\s*(.+)$", re.IGNORECASE)
_CATEGORY_SPLIT = re.compile(r"\s*[,|•]\s*")
_AGE_WORD = re.compile(r"\b(?:lalu|ago)\b", re.IGNORECASE)
MAX_DATE_LINE = 120
MAX_AGE_LINE = 60
MAX_AUTHOR_LENGTH = 80
_AUTHOR_PREFIX = re.compile(
    r"^(?:by|oleh|penulis|reporter|ditulis oleh|posted by)\s*:?\s+", re.IGNORECASE
)
_ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "BlogPosting", "ReportageNews", "AnalysisNewsArticle",
    "OpinionNewsArticle", "Report", "LiveBlogPosting",
})  # fmt: skip
_LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage"})
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original")
MIN_BODY_WORDS = 10
LEAD_LENGTH = 600  # enough text for a 280-character summary
ANCHOR_LENGTH = 60  # how much of a body paragraph finds it again in the page
MIN_IMAGE_SIDE = 50  # pixels: smaller images are icons
HTMLDATE_MIN = "1995-01-01"
_UNSTATED = timezone(timedelta(0), "unstated")  # marks date text that names no zone

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
    root = parse_html(body, lower_keys(headers))
    return read_article(root, url, now=now, zone=zone).entry if root is not None else None


def read_article(
    root: HtmlElement, url: str, *, now: datetime | None = None, zone: tzinfo = WITA
) -> ArticleReading:
    """The article in the parsed page `root` (which this changes)."""
    meta = _head_meta(root)
    ld = _json_ld(root)
    marked = _marked(meta, ld)
    _unlazy_images(root)
    teasers = prune_teasers(root, url)
    body = extract_body(root, url)
    anchor = _find_in_page(root, body) if body is not None else None
    heading = _main_heading(root, anchor)
    title = _title(root, meta, heading)
    if body is None or not title:
        return ArticleReading(None, teasers, marked)
    dateline = _take_dateline(body, title)
    region = _region(anchor, heading)
    lines = _printed_lines(region, body, heading) if region is not None else []
    around = region if region is not None else root
    dates = _Dates(meta, ld, around, root, url, now, zone, [dateline, *lines])
    entry = build_entry(
        base=url,
        guid=_shortlink(root, url),
        link=url,
        title=title,
        categories=_categories(meta, ld, around, lines),
        author=_author(meta, ld, around, lines),
        published=dates.published(),
        updated=dates.modified(),
        summary=_lead(body),
        content_html=_inner_html(body),
        canonical=_canonical(root, meta, url),
        image=_image(meta, ld, body, around, url),
    )
    return ArticleReading(entry, teasers, marked)


def _marked(meta: dict[str, list[str]], ld: list[dict[str, Any]]) -> str:
    if any(is_article_type(obj) for obj in ld):
        return "article"
    if any(_ld_types(obj) & _LISTING_TYPES for obj in ld):
        return "listing"
    if "article" in meta.get("og:type", ()) or meta.get("article:published_time"):
        return "article"
    return ""


# --- the body -------------------------------------------------------------------


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
    return body if len(body.text_content().split()) >= MIN_BODY_WORDS else None


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
        _remove(element)
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
    if len(_norm(element.text_content())) > MAX_TEASER_LENGTH or element.find(".//h1") is not None:
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


def _unlazy_images(root: HtmlElement) -> None:
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
    blocks = {_key(b): b for b in body.iter(*_TEXT_BLOCKS) if _key(b)}
    first, last = _matched_in_page(root, blocks)
    container = _common_ancestor(first, last) if first is not None and last is not None else None
    if container is None:
        return
    waiting: list[HtmlElement] = []
    for element in container.iter("img", *_TEXT_BLOCKS):
        if element.tag == "img":
            if _is_body_image(element, container):
                waiting.append(element)
            continue
        target = blocks.get(_key(element))
        if target is not None and waiting:
            for image in waiting:
                target.addprevious(_figure(image))
            waiting = []


def _matched_in_page(
    root: HtmlElement, blocks: dict[str, HtmlElement]
) -> tuple[HtmlElement | None, HtmlElement | None]:
    matched = [e for e in root.iter(*_TEXT_BLOCKS) if _key(e) in blocks]
    return (matched[0], matched[-1]) if matched else (None, None)


def _key(element: HtmlElement) -> str:
    return _bare(element.text_content())[:ANCHOR_LENGTH]


def _is_body_image(image: HtmlElement, container: HtmlElement) -> bool:
    src = image.get("src") or ""
    if not src or src.startswith("data:") or _in_furniture(image, container):
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
    text = _norm(caption.text_content()) if caption is not None else ""
    if text:
        etree.SubElement(figure, "figcaption").text = text
    return figure


def _cut_teasers(body: HtmlElement) -> None:
    """Remove "Baca juga:" links and "Berita Terkait" lists from the body."""
    for block in list(body.iter(*_TEXT_BLOCKS)):
        if block.getparent() is None:
            continue
        text = " ".join(block.text_content().split())
        if _READ_ALSO.match(text) and len(text) <= MAX_READ_ALSO_LENGTH:
            _remove(block)
        elif block.tag.startswith("h") and _FURNITURE_TITLE.fullmatch(text):
            following = block.getnext()
            _remove(block)
            if following is not None and following.tag in ("ul", "ol"):
                _remove(following)


def _take_dateline(body: HtmlElement, title: str) -> str:
    """What opens the body before its text: the title again, a date line.

    Both are taken out; a date line ("Kamis, 25/9/2025 10:00 WITA", "10 jam lalu")
    is returned.
    """
    first = next((child for child in body if isinstance(child.tag, str)), None)
    leading = (body.text or "").strip()
    is_title = first is not None and first.tag in ("h1", "h2") and not leading
    if first is not None and is_title and _norm(first.text_content()) == _norm(title):
        leading = (first.tail or "").strip()
        _remove(first)
        first = next((child for child in body if isinstance(child.tag, str)), None)
    if leading:
        if _is_dateline(leading):
            body.text = ""
            return leading
        return ""
    if first is None or first.tag != "p":
        return ""
    text = _norm(first.text_content())
    if not _is_dateline(text):
        return ""
    _remove(first)
    return text


def _is_dateline(text: str) -> bool:
    text = _norm(text)
    if _AGE_WORD.search(text):
        return len(text) <= MAX_AGE_LINE and parse_local_date(text) is not None
    # A dateline states a time or a zone; a bare date may be body text.
    return (
        len(text) <= MAX_DATE_LINE
        and bool(re.search(r"\d{1,2}[:.]\d{2}|\b(?:WITA|WIB|WIT)\b", text))
        and parse_local_date(text) is not None
    )


def _inner_html(body: HtmlElement) -> str:
    return (body.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in body
    )


def _lead(body: HtmlElement) -> str:
    """The first paragraphs' text: a summary without image captions in front."""
    parts: list[str] = []
    for paragraph in body.iter("p"):
        parts.append(paragraph.text_content())
        if sum(map(len, parts)) > LEAD_LENGTH:
            break
    return "\n".join(parts)


def _remove(element: HtmlElement) -> None:
    if element.getparent() is not None:
        element.drop_tree()  # keeps the tail text, which belongs to the parent


# --- where the article sits in the page ----------------------------------------


def _is_furniture(element: HtmlElement) -> bool:
    if not isinstance(element.tag, str) or element.tag in ("html", "body"):
        return False
    if element.tag in _SKIPPED_TAGS:
        return True
    if (element.get("role") or "").lower() in _JUNK_ROLES:
        return True
    tokens = f"{element.get('class') or ''} {element.get('id') or ''}".split()
    return any(_JUNK_TOKEN.fullmatch(token) for token in tokens)


def _in_furniture(element: HtmlElement, region: HtmlElement) -> bool:
    """Whether `element` sits in furniture inside `region` (which holds the article)."""
    for e in (element, *element.iterancestors()):
        if e is region:
            return False
        if _is_furniture(e):
            return True
    return False


def _main_heading(root: HtmlElement, anchor: HtmlElement | None) -> HtmlElement | None:
    """The title heading: of the likeliest kind, the one nearest the body's start."""
    for selector in _TITLE:
        found = [e for e in selector(root) if e.text_content().strip()]
        if anchor is not None and found:
            # Layout classes such as "right-sidebar" sit on the article's own
            # wrappers, so nearness to the body says more than class names.
            return max(found, key=lambda e: _depth(_common_ancestor(e, anchor)))
        found = [e for e in found if not _in_furniture(e, root)]
        if found:
            return found[0]
    return None


def _common_ancestor(a: HtmlElement, b: HtmlElement) -> HtmlElement | None:
    around_a = {a, *a.iterancestors()}
    return next((e for e in (b, *b.iterancestors()) if e in around_a), None)


def _depth(element: HtmlElement | None) -> int:
    return -1 if element is None else sum(1 for _ in element.iterancestors())


def _region(anchor: HtmlElement | None, heading: HtmlElement | None) -> HtmlElement | None:
    """The smallest element of the page holding both the title and the body's start."""
    if anchor is None:
        return heading.getparent() if heading is not None else None
    if heading is None:
        parent = anchor.getparent()
        return parent if parent is not None else anchor
    return _common_ancestor(heading, anchor)


def _find_in_page(root: HtmlElement, body: HtmlElement) -> HtmlElement | None:
    """The page's element holding the body's first paragraph."""
    # Compared without spaces: trafilatura drops some around inline elements.
    first = next((_bare(p.text_content()) for p in body.iter("p") if p.text_content().strip()), "")
    key = first[:ANCHOR_LENGTH]
    if not key:
        return None
    for paragraph in root.iter("p", "div", "td", "span"):
        if _bare(paragraph.text_content()).startswith(key):
            return paragraph
    return None


def _bare(text: str) -> str:
    return "".join(text.split())


def _printed_lines(
    region: HtmlElement, body: HtmlElement, heading: HtmlElement | None
) -> list[str]:
    """Text lines of the region outside the body, the title and furniture."""
    chunks: list[str] = []
    walker = etree.iterwalk(region, events=("start", "end"))
    for event, node in walker:
        if not isinstance(node.tag, str):
            continue
        block = node.tag in _BLOCK_TAGS
        if event == "start":
            if node is heading or _is_furniture(node):
                walker.skip_subtree()
                chunks.append("\n")
            else:
                chunks.extend(("\n" if block else "", node.text or ""))
        elif node is not region:
            chunks.extend(("\n" if block else "", node.tail or ""))
    text = _bare(body.text_content())
    lines = (" ".join(line.split()) for line in "".join(chunks).split("\n"))
    return [line for line in lines if line and _bare(line) not in text]


def _norm(text: str) -> str:
    return " ".join(text.split())


# --- page-wide metadata ----------------------------------------------------------


def _head_meta(root: HtmlElement) -> dict[str, list[str]]:
    """<meta> in the head by lower-case property/name; widgets cannot add to it."""
    found: dict[str, list[str]] = {}
    head = root.find("head")
    for tag in head.iter("meta") if head is not None else ():
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").lower()
        value = (tag.get("content") or "").strip()
        if key and value:
            found.setdefault(key.strip(), []).append(value)
    return found


def _json_ld(root: HtmlElement) -> list[dict[str, Any]]:
    """Objects of the page's JSON-LD, article types first."""
    objects: list[dict[str, Any]] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            objects.extend(_ld_objects(script.text or ""))
    return sorted(objects, key=lambda obj: not is_article_type(obj))


def _ld_objects(text: str) -> Iterator[dict[str, Any]]:
    try:
        data = orjson.loads(text.strip())
    except orjson.JSONDecodeError:
        return
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            graph = item.get("@graph")
            yield from (g for g in graph if isinstance(g, dict)) if isinstance(graph, list) else ()
            yield item


def is_article_type(obj: dict[str, Any]) -> bool:
    return bool(_ld_types(obj) & _ARTICLE_TYPES)


def _ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    return {k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)}


def _ld_value(ld: list[dict[str, Any]], key: str) -> Any:
    return next((obj[key] for obj in ld if obj.get(key)), None)


# --- the fields ------------------------------------------------------------------


def _title(root: HtmlElement, meta: dict[str, list[str]], heading: HtmlElement | None) -> str:
    candidates = [
        *meta.get("og:title", ()),
        heading.text_content() if heading is not None else "",
        root.findtext(".//title") or "",
    ]
    title = next((text for text in map(plain_text, candidates) if text), "")
    for site in meta.get("og:site_name", ()):
        for separator in (" - ", " | ", " – ", " — "):
            title = title.removesuffix(separator + plain_text(site))
    return title


def _canonical(root: HtmlElement, meta: dict[str, list[str]], url: str) -> str:
    hrefs = [link.get("href") for link in root.iter("link") if _rel_has(link, "canonical")]
    for href in (*hrefs, *meta.get("og:url", ())):
        found = web_url(href, url)
        # Misconfigured themes point every page at the home page.
        if found and not (_is_home(found) and not _is_home(url)):
            return found
    return url


def _shortlink(root: HtmlElement, url: str) -> str:
    """WordPress's `?p=123` shortlink: the same string its feeds use as the guid."""
    for link in root.iter("link"):
        found = web_url(link.get("href"), url) if _rel_has(link, "shortlink") else ""
        if found and parse_qs(urlsplit(found).query).get("p", [""])[0].isdigit():
            return found
    return ""


def _rel_has(element: HtmlElement, value: str) -> bool:
    return value in (element.get("rel") or "").lower().split()


def _is_home(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def _categories(
    meta: dict[str, list[str]], ld: list[dict[str, Any]], region: HtmlElement, lines: list[str]
) -> list[str]:
    section = _ld_value(ld, "articleSection")
    found = [
        *meta.get("article:section", ()),
        *(section if isinstance(section, list) else [section]),
        *(
            link.text_content()
            for link in _CATEGORY_LINKS(region)
            if not _in_furniture(link, region)
        ),
    ]
    found = [name for name in found if isinstance(name, str) and name.strip()]
    if found:
        return found
    for line in lines:
        match = _CATEGORY_LINE.match(line)
        if match:
            return _CATEGORY_SPLIT.split(match.group(1))
    return []


def _author(
    meta: dict[str, list[str]], ld: list[dict[str, Any]], region: HtmlElement, lines: list[str]
) -> str:
    candidates = [
        *meta.get("author", ()),
        *(
            e.text_content()
            for selector in _AUTHOR
            for e in selector(region)
            if not _in_furniture(e, region)
        ),
        *_ld_names(_ld_value(ld, "author"), ld),
        # A byline printed as text: "Penulis: Yoseph | Editor: Rina", "Oleh Wira".
        *(line for line in lines if _AUTHOR_PREFIX.match(line)),
    ]
    for candidate in candidates:
        name = _AUTHOR_PREFIX.sub("", plain_text(candidate)).split("|")[0].strip()
        if name and len(name) <= MAX_AUTHOR_LENGTH and "://" not in name:
            return name
    return ""


def _ld_names(value: Any, ld: list[dict[str, Any]]) -> Iterator[str]:
    for person in value if isinstance(value, list) else [value]:
        if isinstance(person, str):
            yield person
        elif isinstance(person, dict):
            # Yoast links the author to a Person node elsewhere in the graph.
            node = next((obj for obj in ld if obj.get("@id") == person.get("@id")), person)
            for name in (person.get("name"), node.get("name")):
                if isinstance(name, str):
                    yield name


def _image(
    meta: dict[str, list[str]],
    ld: list[dict[str, Any]],
    body: HtmlElement,
    region: HtmlElement,
    url: str,
) -> str:
    """The featured image: the page's own (og:image, JSON-LD), else the body's first,
    else the first by the title."""
    candidates = [
        *(value for key in _IMAGE_META for value in meta.get(key, ())),
        *_ld_urls(_ld_value(ld, "image")),
        *(image.get("src") for image in body.iter("img")),
        *(image.get("src") for image in region.iter("img") if _is_body_image(image, region)),
    ]
    return next((found for found in (web_url(c, url) for c in candidates) if found), "")


def _ld_urls(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            yield item["url"]


# --- dates -----------------------------------------------------------------------


class _Dates:
    """The page's publication and modification dates, best source first."""

    def __init__(
        self,
        meta: dict[str, list[str]],
        ld: list[dict[str, Any]],
        region: HtmlElement,
        root: HtmlElement,
        url: str,
        now: datetime | None,
        zone: tzinfo,
        lines: list[str],
    ) -> None:
        """`lines` are the page's printed lines around the title, a dateline first."""
        self.meta, self.ld, self.region, self.root, self.url = meta, ld, region, root, url
        self.now, self.lines = now, lines
        stated = [*self._published_data(), *self._modified_data(), *self._local_lines()]
        self.zone = _site_zone(stated, now) or zone

    def _published_data(self) -> list[object]:
        return [
            *self.meta.get("article:published_time", ()),
            *self.meta.get("datepublished", ()),
            *self.meta.get("publishdate", ()),
            _ld_value(self.ld, "datePublished"),
            *_time_values(self._in_region(_PUBLISHED)),
        ]

    def _modified_data(self) -> list[object]:
        return [
            *self.meta.get("article:modified_time", ()),
            *self.meta.get("og:updated_time", ()),
            _ld_value(self.ld, "dateModified"),
            *_time_values(self._in_region(_MODIFIED)),
        ]

    def _in_region(self, selector: CSSSelector) -> Iterator[HtmlElement]:
        return (e for e in selector(self.region) if not _in_furniture(e, self.region))

    def _printed(self) -> list[str]:
        return [
            line
            for line in self.lines
            if line and len(line) <= MAX_DATE_LINE and not _AGE_WORD.search(line)
        ]

    def _local_lines(self) -> list[str]:
        # htmldate knows no Indonesian month or zone names: these go before it.
        return [line for line in self._printed() if is_indonesian_date(line)]

    def published(self) -> datetime | None:
        markup = [*self._published_data(), *_time_values(self._in_region(_ANY_TIME))]
        # A relative age ("10 jam lalu") only when nothing gives the date itself.
        ages = [line for line in self.lines if len(line) <= MAX_AGE_LINE and _AGE_WORD.search(line)]
        return (
            self._first(markup)
            or self._first(self._local_lines())
            or self._htmldate()
            or self._first(ages)
            or self._first(self._printed())
        )

    def modified(self) -> datetime | None:
        return self._first(self._modified_data())

    def _first(self, candidates: Iterable[object]) -> datetime | None:
        for text in candidates:
            if isinstance(text, str):
                found = parse_local_date(text, now=self.now, zone=self.zone)
                if found is not None:
                    return found
        return None

    def _htmldate(self) -> datetime | None:
        """htmldate's reading of the page: a calendar day, midnight on the site's clock.

        Its markup and URL rules first; its search of the page's text only when they
        find nothing, and then not its last resort, January 1st of a copyright year.
        """
        latest = (self.now or datetime.now(self.zone)).astimezone(self.zone) + timedelta(days=1)
        for extensive in (False, True):
            day = self._find_date(extensive, latest.strftime("%Y-%m-%d"))
            if day is not None and not (extensive and (day.month, day.day) == (1, 1)):
                return day
        return None

    def _find_date(self, extensive: bool, latest: str) -> datetime | None:
        try:
            day = htmldate.find_date(
                self.root,
                extensive_search=extensive,
                original_date=True,
                url=self.url,
                min_date=HTMLDATE_MIN,
                max_date=latest,
            )
            return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=self.zone) if day else None
        except (ValueError, TypeError, etree.LxmlError) as exc:
            log.debug("htmldate failed on %s: %s", self.url, exc)
            return None


def _site_zone(candidates: Iterable[object], now: datetime | None) -> tzinfo | None:
    """The zone the page's own dates state ("+07:00", "WIB"), when one states a local one."""
    for text in candidates:
        found = parse_local_date(text, now=now, zone=_UNSTATED) if isinstance(text, str) else None
        # +00:00 is how many sites store times, not their clock.
        if found is not None and found.tzinfo is not _UNSTATED and found.utcoffset():
            return found.tzinfo

    return None


def _time_values(elements: Iterable[HtmlElement]) -> Iterator[str]:
    for element in elements:
        yield element.get("datetime") or element.get("content") or element.text_content()
