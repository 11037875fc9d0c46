"""RSS, Atom and JSON Feed read back (feedparser, lxml): every field, required elements, dates."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import orjson
import pytest

from feedsvc import __version__
from feedsvc.publish.render import (
    entry_id,
    render,
    render_atom,
    render_json,
    render_rss,
)
from tests.publish.rendering import (
    ARTICLES,
    BASE,
    JSON_FEED_KEYS,
    JSON_ITEM_KEYS,
    NS,
    RFC822_WITA,
    RFC3339_WITA,
    T0,
    info_for,
    links,
    paged,
    parsed,
    text,
    utc,
    xml,
)

# --- parsing back: feedparser for RSS and Atom (6.0 has no JSON Feed reader) ---


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_everything_back(fmt: str) -> None:
    feed = parsed(render(fmt, info_for(fmt), ARTICLES))
    assert feed.version == {"rss": "rss20", "atom": "atom10"}[fmt]
    assert feed.feed.title == "Berita Kaltara — KALTARA"
    assert feed.feed.language == "id"
    assert [e.title for e in feed.entries] == [a.title for a in ARTICLES]
    for entry, article in zip(feed.entries, ARTICLES, strict=True):
        assert entry.link == article.link
        assert entry.id == f"tag:berita.example.id,2026:article:{article.id}"
        assert utc(entry.published_parsed) == article.published.replace(microsecond=0)
        assert entry.get("author", "") == article.author
        assert entry.content[0].value == article.content
        assert html.unescape(entry.summary) == article.summary
    atom_cats = [(t.term, t.label) for t in feed.entries[0].tags]
    if fmt == "atom":
        assert atom_cats == [("kaltara", "KALTARA"), ("hukum-kriminal", "Hukum & Kriminal")]
        updated = utc(feed.entries[1].updated_parsed)
        assert updated == (T0 + timedelta(hours=2)).replace(microsecond=0)
    else:
        assert [term for term, _ in atom_cats] == ["KALTARA", "Hukum & Kriminal"]


def test_json_feed_has_required_fields_and_round_trips() -> None:
    feed = orjson.loads(render_json(paged("json"), ARTICLES))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Berita Kaltara — KALTARA"
    assert feed["home_page_url"] == BASE
    assert feed["feed_url"] == f"{BASE}/feeds/kaltara.json?limit=3"  # the feed, not this page
    assert feed["language"] == "id"
    assert feed["next_url"] == f"{BASE}/feeds/kaltara.json?page=3&limit=3"
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://hub.example.id/"}]
    assert isinstance(feed["items"], list)
    assert set(feed) <= JSON_FEED_KEYS
    assert all(set(item) <= JSON_ITEM_KEYS for item in feed["items"])
    for item, article in zip(feed["items"], ARTICLES, strict=True):
        assert isinstance(item["id"], str) and item["id"] == entry_id(paged("json"), article)
        assert "content_html" in item or "content_text" in item
        assert item["url"] == article.link
        assert item["title"] == article.title
        assert item["content_html"] == article.content
        assert item["summary"] == article.summary
        assert RFC3339_WITA.match(item["date_published"])
        assert datetime.fromisoformat(item["date_published"]) == article.published.replace(
            microsecond=0
        )
        assert item["tags"] == ["KALTARA", "Hukum & Kriminal"]
    first, second, third = feed["items"]
    assert first["authors"] == [{"name": "Redaksi Jurnal Kaltara"}]
    assert "authors" not in third
    assert "date_modified" not in first
    assert second["date_modified"] == "2026-09-25T12:00:30+08:00"


# --- required elements and date formats, checked with lxml -----------------------------


def test_rss_carries_what_a_wordpress_feed_carries() -> None:
    root = xml(render_rss(info_for("rss"), ARTICLES))
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") == "Berita Kaltara — KALTARA"
    assert channel.findtext("link") == BASE
    assert channel.findtext("description") == "Berita terbaru kategori KALTARA"
    assert channel.findtext("language") == "id"
    assert channel.findtext("generator") == f"feedsvc {__version__}"
    # the newest change: the second article was updated two hours after the first was published
    assert channel.findtext("lastBuildDate") == "Fri, 25 Sep 2026 12:00:30 +0800"
    (self_link,) = channel.findall("atom:link[@rel='self']", NS)
    assert self_link.get("href") == f"{BASE}/feeds/kaltara.rss"
    assert self_link.get("type") == "application/rss+xml"

    items = channel.findall("item")
    assert len(items) == 3
    for item, article in zip(items, ARTICLES, strict=True):
        assert item.findtext("title") == article.title
        assert item.findtext("link") == article.link
        guid = item.find("guid")
        assert guid.get("isPermaLink") == "false"
        assert guid.text == f"tag:berita.example.id,2026:article:{article.id}"
        assert RFC822_WITA.match(item.findtext("pubDate"))
        assert parsedate_to_datetime(item.findtext("pubDate")) == article.published.replace(
            microsecond=0
        )
        assert [c.text for c in item.findall("category")] == ["KALTARA", "Hukum & Kriminal"]
        assert item.findtext("description") == article.summary
        assert item.findtext("content:encoded", namespaces=NS) == article.content
        assert item.find("author") is None  # RSS <author> must be an e-mail address
    assert items[0].findtext("dc:creator", namespaces=NS) == "Redaksi Jurnal Kaltara"
    assert items[2].find("dc:creator", NS) is None


def test_atom_required_elements_and_rfc3339_dates() -> None:
    root = xml(render_atom(info_for("atom"), ARTICLES))
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "id"
    assert root.findtext("atom:id", namespaces=NS) == "tag:berita.example.id,2026:feed:kaltara"
    assert root.findtext("atom:title", namespaces=NS) == "Berita Kaltara — KALTARA"
    assert root.findtext("atom:updated", namespaces=NS) == "2026-09-25T12:00:30+08:00"
    assert root.findtext("atom:author/atom:name", namespaces=NS) == "Berita Kaltara"
    assert root.findtext("atom:generator", namespaces=NS) == f"feedsvc {__version__}"
    feed_links = links(root, "atom:link")
    assert feed_links["self"] == f"{BASE}/feeds/kaltara.atom"
    assert root.find("atom:link[@rel='self']", NS).get("type") == "application/atom+xml"
    alternates = {
        link.get("type"): link.get("href")
        for link in root.iterfind("atom:link[@rel='alternate']", NS)
    }
    assert alternates == {
        "text/html": BASE,
        "application/rss+xml": f"{BASE}/feeds/kaltara.rss",
        "application/feed+json": f"{BASE}/feeds/kaltara.json",
    }

    entries = root.findall("atom:entry", NS)
    for entry, article in zip(entries, ARTICLES, strict=True):
        assert text(entry, "atom:id") == f"tag:berita.example.id,2026:article:{article.id}"
        assert text(entry, "atom:title") == article.title
        assert RFC3339_WITA.match(text(entry, "atom:published"))
        assert RFC3339_WITA.match(text(entry, "atom:updated"))
        published = datetime.fromisoformat(text(entry, "atom:published"))
        assert published == article.published.replace(microsecond=0)
        content = entry.find("atom:content", NS)
        assert content.get("type") == "html" and content.text == article.content
        assert entry.find("atom:summary", NS).text == article.summary
        link = entry.find("atom:link", NS)
        assert (link.get("rel"), link.get("type"), link.get("href")) == (
            "alternate",
            "text/html",
            article.link,
        )
        cats = [(c.get("term"), c.get("label")) for c in entry.iterfind("atom:category", NS)]
        assert cats == [("kaltara", "KALTARA"), ("hukum-kriminal", "Hukum & Kriminal")]
    assert entries[0].findtext("atom:author/atom:name", namespaces=NS) == "Redaksi Jurnal Kaltara"
    assert entries[2].find("atom:author", NS) is None  # the feed-level author covers it
    assert entries[1].findtext("atom:updated", namespaces=NS) == "2026-09-25T12:00:30+08:00"
    assert root.find(".//{http://purl.org/dc/elements/1.1/}creator") is None
