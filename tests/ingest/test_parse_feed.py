"""Feeds read: RSS, Atom and JSON Feed, dates, charsets, links, damaged or empty documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.ingest.parse import Entry, ParseError, parse_feed
from feedsvc.ingest.sanitize import html_to_text
from tests.ingest.parsing import (
    HTML,
    NOW,
    RSS,
    SEED_FIRST,
    SEED_LAST,
    SEED_TITLE,
    SEED_URL,
    SITE,
    assert_safe,
    data,
    item,
    rss,
)

# --- feeds ---


def test_wordpress_rss_feed() -> None:
    feed = parse_feed(
        data("feeds/wordpress-category-kaltara.xml"), RSS, f"{SITE}/category/kaltara/feed/"
    )
    assert (feed.title, feed.link, feed.ttl, feed.error) == (
        "KALTARA – Kaltara Pos",
        SITE,
        None,
        "",
    )
    assert len(feed.entries) == 3
    first = feed.entries[0]
    assert first.guid == f"{SITE}/?p=4521"
    assert first.link == SEED_URL
    assert first.title == SEED_TITLE
    assert first.categories == ("KALTARA", "Bappeda")  # "kaltara" is the same category
    assert first.author == "Wira"
    assert first.published == datetime(2025, 9, 25, 2, 12, 34, tzinfo=UTC)
    assert first.updated is None
    assert first.canonical == ""
    assert first.summary.startswith(SEED_FIRST)
    assert first.summary.endswith("…") and len(first.summary) <= 281
    assert SEED_LAST in html_to_text(first.content)
    assert f'src="{SITE}/wp-content/uploads/2025/09/pendampingan-rkpd.jpg"' in first.content
    assert_safe(first)
    assert "iframe" not in first.content and "tracker.example" not in first.content


def test_wordpress_rss_description_only_item() -> None:
    feed = parse_feed(
        data("feeds/wordpress-category-kaltara.xml"), RSS, f"{SITE}/category/kaltara/feed/"
    )
    assert feed.entries[2] == Entry(
        guid=f"{SITE}/?p=4517",
        link=f"{SITE}/2025/09/24/bupati-sampaikan-3-isu-strategis-ke-ditjen-otonomi-daerah/",
        title="Bupati Sampaikan 3 Isu Strategis ke Ditjen Otonomi Daerah",
        categories=("KALTARA",),
        author="Wira",
        published=datetime(2025, 9, 24, 15, 40, tzinfo=UTC),
        summary=(
            "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si mengikuti kegiatan Reboan "
            "(Rembuk dan Bincang-bincang Otonomi Daerah) secara daring."
        ),
        content=(
            "<p>TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si mengikuti kegiatan "
            "<strong>Reboan</strong> (Rembuk dan Bincang-bincang Otonomi Daerah) secara daring.</p>"
        ),
    )


def test_relative_links_in_content_resolve_against_the_entry_link() -> None:
    feed = parse_feed(
        data("feeds/wordpress-category-kaltara.xml"), RSS, f"{SITE}/category/kaltara/feed/"
    )
    content = feed.entries[1].content
    assert (
        f'src="{SITE}/2025/09/24/pemkab-bulungan-integrasikan-data-pajak-dan-pertanahan/foto-mou.jpg"'
        in content
    )
    assert f'href="{SITE}/2025/09/23/rapat-koordinasi-pajak-daerah-bulungan/"' in content


def test_relative_item_link_resolves_against_content_location() -> None:
    body = rss(item(title="Berita", link="/2025/09/25/berita/"))
    headers = {**RSS, "Content-Location": "https://cdn.example/feed/"}
    feed = parse_feed(body, headers, f"{SITE}/feed/")
    assert feed.entries[0].link == "https://cdn.example/2025/09/25/berita/"
    assert parse_feed(body, RSS, f"{SITE}/feed/").entries[0].link == f"{SITE}/2025/09/25/berita/"


def test_atom_feed() -> None:
    feed = parse_feed(data("feeds/atom-kaltara.xml"), {}, "https://berita.example/kaltara/atom.xml")
    assert (feed.title, feed.link, feed.error) == (
        "Berita Kaltara",
        "https://berita.example/kaltara/",
        "",
    )
    first, second = feed.entries
    assert first.guid == "tag:berita.example,2025:post-4490"
    # xml:base applies to the link; relative images then resolve against the link.
    assert (
        first.link
        == "https://berita.example/kaltara/2025/09/20/menyalakan-literasi-di-utara-kalimantan/"
    )
    assert first.title == "Menyalakan Literasi di Utara Kalimantan bersama Balai Bahasa"
    assert first.categories == ("Sebatik", "kaltara")  # label before term; KALTARA is kaltara
    assert first.author == "Balai Bahasa Kaltim"
    assert first.published == datetime(2025, 9, 20, 1, 30, tzinfo=UTC)
    assert first.updated == datetime(2025, 9, 21, 2, 0, tzinfo=UTC)
    assert first.summary.startswith("SEBATIK - Balai Bahasa Provinsi Kalimantan Timur")
    assert 'src="https://berita.example/kaltara/foto/bimtek.jpg"' in first.content
    # Only <updated>: it stands in for the publication time.
    assert second.published == second.updated == datetime(2025, 9, 4, 0, 0, tzinfo=UTC)
    assert second.author == "Wira"
    assert 'href="https://berita.example/tarian/dayak"' in second.content
    assert_safe(second)


def test_json_feed() -> None:
    feed = parse_feed(data("feeds/jsonfeed-kaltara.json"), {}, "https://kabar.example/feed.json")
    assert (feed.title, feed.link, feed.error) == ("Berita Kaltara", "https://kabar.example/", "")
    # The item with only text is kept, titled by its first words.
    first, second, text_only = feed.entries
    assert (text_only.guid, text_only.link) == ("", "")
    assert text_only.title == "Tanpa judul, tautan atau id: tidak bisa dikenali."
    assert first.guid == "https://kabar.example/?p=901"
    assert first.categories == ("KALTARA", "Literasi")
    assert first.author == "Wira"
    assert first.published == datetime(2025, 9, 22, 6, 0, tzinfo=UTC)
    assert first.updated == datetime(2025, 9, 23, 0, 15, tzinfo=UTC)
    assert (
        first.summary
        == "Keberlangsungan Perpustakaan Desa Bulang masih menghadapi sejumlah tantangan."
    )
    assert 'src="https://kabar.example/img/perpustakaan.jpg"' in first.content
    assert_safe(first)
    assert second.guid == "902"
    assert second.link == "https://other.example/2025/09/21/balai-bahasa-kaltim/"
    assert second.author == "Redaksi"
    assert second.published == datetime(2025, 9, 21, 1, 0, tzinfo=UTC)  # 09:00 WITA
    assert (
        second.title
        == "SEBATIK - Balai Bahasa Provinsi Kalimantan Timur menyelenggarakan Bimbingan…"
    )
    assert second.content == (
        "<p>SEBATIK - Balai Bahasa Provinsi Kalimantan Timur menyelenggarakan Bimbingan Teknis.</p>"
        "<p>Kegiatan berlangsung dua hari.</p>"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"  \r\n\t", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00garbage\xff\xfe\x00", "not a feed"),
        (b"Service Unavailable", "not a feed"),
        (b'{"status": "ok", "items": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "broken JSON"),
    ],
)
def test_not_a_feed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse_feed(body, {}, f"{SITE}/feed/")
    assert "\n" not in str(caught.value)


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(data("article-wordpress-seed.html"), HTML, SEED_URL)


def test_damaged_feed_keeps_its_entries() -> None:
    body = data("feeds/wordpress-category-kaltara.xml")
    cut = body[: body.index(b"<title>Bupati Sampaikan")]  # the connection dropped mid-item
    feed = parse_feed(cut, RSS, f"{SITE}/category/kaltara/feed/")
    assert feed.error  # says what was wrong
    assert [e.guid for e in feed.entries][:2] == [f"{SITE}/?p=4521", f"{SITE}/?p=4518"]


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-1"])
def test_charset_declared_only_in_the_content_type_header(charset: str) -> None:
    title = (
        "Kafe “Kopi Tarakan” buka di Tanjung Selor" if charset == "windows-1252" else "Café Tarakan"
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Kaltara</title>'
        f"<item><title>{title}</title><link>{SITE}/kafe/</link></item></channel></rss>"
    ).encode(charset)
    feed = parse_feed(body, {"Content-Type": f"text/xml; charset={charset}"}, f"{SITE}/feed/")
    assert feed.entries[0].title == title


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Kamis, 25 September 2025 10:12 WITA", datetime(2025, 9, 25, 2, 12, tzinfo=UTC)),
        # feedparser alone reads the WITA here as UTC, eight hours off.
        ("25 Sep 2025 10:12:00 WITA", datetime(2025, 9, 25, 2, 12, tzinfo=UTC)),
        ("Thu, 25 Sep 2025 10:12:00 +0800", datetime(2025, 9, 25, 2, 12, tzinfo=UTC)),
        ("18 Agustus 2026 15:30 WITA", datetime(2026, 8, 18, 7, 30, tzinfo=UTC)),
        ("Senin, 1 Desember 2025 - 08:00 WIB", datetime(2025, 12, 1, 1, 0, tzinfo=UTC)),
        ("25/09/2025 10:12", datetime(2025, 9, 25, 2, 12, tzinfo=UTC)),  # no zone: WITA
        ("10 jam lalu", NOW - timedelta(hours=10)),
    ],
)
def test_indonesian_dates_in_pubdate(pub_date: str, expected: datetime) -> None:
    body = rss(item(title="Berita", link=f"{SITE}/berita/", pubDate=pub_date))
    assert parse_feed(body, RSS, f"{SITE}/feed/", now=NOW).entries[0].published == expected


def test_feed_without_dates() -> None:
    body = rss(
        item(title="Berita", link=f"{SITE}/berita/")
        + item(title="Lain", pubDate="tanggal tidak diketahui")
    )
    entries = parse_feed(body, RSS, f"{SITE}/feed/").entries
    assert [(e.published, e.updated) for e in entries] == [(None, None), (None, None)]


@pytest.mark.parametrize(
    ("ttl", "seconds"), [("30", 1800), (" 60 ", 3600), ("0", None), ("x", None)]
)
def test_ttl(ttl: str, seconds: int | None) -> None:
    feed = parse_feed(rss(item(title="a", link=f"{SITE}/a/"), f"<ttl>{ttl}</ttl>"), RSS, SITE)
    assert feed.ttl == seconds


def test_description_only_items_are_kept_and_untitled_ones_titled() -> None:
    body = rss(
        item(description="Tanpa judul, tautan atau guid.")
        + item(
            link=f"{SITE}/2025/09/25/tanpa-judul/",
            description="<p>Warga Malinau menyambut Gubernur Kalimantan Utara dengan tarian "
            "adat Dayak di bandara.</p>",
        )
        + item(description="  ")
    )
    feed = parse_feed(body, RSS, f"{SITE}/feed/")
    bare, entry = feed.entries
    assert (bare.title, bare.link, bare.guid) == ("Tanpa judul, tautan atau guid.", "", "")
    assert (
        entry.title
        == "Warga Malinau menyambut Gubernur Kalimantan Utara dengan tarian adat Dayak di…"
    )
    assert feed.skipped == ("entry 3: no title, link, id or text",)  # nothing at all in it


def test_rss_author_email_is_not_kept() -> None:
    body = rss(item(title="a", link=f"{SITE}/a/", author="wira@kaltara.example (Wira)"))
    assert parse_feed(body, RSS, SITE).entries[0].author == "Wira"


def test_guid_serves_as_link_when_the_item_has_none() -> None:
    body = rss(
        '<item><title>a</title><guid isPermaLink="false">https://kaltara.example/?p=7</guid></item>'
    )
    entry = parse_feed(body, RSS, SITE).entries[0]
    assert (entry.guid, entry.link) == (f"{SITE}/?p=7", f"{SITE}/?p=7")


def test_unsafe_links_are_not_entry_links() -> None:
    body = rss(item(title="a", link="javascript:alert(1)", guid="urn:x:1"))
    assert parse_feed(body, RSS, SITE).entries[0].link == ""
