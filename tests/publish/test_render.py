from __future__ import annotations

import calendar
import dataclasses
import html
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import feedparser
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from feedsvc import __version__
from feedsvc.models import Article, stable_id
from feedsvc.publish.render import (
    CONTENT_TYPES,
    EMPTY_FEED_UPDATED,
    FORMATS,
    FeedInfo,
    entry_id,
    last_updated,
    render,
    render_atom,
    render_json,
    render_rss,
)

BASE = "https://berita.example.id"
T0 = datetime(2026, 9, 25, 2, 0, 30, 123456, tzinfo=UTC)  # 10:00:30 WITA
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
RFC822_WITA = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d \+0800$"
)
# Every key JSON Feed 1.1 defines, to catch a misspelt one.
# fmt: off
JSON_FEED_KEYS = {
    "version", "title", "home_page_url", "feed_url", "description", "user_comment",
    "next_url", "icon", "favicon", "authors", "language", "expired", "hubs", "items",
}
JSON_ITEM_KEYS = {
    "id", "url", "external_url", "title", "content_html", "content_text", "summary",
    "image", "banner_image", "date_published", "date_modified", "authors", "tags",
    "language", "attachments",
}
# fmt: on
RFC3339_WITA = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")

TRICKY_TITLE = "Harga <b>cabai</b> & \"bawang\" naik 20% di Tarakan 🌶️ ]]> kata 'warga'"
TRICKY_CONTENT = (
    '<p>Warga Nunukan berkata: "Harga &lt;naik&gt; &amp; turun" 🚀</p>'
    "<p>Ekspresi ]]> dan ]]&gt; tetap utuh; café, Rp 50.000 &amp; ½ kg</p>"
)


def make(n: int, **kw: object) -> Article:
    link = str(kw.pop("link", f"https://www.jurnalkaltara.com/2026/09/25/berita-{n}/"))
    fields: dict[str, object] = {
        "id": stable_id(link),
        "title": f"Pemprov Kaltara Dampingi Kabupaten/Kota {n}",
        "link": link,
        "categories": ("KALTARA", "Hukum & Kriminal"),
        "published": T0 - timedelta(hours=n),
        "author": "Redaksi Jurnal Kaltara",
        "summary": f"Bappeda dan Litbang Kaltara memperkuat sinergi pembangunan {n}.",
        "content": f"<p>TANJUNG SELOR – Bappeda dan Litbang Kaltara, berita {n}.</p>",
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def info_for(fmt: str, **kw: object) -> FeedInfo:
    url = f"{BASE}/feeds/kaltara.{fmt}"
    fields: dict[str, object] = {
        "title": "Berita Kaltara — KALTARA",
        "description": "Berita terbaru kategori KALTARA",
        "home_url": BASE,
        "self_url": url,
        "category": "kaltara",
        "author": "Berita Kaltara",
        "first_url": url,
        "alternates": tuple((f, f"{BASE}/feeds/kaltara.{f}") for f in FORMATS),
    }
    fields.update(kw)
    return FeedInfo(**fields)  # type: ignore[arg-type]


def paged(fmt: str) -> FeedInfo:
    url = f"{BASE}/feeds/kaltara.{fmt}"
    return info_for(
        fmt,
        self_url=f"{url}?page=2&limit=3",
        first_url=f"{url}?limit=3",
        previous_url=f"{url}?page=1&limit=3",
        next_url=f"{url}?page=3&limit=3",
        last_url=f"{url}?page=7&limit=3",
        hub_url="https://hub.example.id/",
    )


ARTICLES = [make(0), make(1, updated=T0 + timedelta(hours=2)), make(2, author="")]


def xml(body: bytes) -> etree._Element:
    return etree.fromstring(body)


def parsed(body: bytes) -> feedparser.FeedParserDict:
    feed = feedparser.parse(body)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def text(element: etree._Element, path: str) -> str | None:
    return element.findtext(path, namespaces=NS)


def links(root: etree._Element, parent: str) -> dict[str, str]:
    return {link.get("rel"): link.get("href") for link in root.iterfind(parent, NS)}


def utc(struct: object) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(struct), UTC)  # type: ignore[arg-type]


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


# --- ids, determinism, times -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_gives_same_bytes(fmt: str) -> None:
    copies = [dataclasses.replace(a) for a in ARTICLES]
    assert render(fmt, paged(fmt), ARTICLES) == render(fmt, paged(fmt), copies)


def test_ids_survive_an_update() -> None:
    before = make(1)
    after = dataclasses.replace(
        before, title="Judul diperbarui", updated=T0 + timedelta(days=1), content_hash=""
    )
    info = info_for("rss")
    assert entry_id(info, before) == entry_id(info, after)
    guids = [xml(render_rss(info, [a])).findtext("channel/item/guid") for a in (before, after)]
    assert guids[0] == guids[1] == f"tag:berita.example.id,2026:article:{before.id}"


def test_feed_time_is_the_newest_change_never_now() -> None:
    older = make(5, updated=T0 + timedelta(days=3))  # an old post edited later
    assert last_updated([make(0), older]) == T0 + timedelta(days=3)
    assert last_updated([]) is None
    # an "updated" before "published" is a source bug and never moves a time backwards
    odd = make(0, updated=T0 - timedelta(days=9))
    assert last_updated([odd]) == T0


def test_times_follow_the_feed_time_zone() -> None:
    info = info_for("rss", timezone=UTC)
    item = xml(render_rss(info, [make(0)])).find("channel/item")
    assert item.findtext("pubDate") == "Fri, 25 Sep 2026 02:00:30 +0000"


def test_seconds_offsets_of_old_local_mean_time_fall_back_to_utc() -> None:
    # Asia/Makassar was +07:57:36 before 1932: not writable in RFC 822 or RFC 3339.
    old = make(0, published=datetime(1900, 1, 1, tzinfo=UTC))
    info = info_for("rss", timezone=ZoneInfo("Asia/Makassar"))
    assert xml(render_rss(info, [old])).findtext("channel/item/pubDate") == (
        "Mon, 01 Jan 1900 00:00:00 +0000"
    )
    entry = xml(render_atom(info, [old])).find("atom:entry", NS)
    assert text(entry, "atom:published") == "1900-01-01T00:00:00+00:00"
    recent = xml(render_rss(info, [make(0)])).findtext("channel/item/pubDate")
    assert recent.endswith("+0800")


# --- paging and WebSub links ------------------------------------------------------------


def test_paging_and_hub_links_in_rss_and_atom() -> None:
    for fmt, path in (("rss", "channel/atom:link"), ("atom", "atom:link")):
        url = f"{BASE}/feeds/kaltara.{fmt}"
        got = links(xml(render(fmt, paged(fmt), ARTICLES)), path)
        assert got["self"] == f"{url}?page=2&limit=3"
        assert got["first"] == f"{url}?limit=3"
        assert got["previous"] == f"{url}?page=1&limit=3"
        assert got["next"] == f"{url}?page=3&limit=3"
        assert got["last"] == f"{url}?page=7&limit=3"
        assert got["hub"] == "https://hub.example.id/"
        feed = parsed(render(fmt, paged(fmt), ARTICLES)).feed
        assert {link.rel for link in feed.links} >= {"self", "hub", "first", "next", "last"}


def test_single_page_has_no_next_previous_or_hub() -> None:
    for fmt, path in (("rss", "channel/atom:link"), ("atom", "atom:link")):
        info = info_for(fmt, first_url=None, alternates=())
        got = links(xml(render(fmt, info, ARTICLES)), path)
        # Atom's home-page link is an atom:link too; RSS has <link> for it
        assert set(got) == ({"self", "alternate"} if fmt == "atom" else {"self"})
    feed = orjson.loads(render_json(info_for("json"), ARTICLES))
    assert "next_url" not in feed and "hubs" not in feed


def test_last_page_links_back_but_not_forward() -> None:
    info = info_for(
        "atom",
        self_url=f"{BASE}/feeds/kaltara.atom?page=7",
        previous_url=f"{BASE}/feeds/kaltara.atom?page=6",
        last_url=f"{BASE}/feeds/kaltara.atom?page=7",
    )
    got = links(xml(render_atom(info, ARTICLES)), "atom:link")
    assert "next" not in got
    assert got["previous"].endswith("page=6") and got["last"].endswith("page=7")


# --- hard text --------------------------------------------------------------------------


def tricky() -> Article:
    return make(
        0,
        title=TRICKY_TITLE,
        content=TRICKY_CONTENT,
        summary='Ringkas: <tidak> ada tag & "kutip" ]]> 😀',
        author="Ayu & <Budi>",
        categories=("KALTARA", "Hukum & Kriminal"),
        link="https://www.jurnalkaltara.com/?p=12&amp=1",
    )


def test_tricky_article_round_trips_exactly() -> None:
    article = tricky()

    rss = xml(render_rss(info_for("rss"), [article])).find("channel/item")
    assert rss.findtext("title") == TRICKY_TITLE
    assert rss.findtext("content:encoded", namespaces=NS) == TRICKY_CONTENT
    assert rss.findtext("dc:creator", namespaces=NS) == "Ayu & <Budi>"
    assert rss.findtext("link") == article.link

    atom = xml(render_atom(info_for("atom"), [article])).find("atom:entry", NS)
    assert atom.findtext("atom:title", namespaces=NS) == TRICKY_TITLE
    assert atom.findtext("atom:content", namespaces=NS) == TRICKY_CONTENT
    assert atom.findtext("atom:author/atom:name", namespaces=NS) == "Ayu & <Budi>"

    item = orjson.loads(render_json(info_for("json"), [article]))["items"][0]
    assert (item["title"], item["content_html"], item["summary"]) == (
        TRICKY_TITLE,
        TRICKY_CONTENT,
        article.summary,
    )

    for fmt in ("rss", "atom"):
        entry = parsed(render(fmt, info_for(fmt), [article])).entries[0]
        assert entry.title == TRICKY_TITLE
        assert entry.content[0].value == TRICKY_CONTENT
        # plain text travels as escaped HTML (RSS <description> is HTML)
        assert html.unescape(entry.summary) == article.summary
        assert entry.author == "Ayu & <Budi>"
        assert entry.link == article.link


def test_rss_plain_text_uses_hex_references() -> None:
    # The RSS Profile's rule (the W3C validator warns otherwise); same text once parsed.
    body = render_rss(info_for("rss"), [tricky()])
    assert b"<title>Harga &#x3C;b&gt;cabai&#x3C;/b&gt; &#x26; " in body
    assert b"<dc:creator>Ayu &#x26; &#x3C;Budi&gt;</dc:creator>" in body
    assert b"<category>Hukum &#x26; Kriminal</category>" in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_xml_invalid_characters_are_dropped(fmt: str) -> None:
    article = make(
        0, title="Banjir\x00 di\x0b Tarakan\ufffe", content="<p>Isi\x1b berita\x85\x7f</p>"
    )
    body = render(fmt, info_for(fmt), [article])
    if fmt == "json":
        item = orjson.loads(body)["items"][0]
        assert (item["title"], item["content_html"]) == ("Banjir di Tarakan", "<p>Isi berita</p>")
    else:
        entry = parsed(body).entries[0]
        assert (entry.title, entry.content[0].value) == ("Banjir di Tarakan", "<p>Isi berita</p>")


xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=60,
).map(lambda s: s.replace("\r", ""))  # XML parsers turn a raw CR into LF by design


@settings(max_examples=60, deadline=None)
@given(title=xml_text, content=xml_text, author=xml_text, summary=xml_text)
def test_any_text_round_trips_or_loses_only_invalid_characters(
    title: str, content: str, author: str, summary: str
) -> None:
    invalid = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
    article = make(0, title=title, content=content, author=author, summary=summary)
    want_title = invalid.sub("", title) or "(tanpa judul)"
    item = xml(render_rss(info_for("rss"), [article])).find("channel/item")
    assert item.findtext("title") == want_title
    entry = xml(render_atom(info_for("atom"), [article])).find("atom:entry", NS)
    assert entry.findtext("atom:title", namespaces=NS) == want_title
    if invalid.sub("", content):
        assert entry.findtext("atom:content", namespaces=NS) == invalid.sub("", content)
    if invalid.sub("", author):
        assert item.findtext("dc:creator", namespaces=NS) == invalid.sub("", author)
    if invalid.sub("", summary):
        assert html.unescape(item.findtext("description")) == invalid.sub("", summary)
    assert orjson.loads(render_json(info_for("json"), [article]))["items"][0]["title"] == want_title


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
