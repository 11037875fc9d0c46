"""Clean upstream HTML before it is stored and republished; plain text and summaries.

Every piece of HTML a source gives us passes through ``clean_html``: what comes out
is safe to show in a browser or a feed reader and valid to embed in an XML feed.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Callable
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import nh3

# Ordinary article markup. Everything else is unwrapped: the tag goes, its text stays.
ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "div", "span", "a",
    "strong", "b", "em", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup",
    "abbr", "cite", "q", "time", "code", "pre", "kbd", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "dl", "dt", "dd",
    "figure", "figcaption", "img",
    "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
})  # fmt: skip

# Tags dropped together with their content: code, embedded documents, and widgets
# whose text means nothing without them. noscript is here because its content
# would otherwise come out as escaped markup text.
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "template", "noscript", "noembed", "noframes", "xmp",
    "iframe", "frame", "frameset", "object", "embed", "applet",
    "svg", "math", "form", "button", "select", "textarea",
})  # fmt: skip

# No style, class, id or event handler anywhere; srcset is dropped rather than
# rewritten, src alone is enough for a feed reader.
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "time": {"datetime"},
    "ol": {"start", "reversed"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "col": {"span"},
    "colgroup": {"span"},
}

URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src"})
LINK_REL = "noopener noreferrer nofollow"

# Characters no URL may hold raw (spaces are common in WordPress image names);
# non-ASCII stays, feeds carry IRIs.
_URL_UNSAFE = re.compile(r'[\x00-\x20<>"`{}|\\^\x7f]')

# An image whose src was unsafe (often a lazy-loading data: placeholder) shows nothing.
# nh3 writes every kept attribute as name="value" with quotes escaped, so this is exact.
_IMG_WITHOUT_SRC = re.compile(r'<img(?:\s+(?!src=)[a-z-]+="[^"]*")*\s*/?>')

# XML 1.0 allows tab, newline and carriage return among the C0 controls, and no
# U+FFFE, U+FFFF or surrogates; lone surrogates would also make nh3 raise.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Bidi embeddings, overrides, isolates and marks, and zero-width characters: invisible
# in a title or a name, yet able to reorder or hide what a reader sees.
_INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

# What a reader that unescapes text once more would take for a tag.
_TAG_LIKE = re.compile(r"<[A-Za-z/!?]")
UNESCAPE_ROUNDS = 4  # layers of escaping taken off a plain-text field before giving up

# How block structure shows in plain text.
_PARAGRAPH_TAGS = frozenset({
    "p", "div", "blockquote", "pre", "hr", "figure", "table",
    "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6",
    "article", "section", "header", "footer", "aside", "nav", "main", "address",
})  # fmt: skip
_LINE_TAGS = frozenset({"br", "li", "dt", "dd", "tr", "caption", "figcaption"})
_CELL_TAGS = frozenset({"td", "th"})

ELLIPSIS = "…"
# Not left dangling before the ellipsis: separators and opening brackets/quotes.
_TRAILING_JUNK = " \t\n,.;:!?-–—…/\\([{“‘«"


def strip_control_chars(text: str) -> str:
    """Remove characters XML 1.0 forbids (C0 controls but \\t\\n\\r, U+FFFE/F, surrogates)."""
    return _CONTROL_CHARS.sub("", text)


def strip_invisible(text: str) -> str:
    """Remove bidi controls and zero-width characters (titles, names, categories)."""
    return _INVISIBLE.sub("", text)


def clean_html(html: str, base_url: str) -> str:
    """Sanitize article HTML; relative links and images become absolute against base_url."""
    cleaned = nh3.clean(
        strip_control_chars(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=_url_filter(base_url),
    )
    return strip_control_chars(_IMG_WITHOUT_SRC.sub("", cleaned))


def _url_filter(base_url: str) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in URL_ATTRIBUTES:
            return value
        return absolute_url(value, base_url)

    return keep


def absolute_url(url: str, base_url: str) -> str | None:
    """``url`` resolved against ``base_url``, or None when it is not a safe web/mail link."""
    # Browsers ignore tabs and newlines anywhere in a URL ("java\tscript:"), so do we.
    url = re.sub(r"[\t\n\r]", "", url).strip()
    if not url:
        return None
    if url.startswith("//"):
        url = "https:" + url
    try:
        joined = _URL_UNSAFE.sub(_percent_encode, urljoin(base_url, url))
        scheme = urlsplit(joined).scheme.lower()
        base_scheme = urlsplit(base_url).scheme
    except ValueError:  # e.g. "http://[::1" (unclosed IPv6 literal)
        return None
    if scheme in URL_SCHEMES:
        return joined if _host_accepted(scheme, urlsplit(joined).netloc) else None
    # Relative survives only when there was no absolute base to resolve it against.
    return joined if not scheme and not base_scheme else None


@lru_cache(maxsize=4096)
def _host_accepted(scheme: str, netloc: str) -> bool:
    """Whether nh3's URL parser takes this host and port, as it will on the next clean.

    nh3 checks a URL before attribute_filter rewrites it, so an address we build
    (a relative link made absolute) is never checked by it; asking it here keeps
    clean_html idempotent ("//<script" must not become "https://%3Cscript").
    """
    if scheme == "mailto":
        return True
    probe = f'<a href="{scheme}://{netloc.replace("&", "&amp;")}/"></a>'
    return "href=" in nh3.clean(probe, tags={"a"}, attributes={"a": {"href"}}, link_rel=None)


def _percent_encode(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"


class _TextCollector(HTMLParser):
    """Text of already-sanitized HTML, with blocks and list items on their own lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _PARAGRAPH_TAGS:
            self.parts.append("\n\n")
        elif tag in _LINE_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        # Lines and cells are separated by their start alone: "<li>a</li><li>b</li>" is "a\nb".
        if tag in _PARAGRAPH_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        # Newlines are ours to place; source newlines are just spaces in HTML.
        self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: paragraphs split by blank lines, no markup."""
    # nh3 does the forgiving parse and drops script/style; html.parser then only
    # ever sees well-formed markup, so no input can make it raise.
    skeleton = nh3.clean(
        strip_control_chars(html),
        tags=set(_PARAGRAPH_TAGS | _LINE_TAGS | _CELL_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={},
        link_rel=None,
    )
    collector = _TextCollector()
    collector.feed(skeleton)
    collector.close()
    lines = (" ".join(line.split()) for line in "".join(collector.parts).split("\n"))
    text = "\n".join(lines)
    return strip_control_chars(re.sub(r"\n{3,}", "\n\n", text).strip())


def clean_text(text: str) -> str:
    """One line of plain text for titles, authors and category names.

    Nothing in it looks like a tag even after one more unescaping (a title sent
    as `&lt;b&gt;` is markup to many readers), and no invisible characters.
    """
    for _ in range(UNESCAPE_ROUNDS):
        text = " ".join(strip_invisible(html_to_text(text)).split())
        if not _TAG_LIKE.search(html_module.unescape(text)):
            return text
    # Escaped more times than anyone means: unescape all of it, keep no "<".
    while True:
        flat = html_module.unescape(text).replace("<", "")
        if flat == text:
            return text
        text = flat


def summarize(text: str, limit: int = 280) -> str:
    """Plain text cut at a word boundary to at most ``limit`` characters plus "…"."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace():
        # Back up to the last space; a single word longer than limit is cut as is.
        space = cut.rfind(" ")
        if space > 0:
            cut = cut[:space]
    cut = cut.rstrip(_TRAILING_JUNK) or cut.rstrip()
    return cut + ELLIPSIS
