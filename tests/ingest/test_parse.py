"""Parsing: feed documents and HTML pages in, entries out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc.dates import WITA
from feedsvc.ingest.parse import (
    Entry,
    ParseError,
    find_article_links,
    is_post_link,
    parse_article_page,
    parse_feed,
)
from feedsvc.ingest.sanitize import html_to_text
from tests.fakes.site import SHARED

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = SHARED / "corpora" / "feedparser"
NOW = datetime(2025, 9, 25, 12, 0, tzinfo=UTC)
UNSAFE = re.compile(r"<script|\son[a-z]+\s*=|javascript:", re.IGNORECASE)

SITE = "https://kaltara.example"
SEED_URL = (
    f"{SITE}/2025/09/25/target-pembangunan-merata-pemprov-kaltara-intensif-dampingi-kabupaten-kota/"
)
SEED_TITLE = "Target Pembangunan Merata, Pemprov Kaltara Intensif Dampingi Kabupaten/Kota"
SEED_FIRST = (
    "TANJUNG SELOR – Bappeda dan Litbang Kaltara memperkuat sinergi pembangunan dengan "
    "melakukan pendampingan langsung terhadap perencanaan di seluruh kabupaten/kota."
)
SEED_LAST = (
    "“Tujuan akhirnya adalah mendorong tercapainya pembangunan yang merata dan "
    "berkeadilan di seluruh Kaltara,” pungkasnya. (adv)"
)
HTML = {"Content-Type": "text/html; charset=UTF-8"}
RSS = {"Content-Type": "application/rss+xml; charset=UTF-8"}


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Kaltara</title><link>{SITE}/</link>{channel}{items}</channel></rss>"
    ).encode()


def item(**fields: str) -> str:
    return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>"


def assert_safe(entry: Entry) -> None:
    for text in (entry.title, entry.summary, entry.content, entry.author, *entry.categories):
        assert not UNSAFE.search(text), text


# --- feeds ---


def test_wordpress_rss_feed() -> None:
    feed = parse_feed(data("wordpress-category-kaltara.rss"), RSS, f"{SITE}/category/kaltara/feed/")
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
    feed = parse_feed(data("wordpress-category-kaltara.rss"), RSS, f"{SITE}/category/kaltara/feed/")
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
    feed = parse_feed(data("wordpress-category-kaltara.rss"), RSS, f"{SITE}/category/kaltara/feed/")
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
    feed = parse_feed(data("atom-kaltara.atom"), {}, "https://berita.example/kaltara/atom.xml")
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
    feed = parse_feed(data("jsonfeed-kaltara.json"), {}, "https://kabar.example/feed.json")
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
    body = data("wordpress-category-kaltara.rss")
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


# --- article pages ---


def seed_page() -> Entry:
    entry = parse_article_page(data("article-wordpress-seed.html"), HTML, SEED_URL, now=NOW)
    assert entry is not None
    return entry


def test_seed_article_page() -> None:
    entry = seed_page()
    assert entry.title == SEED_TITLE  # og:title without " – Kaltara Pos"
    assert entry.categories == ("KALTARA",)
    assert entry.author == "Wira"
    assert entry.published == datetime(2025, 9, 25, 2, 12, 34, tzinfo=UTC)
    assert entry.updated == datetime(2025, 9, 25, 3, 40, tzinfo=UTC)
    assert entry.link == entry.canonical == SEED_URL
    assert entry.guid == f"{SITE}/?p=4521"  # the shortlink, as the feed's guid
    assert entry.summary.startswith(SEED_FIRST) and entry.summary.endswith("…")


def test_seed_article_body_is_the_article_only() -> None:
    entry = seed_page()
    text = html_to_text(entry.content)
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "Pendampingan penyusunan RKPD di Tanjung Selor."  # the figure caption
    assert paragraphs[1].startswith(SEED_FIRST)
    assert paragraphs[-1].endswith(SEED_LAST)
    assert len(paragraphs) == 11
    for furniture in (
        "Recent Posts", "Pemkab Bulungan", "10 jam ago", "3 minggu ago",  # the widget
        "Bagikan", "Facebook", "WhatsApp", "Terkait",  # share buttons, related posts
        "Mantap", "Rudi", "Tinggalkan Balasan", "Kirim Komentar",  # comments
        "Beranda", "Langsung ke konten", "Hak cipta", "Rabu, 1 Oktober",  # site chrome
        "Categories", "Wira", SEED_TITLE,  # printed metadata
        "dataLayer", "themeSettings", "iklan", "margin",  # scripts and styles
    ):  # fmt: skip
        assert furniture not in text, furniture
    assert_safe(entry)
    assert f'src="{SITE}/wp-content/uploads/2025/09/pendampingan-rkpd.jpg"' in entry.content


def test_seed_article_body_is_the_seed_text() -> None:
    seed = SHARED / "fixtures" / "seed-article.txt"
    if not seed.is_file():
        pytest.skip(f"seed article not found ({seed})")
    text = seed.read_text(encoding="utf-8")
    body = text.split(SEED_TITLE, 1)[1].split("\n\nWira\n\n", 1)[0]
    expected = [" ".join(p.split()) for p in body.strip().split("\n\n")]
    got = [" ".join(p.split()) for p in html_to_text(seed_page().content).split("\n\n")]
    assert got[1:] == expected  # after the figure caption


def test_page_and_feed_name_the_same_article() -> None:
    feed = parse_feed(data("wordpress-category-kaltara.rss"), RSS, f"{SITE}/category/kaltara/feed/")
    page = seed_page()
    assert (page.guid, page.canonical) == (feed.entries[0].guid, feed.entries[0].link)


def seed_variant(*patterns: str) -> Entry | None:
    """The seed page with every match of `patterns` removed."""
    text = data("article-wordpress-seed.html").decode()
    for pattern in patterns:
        text = re.sub(pattern, "", text)
    return parse_article_page(text.encode(), HTML, SEED_URL, now=NOW)


def test_widget_and_comment_dates_are_not_the_article_date() -> None:
    entry = seed_variant(r'<meta property="article:\w+_time"[^>]*>', r'<time class="[^"]*"[^>]*>')
    assert entry is not None
    # Not "10 jam ago" from the widget, not the comment's 26 September: the day in
    # the URL, midnight on the site's (WITA) clock.
    assert entry.published == datetime(2025, 9, 25, tzinfo=WITA)
    assert entry.updated is None


def test_seed_category_as_plain_text() -> None:
    entry = seed_variant(r'<a [^>]*rel="category tag">', r"(?<=KALTARA)</a>")
    assert entry is not None and entry.categories == ("KALTARA",)


def test_seed_author_from_meta() -> None:
    entry = seed_variant(r'(?s)<div class="author-info">.*?</div>')
    assert entry is not None and entry.author == ""
    text = data("article-wordpress-seed.html").replace(
        b"<title>", b'<meta name="author" content="Wira"><title>'
    )
    entry = parse_article_page(text, HTML, SEED_URL)
    assert entry is not None and entry.author == "Wira"


def page(*, head: str = "", article: str = "", after: str = "", title: str = "") -> bytes:
    """A small page in the usual WordPress theme shape."""
    return f"""<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">
<title>{title}</title>{head}</head><body>
<div class="brand"><span>Rabu, 1 Oktober 2025</span><a href="/">Kaltara Pos</a></div>
<div id="primary"><main><article class="post">{article}</article>{after}</main></div>
</body></html>""".encode()


PARAGRAPHS = (
    "TANJUNG SELOR – Pemprov Kaltara membuka pendaftaran beasiswa kuliah bagi pelajar dari "
    "desa-desa perbatasan mulai pekan ini.",
    "Kepala Dinas Pendidikan menyebut kuota tahun ini 250 orang, naik dari 180 orang tahun lalu.",
    "Pendaftaran dibuka secara daring hingga akhir Oktober, dan seleksi berkas dilakukan "
    "oleh tim dari tiga perguruan tinggi negeri.",
    "Penerima beasiswa akan dibiayai penuh selama delapan semester, termasuk biaya hidup "
    "dan tiket pulang sekali setahun.",
    "Informasi lengkap tersedia di laman resmi dinas dan di kantor kecamatan masing-masing.",
)
BODY = '<div class="entry-content">' + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</div>"


def test_category_from_text_line() -> None:
    body = page(
        article=f'<div class="entry-meta">Kategori: Kaltara, Bulungan</div><h1>Judul</h1>{BODY}'
    )
    entry = parse_article_page(body, HTML, f"{SITE}/judul/")
    assert entry is not None and entry.categories == ("Kaltara", "Bulungan")


def test_date_line_in_indonesian() -> None:
    meta = '<p class="meta">Oleh Wira | Kamis, 25 September 2025 10:12 WITA</p>'
    entry = parse_article_page(page(article=f"<h1>Judul</h1>{meta}{BODY}"), HTML, f"{SITE}/judul/")
    assert entry is not None
    assert entry.published == datetime(2025, 9, 25, 2, 12, tzinfo=UTC)


def test_relative_age_when_it_is_the_only_date() -> None:
    sidebar = '<div><h3>Berita Terkini</h3><ul><li><a href="/x/">X</a> 1 hari ago</li></ul></div>'
    body = page(article=f'<h1>Judul</h1><span class="time">10 jam ago</span>{BODY}', after=sidebar)
    entry = parse_article_page(body, HTML, f"{SITE}/judul/", now=NOW)
    assert entry is not None
    assert entry.published == NOW - timedelta(hours=10)
    assert "1 hari" not in entry.content


def test_no_date_at_all() -> None:
    entry = parse_article_page(
        page(article=f"<h1>Judul</h1>{BODY}"), HTML, f"{SITE}/judul/", now=NOW
    )
    assert entry is not None and entry.published is None and entry.updated is None


def test_json_ld_metadata() -> None:
    graph = """{"@context": "https://schema.org", "@graph": [
      {"@type": "WebPage", "@id": "https://kaltara.example/judul/",
       "datePublished": "2020-01-01T00:00:00+00:00"},
      {"@type": "NewsArticle", "headline": "Judul", "author": {"@id": "#/schema/person/9"},
       "datePublished": "2025-09-25T10:12:34+08:00", "dateModified": "2025-09-25T11:00:00+08:00",
       "articleSection": ["KALTARA", "Pemerintahan"]},
      {"@type": "Person", "@id": "#/schema/person/9", "name": "Wira"}]}"""
    head = f'<script type="application/ld+json">{graph}</script>'
    entry = parse_article_page(
        page(head=head, article=f"<h1>Judul</h1>{BODY}"), HTML, f"{SITE}/judul/"
    )
    assert entry is not None
    assert entry.author == "Wira"
    assert entry.categories == ("KALTARA", "Pemerintahan")
    assert entry.published == datetime(2025, 9, 25, 2, 12, 34, tzinfo=UTC)
    assert entry.updated == datetime(2025, 9, 25, 3, 0, tzinfo=UTC)


def test_related_blocks_without_telling_classes_are_cut() -> None:
    first, *middle, last = PARAGRAPHS
    content = f"""<div class="entry-content">
      <p>{first}</p>
      <p><strong>Baca Juga:</strong> <a href="/pemkab-bulungan-pajak/">Pemkab Bulungan</a></p>
      {"".join(f"<p>{p}</p>" for p in middle)}
      <p>{last}</p>
      <h3>Berita Terkait</h3>
      <ul><li><a href="/rapimwil-tbbr-kaltara/">Rapimwil TBBR Kaltara</a></li></ul>
    </div>"""
    recent = (
        '<div class="box"><h4>Recent Posts</h4><ul><li>Bupati <i>10 jam ago</i></li></ul></div>'
    )
    entry = parse_article_page(
        page(article=f"<h1>Judul</h1>{content}", after=recent), HTML, f"{SITE}/judul/"
    )
    assert entry is not None
    assert html_to_text(entry.content) == "\n\n".join(PARAGRAPHS)


def test_body_of_an_unknown_theme() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    body = f"""<html><head><title>Judul Berita Kaltara</title></head><body>
      <div class="atas"><a href="/">Beranda</a> <a href="/daerah/">Daerah</a></div>
      <div class="kiri"><div class="isi">{paragraphs}</div></div>
      <div class="bawah">© 2025 Kaltara Pos · <a href="/redaksi/">Redaksi</a></div>
    </body></html>""".encode()
    entry = parse_article_page(body, HTML, f"{SITE}/judul/")
    assert entry is not None
    assert entry.title == "Judul Berita Kaltara"
    assert html_to_text(entry.content) == "\n\n".join(PARAGRAPHS)


def test_canonical_to_the_home_page_is_ignored() -> None:
    head = f'<link rel="canonical" href="{SITE}/"><meta property="og:url" content="{SITE}/asli/">'
    entry = parse_article_page(
        page(head=head, article=f"<h1>Judul</h1>{BODY}"), HTML, f"{SITE}/judul/?utm=x"
    )
    assert entry is not None and entry.canonical == f"{SITE}/asli/"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\xff\xfe\x89garbage",
        b"<html></html>",
        page(article=BODY),  # no title anywhere
        page(article="<h1>Judul</h1><div class='entry-content'> </div>", title="Judul"),  # no text
    ],
)
def test_pages_without_an_article(body: bytes) -> None:
    assert parse_article_page(body, HTML, f"{SITE}/judul/") is None


@pytest.mark.parametrize(
    ("headers", "meta", "encoding"),
    [
        ({"Content-Type": "text/html; charset=windows-1252"}, "", "cp1252"),
        ({"Content-Type": "text/html"}, '<meta charset="windows-1252">', "cp1252"),
        ({}, '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">', "cp1252"),
        ({"Content-Type": "text/html; charset=utf-8"}, '<meta charset="windows-1252">', "utf-8"),
        ({}, "", "utf-8"),
        ({}, "", "cp1252"),  # undeclared and not UTF-8: what browsers guess
    ],
)
def test_page_charset(headers: dict[str, str], meta: str, encoding: str) -> None:
    title = "Kafe “Kopi Tarakan” dibuka"
    text = "Kafe baru di Tarakan menyajikan kopi lokal dan kue tradisional, kata pemilik café itu."
    body = f"<html><head>{meta}<title>{title}</title></head><body><p>{text}</p></body></html>"
    entry = parse_article_page(body.encode(encoding), headers, f"{SITE}/kafe/")
    assert entry is not None
    assert entry.title == title and "café" in entry.content


# --- listing pages ---

LISTING = f"{SITE}/category/kaltara/"


def test_article_links_on_a_listing_page() -> None:
    assert find_article_links(data("listing-wordpress-category.html"), HTML, LISTING) == [
        SEED_URL,
        f"{SITE}/2025/09/24/pemkab-bulungan-integrasikan-data-pajak-dan-pertanahan/",
        "https://www.kaltara.example/bupati-sampaikan-3-isu-strategis-ke-ditjen-otonomi-daerah/",
        f"{SITE}/?p=4512",
        f"{SITE}/2025/09/04/rapimwil-tbbr-kaltara-gubernur-dorong-sinergi-adat-dan-pembangunan/",
    ]


@pytest.mark.parametrize("selector", ["h2.entry-title a", "article.post .entry-title"])
def test_article_links_by_selector(selector: str) -> None:
    links = find_article_links(data("listing-wordpress-category.html"), HTML, LISTING, selector)
    assert links == [
        SEED_URL,
        f"{SITE}/2025/09/24/pemkab-bulungan-integrasikan-data-pajak-dan-pertanahan/",
        "https://www.kaltara.example/bupati-sampaikan-3-isu-strategis-ke-ditjen-otonomi-daerah/",
        f"{SITE}/?p=4512",
    ]


def test_bad_link_selector() -> None:
    with pytest.raises(ParseError, match="link_selector"):
        find_article_links(data("listing-wordpress-category.html"), HTML, LISTING, "h2[")


@pytest.mark.parametrize(
    ("link", "is_post"),
    [
        (f"{SITE}/2025/09/25/judul/", True),
        (f"{SITE}/?p=123", True),
        (f"{SITE}/target-pembangunan-merata-pemprov-kaltara/", True),
        (f"{SITE}/pedoman-media-siber/", False),
        (f"{SITE}/category/kaltara/", False),
        (f"{SITE}/tag/bappeda-kaltara-pemprov-kaltara/", False),
        (f"{SITE}/page/2/", False),
        (f"{SITE}/?s=kaltara", False),
        (f"{SITE}/wp-content/uploads/2025/09/foto-kegiatan-bappeda-kaltara.jpg", False),
        (f"{SITE}/2025/09/25/judul/feed/", False),
        ("https://other.example/2025/09/25/judul/", False),
    ],
)
def test_what_looks_like_a_post(link: str, is_post: bool) -> None:
    assert is_post_link(link, LISTING) is is_post


def test_listing_without_a_document() -> None:
    assert find_article_links(b"", HTML, LISTING) == []
    assert find_article_links(b"\x00\x01\x02", HTML, LISTING) == []


# --- hostile input ---

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PIECES = (
    "<rss>", "<item>", "<feed>", "<entry>", "<html>", "<p>", "</p>", "<a href='", "&amp;",
    "&nbsp;", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "{", '"', "é", "\x00",
)  # fmt: skip
MARKUP = st.lists(st.sampled_from(PIECES) | st.text(max_size=10), max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
)


@FUZZ
@given(body=st.binary(max_size=2000) | MARKUP)
def test_parse_feed_raises_only_parse_error(body: bytes) -> None:
    try:
        feed = parse_feed(body, {"Content-Type": "text/xml"}, f"{SITE}/feed/")
    except ParseError as exc:
        assert "\n" not in str(exc)
    else:
        for entry in feed.entries:
            assert_safe(entry)


@FUZZ
@given(body=st.binary(max_size=2000) | MARKUP)
def test_html_functions_never_raise(body: bytes) -> None:
    entry = parse_article_page(body, HTML, f"{SITE}/judul/")
    assert entry is None or isinstance(entry, Entry)
    assert isinstance(find_article_links(body, HTML, LISTING), list)


# --- the feedparser corpus ---

HEADER_LINE = re.compile(rb"^\s*Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at ../shared/corpora/feedparser ({CORPUS})")
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md")


def served_headers(body: bytes) -> dict[str, str]:
    """The `Header:` lines of a corpus file's leading comment (PROVENANCE.md)."""
    return {k.decode(): v.decode("latin-1") for k, v in HEADER_LINE.findall(body[:4096])}


def parse_corpus_file(body: bytes) -> list[str]:
    """Problems with one document: anything but a ParsedFeed or a ParseError, unsafe output."""
    try:
        feed = parse_feed(body, served_headers(body), "http://example.com/feed.xml")
    except ParseError:
        return []
    problems = [f"unsafe title {feed.title!r}"] if UNSAFE.search(feed.title) else []
    for entry in feed.entries:
        for text in (entry.title, entry.summary, entry.content, entry.author, *entry.categories):
            if UNSAFE.search(text):
                problems.append(f"unsafe output {text[:120]!r}")
    return problems


def test_feedparser_corpus() -> None:
    files = corpus_files()
    assert len(files) > 2000
    problems = [
        f"{p.relative_to(CORPUS)}: {msg}"
        for p in files
        for msg in parse_corpus_file(p.read_bytes())
    ]
    assert problems == []


def test_feedparser_sanitize_corpus_with_identified_entries() -> None:
    # Most sanitize cases have entries with no id, link or title, which parse_feed
    # drops; give each one an id so its content goes all the way through.
    files = [p for p in corpus_files() if p.parent.name == "sanitize"]
    assert len(files) == 745
    checked = 0
    problems = []
    for path in files:
        body = re.sub(rb"(<entry\b[^>]*>)", rb"\1<id>urn:test:1</id>", path.read_bytes())
        body = re.sub(rb"(<item\b[^>]*>)", rb"\1<guid>urn:test:1</guid>", body)
        problems += [f"{path.name}: {msg}" for msg in parse_corpus_file(body)]
        checked += b"urn:test:1" in body
    assert checked > 550
    assert problems == []
