"""Empty feeds, fallbacks for missing fields, and the format dispatch."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from feedsvc.publish.render import (
    CONTENT_TYPES,
    EMPTY_FEED_UPDATED,
    render,
    render_atom,
    render_json,
    render_rss,
)
from tests.publish.rendering import ARTICLES, NS, info_for, make, parsed, utc, xml

# --- empty feeds, fallbacks, dispatch ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_empty_feed_renders_and_validates(fmt: str) -> None:
    started = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # when the store began
    body = render(fmt, info_for(fmt, empty_updated=started), [])
    feed = parsed(body)
    assert feed.entries == [] and feed.feed.title == "Berita Kaltara — KALTARA"
    root = xml(body)
    if fmt == "rss":
        assert root.findtext("channel/lastBuildDate") == "Wed, 02 Dec 2026 07:30:00 +0800"
    else:
        assert root.findtext("atom:updated", namespaces=NS) == "2026-12-02T07:30:00+08:00"
        assert root.findtext("atom:author/atom:name", namespaces=NS) == "Berita Kaltara"
    assert render(fmt, info_for(fmt, empty_updated=started), []) == body
    assert utc(feed.feed.updated_parsed) == started
    # Without a start date given, the fixed default keeps the bytes stable.
    default = parsed(render(fmt, info_for(fmt), []))
    assert utc(default.feed.updated_parsed) == EMPTY_FEED_UPDATED


def test_empty_json_feed() -> None:
    feed = orjson.loads(render_json(info_for("json"), []))
    assert feed["items"] == [] and feed["version"].endswith("/1.1")


def test_article_without_body_or_summary_still_has_content() -> None:
    bare = make(0, summary="", content="", author="", title="Tarakan <banjir>")
    item = orjson.loads(render_json(info_for("json"), [bare]))["items"][0]
    assert item["content_html"] == "Tarakan &lt;banjir&gt;"
    assert "summary" not in item
    entry = parsed(render_atom(info_for("atom"), [bare])).entries[0]
    assert entry.content[0].value == "Tarakan &lt;banjir&gt;"


def test_empty_title_gets_a_placeholder() -> None:
    body = render_atom(info_for("atom"), [make(0, title="")])
    assert parsed(body).entries[0].title == "(tanpa judul)"


def test_dispatch_and_content_types() -> None:
    assert CONTENT_TYPES == {
        "rss": "application/rss+xml; charset=utf-8",
        "atom": "application/atom+xml; charset=utf-8",
        "json": "application/feed+json; charset=utf-8",
    }
    assert render("rss", info_for("rss"), ARTICLES) == render_rss(info_for("rss"), ARTICLES)
    with pytest.raises(ValueError, match="unknown feed format"):
        render("xml", info_for("rss"), ARTICLES)
    declaration = b"<?xml version='1.0' encoding='UTF-8'?>"
    assert render("rss", info_for("rss"), ARTICLES).startswith(declaration)
