"""Where the article sits in a page: the title heading, the region around the body,
the page's furniture (navigation, sidebars, share and comment boxes) and the text
lines printed by the title, outside the body.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement


def css(selector: str) -> CSSSelector:
    return CSSSelector(selector, translator="html")


TITLE_SELECTORS = tuple(
    css(s) for s in ("h1.entry-title", "h1[itemprop=headline]", ".entry-title", "h1")
)
ANCHOR_LENGTH = 60  # how much of a body paragraph finds it again in the page

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
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})  # fmt: skip


def is_furniture(element: HtmlElement) -> bool:
    if not isinstance(element.tag, str) or element.tag in ("html", "body"):
        return False
    if element.tag in _SKIPPED_TAGS:
        return True
    if (element.get("role") or "").lower() in _JUNK_ROLES:
        return True
    tokens = f"{element.get('class') or ''} {element.get('id') or ''}".split()
    return any(_JUNK_TOKEN.fullmatch(token) for token in tokens)


def in_furniture(element: HtmlElement, region: HtmlElement) -> bool:
    """Whether `element` sits in furniture inside `region` (which holds the article)."""
    for e in (element, *element.iterancestors()):
        if e is region:
            return False
        if is_furniture(e):
            return True
    return False


def main_heading(root: HtmlElement, anchor: HtmlElement | None) -> HtmlElement | None:
    """The title heading: of the likeliest kind, the one nearest the body's start."""
    for selector in TITLE_SELECTORS:
        found = [e for e in selector(root) if e.text_content().strip()]
        if anchor is not None and found:
            # Layout classes such as "right-sidebar" sit on the article's own
            # wrappers, so nearness to the body says more than class names.
            return max(found, key=lambda e: _depth(common_ancestor(e, anchor)))
        found = [e for e in found if not in_furniture(e, root)]
        if found:
            return found[0]
    return None


def common_ancestor(a: HtmlElement, b: HtmlElement) -> HtmlElement | None:
    around_a = {a, *a.iterancestors()}
    return next((e for e in (b, *b.iterancestors()) if e in around_a), None)


def _depth(element: HtmlElement | None) -> int:
    return -1 if element is None else sum(1 for _ in element.iterancestors())


def article_region(anchor: HtmlElement | None, heading: HtmlElement | None) -> HtmlElement | None:
    """The smallest element of the page holding both the title and the body's start."""
    if anchor is None:
        return heading.getparent() if heading is not None else None
    if heading is None:
        parent = anchor.getparent()
        return parent if parent is not None else anchor
    return common_ancestor(heading, anchor)


def find_in_page(root: HtmlElement, body: HtmlElement) -> HtmlElement | None:
    """The page's element holding the body's first paragraph."""
    # Compared without spaces: trafilatura drops some around inline elements.
    first = next((bare(p.text_content()) for p in body.iter("p") if p.text_content().strip()), "")
    key = first[:ANCHOR_LENGTH]
    if not key:
        return None
    for paragraph in root.iter("p", "div", "td", "span"):
        if bare(paragraph.text_content()).startswith(key):
            return paragraph
    return None


def bare(text: str) -> str:
    return "".join(text.split())


def text_start(element: HtmlElement, length: int) -> str:
    """element.text_content() up to the piece that takes its non-space characters past
    `length`, reading no further: on a page of ten thousand nested cells, reading the
    whole text of each is quadratic."""
    parts: list[str] = []
    found = 0
    for piece in element.itertext():
        parts.append(piece)
        found += len(bare(piece))
        if found > length:
            break
    return "".join(parts)


def bare_start(element: HtmlElement, length: int) -> str:
    """The first `length` characters of bare(element.text_content())."""
    return bare(text_start(element, length))[:length]


def norm_start(element: HtmlElement, length: int) -> str:
    """norm(element.text_content()), cut one character past `length`: enough to tell
    whether the whole is longer."""
    return norm(text_start(element, length))[: length + 1]


# Chinese and Japanese put no spaces between words: each of their characters counts
# as a word (most of their words are one or two characters long).
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_UNSPACED}]|[^\s{_UNSPACED}]+")


def count_words(text: str) -> int:
    """Words in `text`, in scripts that space their words and in those that do not."""
    return len(_WORD.findall(text))


def printed_lines(region: HtmlElement, body: HtmlElement, heading: HtmlElement | None) -> list[str]:
    """Text lines of the region outside the body, the title and furniture."""
    chunks: list[str] = []
    walker = etree.iterwalk(region, events=("start", "end"))
    for event, node in walker:
        if not isinstance(node.tag, str):
            continue
        block = node.tag in _BLOCK_TAGS
        if event == "start":
            if node is heading or is_furniture(node):
                walker.skip_subtree()
                chunks.append("\n")
            else:
                chunks.extend(("\n" if block else "", node.text or ""))
        elif node is not region:
            chunks.extend(("\n" if block else "", node.tail or ""))
    text = bare(body.text_content())
    lines = (" ".join(line.split()) for line in "".join(chunks).split("\n"))
    return [line for line in lines if line and bare(line) not in text]


def norm(text: str) -> str:
    return " ".join(text.split())


def remove(element: HtmlElement) -> None:
    if element.getparent() is not None:
        element.drop_tree()  # keeps the tail text, which belongs to the parent
