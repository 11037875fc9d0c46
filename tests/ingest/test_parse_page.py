"""Article pages read: the seed article, bodies, dates, categories, authors, charsets.

And pages that hold no article.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.dates import WITA
from feedsvc.ingest.parse import Entry, parse_article_page, parse_feed
from feedsvc.ingest.sanitize import html_to_text
from tests.fakes.site import SHARED
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
)

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
    feed = parse_feed(
        data("feeds/wordpress-category-kaltara.xml"), RSS, f"{SITE}/category/kaltara/feed/"
    )
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


def test_htmldate_reads_the_page_as_it_came() -> None:
    # The only date sits in a share bar, which is taken off the page before the body
    # is extracted; htmldate still reads it, on the site's (WITA) calendar day.
    share = '<div class="share-bar">Diterbitkan 2025-09-24 · Bagikan: <a href="/fb">FB</a></div>'
    body = page(article=f"<h1>Judul</h1>{share}{BODY}")
    entry = parse_article_page(body, HTML, f"{SITE}/judul/", now=NOW)
    assert entry is not None
    assert entry.published == datetime(2025, 9, 24, tzinfo=WITA)
    assert "Bagikan" not in entry.content


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
