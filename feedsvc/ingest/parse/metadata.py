"""What a page says about its article: the head's <meta>, its JSON-LD, and the fields
read from them and from the article's region: title (the site-name suffix stripped),
canonical URL, shortlink, categories, author and featured image.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from lxml.html import HtmlElement

from feedsvc.ingest.parse.body import is_body_image
from feedsvc.ingest.parse.entry import plain_text, web_url
from feedsvc.ingest.parse.layout import css, in_furniture

_CATEGORY_LINKS = css("a[rel~=category]")
_AUTHOR = tuple(
    css(s)
    for s in (
        "a[rel~=author]",
        ".author .fn, .vcard .fn",
        "[itemprop=author] [itemprop=name], .author-name, .byline .author",
        ".author, [itemprop=author]",
    )
)
_IMAGE_META = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "image")

_CATEGORY_LINE = re.compile(r"^(?:categories|category|kategori|rubrik)\s*:\s*(.+)$", re.IGNORECASE)
_CATEGORY_SPLIT = re.compile(r"\s*[,|•]\s*")
MAX_AUTHOR_LENGTH = 80
_AUTHOR_PREFIX = re.compile(
    r"^(?:by|oleh|penulis|reporter|ditulis oleh|posted by)\s*:?\s+", re.IGNORECASE
)
_ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "BlogPosting", "ReportageNews", "AnalysisNewsArticle",
    "OpinionNewsArticle", "Report", "LiveBlogPosting",
})  # fmt: skip
_LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage"})


def marked(meta: dict[str, list[str]], ld: list[dict[str, Any]]) -> str:
    if any(is_article_type(obj) for obj in ld):
        return "article"
    if any(ld_types(obj) & _LISTING_TYPES for obj in ld):
        return "listing"
    if "article" in meta.get("og:type", ()) or meta.get("article:published_time"):
        return "article"
    return ""


def head_meta(root: HtmlElement) -> dict[str, list[str]]:
    """<meta> in the head by lower-case property/name; widgets cannot add to it."""
    found: dict[str, list[str]] = {}
    head = root.find("head")
    for tag in head.iter("meta") if head is not None else ():
        key = (tag.get("property") or tag.get("name") or tag.get("itemprop") or "").lower()
        value = (tag.get("content") or "").strip()
        if key and value:
            found.setdefault(key.strip(), []).append(value)
    return found


def json_ld(root: HtmlElement) -> list[dict[str, Any]]:
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
    return bool(ld_types(obj) & _ARTICLE_TYPES)


def ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    return {k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)}


def ld_value(ld: list[dict[str, Any]], key: str) -> Any:
    return next((obj[key] for obj in ld if obj.get(key)), None)


# --- the fields ------------------------------------------------------------------


def title_of(root: HtmlElement, meta: dict[str, list[str]], heading: HtmlElement | None) -> str:
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


def canonical(root: HtmlElement, meta: dict[str, list[str]], url: str) -> str:
    hrefs = [link.get("href") for link in root.iter("link") if _rel_has(link, "canonical")]
    for href in (*hrefs, *meta.get("og:url", ())):
        found = web_url(href, url)
        # Misconfigured themes point every page at the home page.
        if found and not (_is_home(found) and not _is_home(url)):
            return found
    return url


def shortlink(root: HtmlElement, url: str) -> str:
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


def categories(
    meta: dict[str, list[str]], ld: list[dict[str, Any]], region: HtmlElement, lines: list[str]
) -> list[str]:
    section = ld_value(ld, "articleSection")
    found = [
        *meta.get("article:section", ()),
        *(section if isinstance(section, list) else [section]),
        *(
            link.text_content()
            for link in _CATEGORY_LINKS(region)
            if not in_furniture(link, region)
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


def author(
    meta: dict[str, list[str]], ld: list[dict[str, Any]], region: HtmlElement, lines: list[str]
) -> str:
    candidates = [
        *meta.get("author", ()),
        *(
            e.text_content()
            for selector in _AUTHOR
            for e in selector(region)
            if not in_furniture(e, region)
        ),
        *_ld_names(ld_value(ld, "author"), ld),
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


def image(
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
        *_ld_urls(ld_value(ld, "image")),
        *(image.get("src") for image in body.iter("img")),
        *(image.get("src") for image in region.iter("img") if is_body_image(image, region)),
    ]
    return next((found for found in (web_url(c, url) for c in candidates) if found), "")


def _ld_urls(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            yield item["url"]
