"""One article page -> Entry: title, links, dates, categories, author and the body.

Page-wide metadata (`<meta>` in the head, JSON-LD) is read first. Then navigation,
sidebars, widgets ("Recent Posts", "Berita Terkini", "Baca Juga"), share buttons,
comments and related posts are cut from the tree, so nothing in them can pass for
the article's body, date, category or author. What is printed around the body
(the "Categories: KALTARA" line, a date line, "10 jam lalu") is read from the
article's own region: the smallest element holding both the title and the body.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import orjson
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from feedsvc.dates import parse_date
from feedsvc.ingest.parse.document import parse_html
from feedsvc.ingest.parse.entry import Entry, build_entry, lower_keys, plain_text, web_url
from feedsvc.ingest.sanitize import html_to_text


def _css(selector: str) -> CSSSelector:
    return CSSSelector(selector, translator="html")


# Where themes put the post body, most specific first.
_CONTENT = tuple(
    _css(s)
    for s in (
        ".entry-content",
        "article .post-content",
        "[itemprop=articleBody]",
        ".post-content",
        ".td-post-content",
        ".article-content",
        ".elementor-widget-theme-post-content",
        "article",
    )
)
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
# Printed metadata, never body text, wherever a theme puts it.
_META_BLOCKS = _css(
    "header, footer, .entry-header, .entry-meta, .entry-footer, .post-meta, .byline, "
    ".posted-on, .cat-links, .tags-links, .post-tags, .author-box, .post-author"
)

_DROPPED_TAGS = ("script", "style", "noscript", "template", "nav", "aside", "button")
_JUNK_ROLES = frozenset({"navigation", "complementary", "banner", "contentinfo", "search"})
# Whole class or id tokens naming page furniture. Parts are [a-z0-9]+ joined by runs of
# - or _, never \w+, so a hostile class name cannot make the match backtrack for long.
_PART = "[a-z0-9]+"
_JUNK_TOKEN = re.compile(
    rf"""(?:{_PART}[-_]+)*
        (?:sidebar|share|sharing|social|related|navigation|recent|latest|popular|terkait
        |breadcrumbs?|comments?|advert[a-z0-9]*|iklan|newsletter|topbar|ads?|popup|cookie
        |yarpp|addtoany)
        (?:[-_]+{_PART})*
    |(?:widgets?|a2a|baca-juga)(?:[-_]+{_PART})*
    |secondary|sharedaddy|adsbygoogle|respond|jp-relatedposts|nav-links|nav-previous|nav-next
    |site-header|site-footer|masthead|colophon|modal|screen-reader-text|skip-link""",
    re.IGNORECASE | re.VERBOSE,
)
# Headings of blocks that list other posts or ask to share/comment.
_FURNITURE_TITLE = re.compile(
    r"""(?:recent\ posts?|latest\ posts?|berita\ (?:terkini|terbaru|terkait|populer|lainnya|pilihan)
    |artikel\ (?:terkait|lainnya)|related\ (?:posts?|articles?|news)|terpopuler|paling\ populer
    |most\ popular|popular\ posts?|baca\ juga|lihat\ juga|simak\ juga|you\ may\ also\ like
    |bagikan(?:\ ini)?|share(?:\ this)?|tinggalkan\ (?:balasan|komentar)|leave\ a\ (?:reply|comment)
    )\s*:?""",
    re.IGNORECASE | re.VERBOSE,
)
_READ_ALSO = re.compile(r"(?:baca|lihat|simak)(?:\s+juga)?\s*:", re.IGNORECASE)
MAX_READ_ALSO_LENGTH = 300

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip
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
    "OpinionNewsArticle", "Report",
})  # fmt: skip
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original")
LEAD_LENGTH = 600  # enough text for a 280-character summary


def parse_article_page(
    body: bytes, headers: Mapping[str, str], url: str, *, now: datetime | None = None
) -> Entry | None:
    """The article on the page at `url`, or None when it has no title or no body text."""
    root = parse_html(body, lower_keys(headers))
    if root is None:
        return None
    meta = _head_meta(root)
    ld = _json_ld(root)
    content = _strip_furniture(root)
    heading = _first(root, _TITLE)
    title = _title(root, meta, heading)
    if content is None or not title:
        return None
    region = _region(content, heading)
    lines = _printed_lines(region, content, heading)
    _tidy_body(content, heading)
    canonical = _canonical(root, meta, url)
    entry = build_entry(
        base=url,
        guid=_shortlink(root, url),
        link=url,
        title=title,
        categories=_categories(meta, ld, region, lines),
        author=_author(meta, ld, region),
        published=_published(meta, ld, root, region, lines, now),
        updated=_modified(meta, ld, root, now),
        summary=_lead(content),
        content_html=lxml.html.tostring(content, encoding="unicode", with_tail=False),
        canonical=canonical,
    )
    if entry is None or not html_to_text(entry.content):
        return None
    return entry


# --- reading the page before it is cut down ---


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
    return sorted(objects, key=lambda obj: not _is_article(obj))


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


def _is_article(obj: dict[str, Any]) -> bool:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k in _ARTICLE_TYPES for k in kinds)


def _ld_value(ld: list[dict[str, Any]], key: str) -> Any:
    return next((obj[key] for obj in ld if obj.get(key)), None)


# --- cutting the page down to the article ---


def _strip_furniture(root: HtmlElement) -> HtmlElement | None:
    """Remove everything that is not the article; return the body element."""
    for element in list(root.iter(*_DROPPED_TAGS)):
        _remove(element)
    content = _best_match(root, _CONTENT)
    if content is None:
        content = _largest_text_block(root)
    if content is None:
        return None
    # Layout classes such as "right-sidebar" sit on the article's own wrappers.
    keep = {content, *content.iterancestors()}
    for element in [e for e in root.iter() if e not in keep and _is_furniture(e)]:
        _remove(element)
    _remove_listing_blocks(root, keep)
    return content


def _best_match(root: HtmlElement, selectors: Iterable[CSSSelector]) -> HtmlElement | None:
    # A listing or a related-posts box may repeat a selector: the longest text wins.
    for selector in selectors:
        matches = [(len(m.text_content().strip()), m) for m in selector(root)]
        if matches:
            length, best = max(matches, key=lambda pair: pair[0])
            if length:
                return best
    return None


def _is_furniture(element: HtmlElement) -> bool:
    if not isinstance(element.tag, str) or element.tag in ("html", "body"):
        return False
    if (element.get("role") or "").lower() in _JUNK_ROLES:
        return True
    tokens = f"{element.get('class') or ''} {element.get('id') or ''}".split()
    return any(_JUNK_TOKEN.fullmatch(token) for token in tokens)


def _remove_listing_blocks(root: HtmlElement, keep: Collection[HtmlElement]) -> None:
    """Blocks without telling classes, found by their heading ("Recent Posts", "Baca Juga:")."""
    for node in root.xpath("//text()"):
        text = " ".join(node.split())
        is_title = bool(_FURNITURE_TITLE.fullmatch(text))
        if not (is_title or _READ_ALSO.match(text)):
            continue
        holder = node.getparent()
        block = _block_of(holder.getparent() if node.is_tail else holder)
        if block is None or block in keep:
            continue
        block_text = " ".join(block.text_content().split())
        if is_title and block_text == text:
            _remove_titled_block(block, keep)
        elif _READ_ALSO.match(block_text) and len(block_text) <= MAX_READ_ALSO_LENGTH:
            _remove(block)


def _remove_titled_block(heading: HtmlElement, keep: Collection[HtmlElement]) -> None:
    # The heading's box goes, unless that box also holds the article; then the
    # heading and the list after it.
    box = heading.getparent()
    if box is not None and box not in keep and box.tag not in ("html", "body"):
        _remove(box)
        return
    following = heading.getnext()
    _remove(heading)
    if following is not None and following.tag in ("ul", "ol", "div", "section"):
        _remove(following)


def _block_of(element: HtmlElement | None) -> HtmlElement | None:
    while element is not None and element.tag not in _BLOCK_TAGS:
        element = element.getparent()
    return element


def _largest_text_block(root: HtmlElement) -> HtmlElement | None:
    """The element whose own paragraphs hold the most text (pages without known markup)."""
    scores: dict[HtmlElement, int] = {}
    for paragraph in root.iter("p"):
        parent = paragraph.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + len(paragraph.text_content().strip())
    if scores:
        return max(scores, key=lambda element: scores[element])
    return root.find("body")


def _tidy_body(content: HtmlElement, heading: HtmlElement | None) -> None:
    for block in _META_BLOCKS(content):
        _remove(block)
    if heading is not None and any(e is content for e in heading.iterancestors()):
        _remove(heading)
    for image in content.iter("img"):
        # Lazy-loading themes keep the real image in a data- attribute.
        real = next((image.get(name) for name in _LAZY_SRC if image.get(name)), None)
        if real and (not image.get("src") or image.get("src", "").startswith("data:")):
            image.set("src", real)


def _lead(content: HtmlElement) -> str:
    """The first paragraphs' text: a summary without image captions in front."""
    parts: list[str] = []
    for paragraph in content.iter("p"):
        parts.append(paragraph.text_content())
        if sum(map(len, parts)) > LEAD_LENGTH:
            break
    return "\n".join(parts)


def _remove(element: HtmlElement) -> None:
    if element.getparent() is not None:
        element.drop_tree()  # keeps the tail text, which belongs to the parent


# --- what is printed around the body ---


def _region(content: HtmlElement, heading: HtmlElement | None) -> HtmlElement:
    """The smallest element holding both the title and the body."""
    if heading is None:
        parent = content.getparent()
        return parent if parent is not None else content
    around_heading = {heading, *heading.iterancestors()}
    for element in (content, *content.iterancestors()):
        if element in around_heading:
            return element
    return content


def _printed_lines(
    region: HtmlElement, content: HtmlElement, heading: HtmlElement | None
) -> list[str]:
    """Text lines of the region outside the body and the title (dates, category lines)."""
    title = [heading] if heading is not None else []
    lines = _lines(region, [content, *title])
    for block in _META_BLOCKS(content):
        lines.extend(_lines(block, title))
    return lines


def _lines(element: HtmlElement, skip: list[HtmlElement]) -> list[str]:
    chunks: list[str] = []
    walker = etree.iterwalk(element, events=("start", "end"))
    for event, node in walker:
        if not isinstance(node.tag, str):
            continue
        block = node.tag in _BLOCK_TAGS
        if event == "start":
            if any(node is s for s in skip):
                walker.skip_subtree()
                chunks.append("\n")
            else:
                chunks.extend(("\n" if block else "", node.text or ""))
        elif node is not element:
            chunks.extend(("\n" if block else "", node.tail or ""))
    return [" ".join(line.split()) for line in "".join(chunks).split("\n") if line.strip()]


# --- the fields ---


def _first(root: HtmlElement, selectors: Iterable[CSSSelector]) -> HtmlElement | None:
    for selector in selectors:
        for element in selector(root):
            if element.text_content().strip():
                return element
    return None


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
        *(link.text_content() for link in _CATEGORY_LINKS(region)),
    ]
    found = [name for name in found if isinstance(name, str) and name.strip()]
    if found:
        return found
    for line in lines:
        match = _CATEGORY_LINE.match(line)
        if match:
            return _CATEGORY_SPLIT.split(match.group(1))
    return []


def _author(meta: dict[str, list[str]], ld: list[dict[str, Any]], region: HtmlElement) -> str:
    candidates = [
        *meta.get("author", ()),
        *(e.text_content() for selector in _AUTHOR for e in selector(region)),
        *_ld_names(_ld_value(ld, "author"), ld),
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


def _published(
    meta: dict[str, list[str]],
    ld: list[dict[str, Any]],
    root: HtmlElement,
    region: HtmlElement,
    lines: list[str],
    now: datetime | None,
) -> datetime | None:
    candidates = [
        *meta.get("article:published_time", ()),
        *meta.get("datepublished", ()),
        _ld_value(ld, "datePublished"),
        *_time_values(_PUBLISHED(root)),
        *_time_values(_ANY_TIME(region)),
        *(line for line in lines if len(line) <= MAX_DATE_LINE and not _AGE_WORD.search(line)),
        # A relative age ("10 jam lalu") only when nothing gives the date itself.
        *(line for line in lines if len(line) <= MAX_AGE_LINE and _AGE_WORD.search(line)),
    ]
    return _first_date(candidates, now)


def _modified(
    meta: dict[str, list[str]], ld: list[dict[str, Any]], root: HtmlElement, now: datetime | None
) -> datetime | None:
    candidates = [
        *meta.get("article:modified_time", ()),
        *meta.get("og:updated_time", ()),
        _ld_value(ld, "dateModified"),
        *_time_values(_MODIFIED(root)),
    ]
    return _first_date(candidates, now)


def _time_values(elements: Iterable[HtmlElement]) -> Iterator[str]:
    for element in elements:
        yield element.get("datetime") or element.get("content") or element.text_content()


def _first_date(candidates: Iterable[object], now: datetime | None) -> datetime | None:
    for text in candidates:
        found = parse_date(text, now=now) if isinstance(text, str) else None
        if found is not None:
            return found
    return None
