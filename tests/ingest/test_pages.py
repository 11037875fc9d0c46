"""Saved real-shaped pages, each paired with what must be read from it.

Every `tests/data/pages/NAME.html` has a `NAME.json` beside it: the page's URL, the
shape it stands for, and the expected title, publication time (with the zone the
page printed), author, categories, featured image, the body's first and last
sentences, and text that must not be in the body (furniture).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from feedsvc.ingest.parse import parse_article_page
from feedsvc.ingest.sanitize import html_to_text

PAGES = Path(__file__).resolve().parents[1] / "data" / "pages"
NOW = datetime(2025, 9, 25, 12, 0, tzinfo=UTC)
HTML = {"Content-Type": "text/html; charset=UTF-8"}
ARTICLES = sorted(p for p in PAGES.glob("*.json") if "listing" not in json.loads(p.read_text()))


def case(path: Path) -> tuple[dict[str, Any], bytes]:
    return json.loads(path.read_text(encoding="utf-8")), path.with_suffix(".html").read_bytes()


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem)
def test_article_page(path: Path) -> None:
    expected, html = case(path)
    entry = parse_article_page(html, HTML, expected["url"], now=NOW)
    assert entry is not None
    assert entry.title == expected["title"]
    published = datetime.fromisoformat(expected["published"])
    assert entry.published == published
    # The day the page printed, in the zone it printed it in.
    assert entry.published is not None and entry.published.date() == published.date()
    assert entry.author == expected["author"]
    assert list(entry.categories) == expected["categories"]
    assert entry.image == expected["image"]
    if "guid" in expected:
        assert entry.guid == expected["guid"]
    paragraphs = [" ".join(p.text_content().split()) for p in fragment(entry.content).iter("p")]
    assert paragraphs[0].startswith(expected["first"]), paragraphs[0]
    assert paragraphs[-1].endswith(expected["last"]), paragraphs[-1]
    text = html_to_text(entry.content)
    for furniture in expected["absent"]:
        assert furniture not in text, furniture


def fragment(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html, create_parent="div")
