"""OPML reading and writing, and which outlines become which sources (pure, no Redis)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from feedsvc.models import Source
from feedsvc.publish.opml import (
    FEEDSVC_NS,
    OpmlError,
    Outline,
    feed_url,
    plan_import,
    read_opml,
    source_name,
    source_outline,
    write_opml,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "opml"


def read(name: str):
    return read_opml((DATA / name).read_bytes())


def test_reads_feeds_with_their_folders() -> None:
    doc = read("kaltara-reader.opml")
    assert doc.title == "Langganan Berita Kaltara"
    assert doc.ignored == 1  # the type="link" outline; folders are not counted
    by_text = {o.text: o for o in doc.feeds}
    assert len(doc.feeds) == 9
    jurnal = by_text["Jurnal Kaltara"]
    assert jurnal.xml_url == "https://www.jurnalkaltara.com/feed/"
    assert jurnal.html_url == "https://www.jurnalkaltara.com/"
    assert jurnal.folders == ("Kaltara",)
    assert jurnal.line == 11
    assert doc.feeds[2].folders == ("Kaltara", "Bulungan")
    assert by_text["Ekonomi & Bisnis"].xml_url == "https://ekonomi.example.id/rss?cat=1&lang=id"


def test_reads_opml_1_0_with_lower_case_attributes_and_a_declared_charset() -> None:
    doc = read("reader-1.0.opml")
    assert [(o.text, o.xml_url) for o in doc.feeds] == [
        ("Kaltara Pos", "http://kaltarapos.example.id/feed"),
        ("Café Tarakan", "http://tarakan.example.id/rss.xml"),
    ]
    assert doc.feeds[0].html_url == "http://kaltarapos.example.id/"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"\x00\xff garbage", "not well-formed XML"),
        ((DATA / "broken.opml").read_bytes(), "Opening and ending tag mismatch"),
        (b"<rss version='2.0'><channel/></rss>", "the document is <rss>, not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "it has no <body>"),
    ],
)
def test_bad_files_are_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message) as info:
        read_opml(data)
    assert "\n" not in str(info.value)
    assert "<string>" not in str(info.value)


def test_external_entities_are_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
    in_text = (
        f'{doctype}<opml version="2.0"><head><title>News &x;</title></head><body>'
        '<outline text="a" xmlUrl="https://a.example/f">&x;</outline></body></opml>'
    )
    doc = read_opml(in_text.encode())
    assert doc.title == "News"
    assert doc.feeds[0].xml_url == "https://a.example/f"
    in_attribute = (
        f'{doctype}<opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/f"/>'
        "</body></opml>"
    )
    with pytest.raises(OpmlError, match="external entity"):
        read_opml(in_attribute.encode())


def test_entity_expansion_bombs_are_refused() -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    )
    data = (
        f"<!DOCTYPE opml [{entities}]>"
        '<opml version="2.0"><body><outline text="&j;" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    started = time.monotonic()
    with pytest.raises(OpmlError):
        read_opml(data)
    assert time.monotonic() - started < 1


def test_plan_import_names_categories_duplicates_and_invalid() -> None:
    existing = [Source("antara", "https://kaltara.antaranews.com/rss/terkini.xml/")]
    plan = plan_import(read("kaltara-reader.opml").feeds, existing, default_interval=600)
    assert [(s.name, s.url, s.category) for s in plan.add] == [
        ("jurnal-kaltara", "https://www.jurnalkaltara.com/feed/", "Kaltara"),
        (
            "jurnal-kaltara-rubrik-kaltara",
            "https://www.jurnalkaltara.com/category/kaltara/feed/",
            "Kaltara",
        ),
        ("berita-bulungan", "https://bulungan.example.id/feed/", "Bulungan"),  # innermost folder
        ("berita-bulungan-2", "https://tanjungselor.example.id/feed/", "Bulungan"),
        ("ekonomi-bisnis", "https://ekonomi.example.id/rss?cat=1&lang=id", "Ekonomi"),
    ]
    assert {s.kind for s in plan.add} == {"feed"}
    assert {s.interval for s in plan.add} == {600}
    assert [(r.outline.line, r.why) for r in plan.skipped] == [
        (20, "repeats line 11 (jurnal-kaltara)"),  # http and no slash: the same feed
        (21, "already a source: antara"),  # feed:// read as http://
    ]
    assert [r.outline.text for r in plan.invalid] == ["Rusak", "Kosong"]
    assert "url must be an http(s) URL" in plan.invalid[0].why


def test_plan_import_options_override_the_file() -> None:
    feeds = read("kaltara-reader.opml").feeds
    plan = plan_import(feeds, [], default_interval=300, category="KALTARA", interval=900)
    assert {(s.category, s.interval) for s in plan.add} == {("KALTARA", 900)}


def test_names_avoid_existing_sources_and_fall_back_to_the_host() -> None:
    feeds = [
        Outline(text="Jurnal Kaltara", xml_url="https://a.example/feed"),
        Outline(text="", xml_url="https://www.b.example/feed"),
        Outline(text="«»", xml_url="https://c.example/feed"),
    ]
    plan = plan_import(
        feeds, [Source("jurnal-kaltara", "https://x.example/")], default_interval=300
    )
    assert [s.name for s in plan.add] == ["jurnal-kaltara-2", "www-b-example", "c-example"]


def test_unusable_folder_names_fall_through_to_the_category_attribute() -> None:
    feeds = [
        Outline(text="a", xml_url="https://a.example/", folders=("Bacaan", "All")),
        Outline(text="b", xml_url="https://b.example/", folders=("!!",), category="/x/Hukum"),
        Outline(text="c", xml_url="https://c.example/", folders=("!!",)),
    ]
    plan = plan_import(feeds, [], default_interval=300)
    assert [s.category for s in plan.add] == ["Bacaan", "Hukum", ""]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("feed://a.example/rss", "http://a.example/rss"),
        ("feed:https://a.example/rss", "https://a.example/rss"),
        (" https://a.example/rss ", "https://a.example/rss"),
    ],
)
def test_feed_scheme_urls(given: str, expected: str) -> None:
    assert feed_url(given) == expected


def test_source_name() -> None:
    assert source_name("Jurnal Kaltara – Berita Terkini") == "jurnal-kaltara-berita-terkini"
    assert source_name("Café Tarakan") == "cafe-tarakan"
    assert len(source_name("x" * 200)) == 60


def test_write_opml_is_valid_opml_2() -> None:
    outlines = [
        Outline(
            text="Berita Kaltara — Semua",
            title="Berita Kaltara — Semua",
            xml_url="http://127.0.0.1:8080/feeds/all.rss",
            html_url="http://127.0.0.1:8080/",
        ),
        Outline(text="Hukum & <Kriminal>", xml_url="http://127.0.0.1:8080/feeds/hukum.rss"),
    ]
    when = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    data = write_opml(outlines, title="Berita Kaltara", modified=when)
    root = etree.fromstring(data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Berita Kaltara"
    assert root.findtext("head/dateModified") == "Fri, 27 Nov 2026 04:00:00 +0000"
    first, second = root.findall("body/outline")
    assert first.attrib == {
        "text": "Berita Kaltara — Semua",
        "title": "Berita Kaltara — Semua",
        "type": "rss",
        "xmlUrl": "http://127.0.0.1:8080/feeds/all.rss",
        "htmlUrl": "http://127.0.0.1:8080/",
    }
    assert second.get("text") == "Hukum & <Kriminal>"
    assert b"xmlns:feedsvc" not in data  # no extensions, no namespace
    assert read_opml(data).feeds[1].text == "Hukum & <Kriminal>"


def test_sources_round_trip_through_opml() -> None:
    sources = [
        Source("kaltara", "https://www.jurnalkaltara.com/feed/", category="KALTARA"),
        Source(
            "listing",
            "https://a.example/category/kaltara/",
            kind="html",
            interval=900,
            link_selector="h2.entry-title a",
        ),
        Source("plain", "https://b.example/rss", interval=42.5),
    ]
    data = write_opml([source_outline(s) for s in sources], title="sources")
    root = etree.fromstring(data)
    assert root.find("body/outline").get(f"{{{FEEDSVC_NS}}}name") == "kaltara"
    plan = plan_import(read_opml(data).feeds, [], default_interval=300)
    assert [dataclass_fields(s) for s in plan.add] == [dataclass_fields(s) for s in sources]
    assert not plan.skipped and not plan.invalid


def dataclass_fields(source: Source) -> tuple:
    return (
        source.name,
        source.url,
        source.kind,
        source.category,
        source.interval,
        source.link_selector,
    )


def test_a_large_file_reads_fast() -> None:
    outlines = [
        Outline(text=f"Feed {i}", xml_url=f"https://s{i}.example/feed/") for i in range(20_000)
    ]
    data = write_opml(outlines, title="big")
    started = time.monotonic()
    doc = read_opml(data)
    plan = plan_import(doc.feeds, [], default_interval=300)
    assert len(plan.add) == 20_000
    assert time.monotonic() - started < 10
