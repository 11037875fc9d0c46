"""Listing or article: a page of many article links is never stored as an article."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc.ingest.parse import ARTICLE, LISTING, NEITHER, read_page
from tests.fakes.site import article_page, listing_page

DATA = Path(__file__).resolve().parents[1] / "data"
PAGES = DATA / "pages"
NOW = datetime(2025, 9, 25, 12, 0, tzinfo=UTC)
HTML = {"Content-Type": "text/html; charset=UTF-8"}
SITE = "https://kaltara.example"
ARTICLES = sorted(PAGES.glob("*.json"))
TEASER = """<div class="post-item"><h3><a href="{site}/{slug}/">{title}</a></h3>
<p>{text}</p><span class="date">25 September 2025</span></div>"""
EXCERPT = (
    "TANJUNG SELOR – Pemerintah daerah menggelar rapat koordinasi bersama instansi vertikal "
    "untuk membahas program kerja tahun depan, termasuk pembangunan jalan dan jembatan."
)


def reading(body: bytes, url: str):
    return read_page(body, HTML, url, now=NOW)


def test_a_wordpress_category_page_is_a_listing() -> None:
    page = reading(
        (DATA / "listing-wordpress-category.html").read_bytes(), f"{SITE}/category/kaltara/"
    )
    assert page.kind == LISTING and page.entry is None
    assert (
        f"{SITE}/2025/09/25/target-pembangunan-merata-pemprov-kaltara-intensif-dampingi-kabupaten-kota/"
        in page.links
    )


def test_a_category_page_at_a_post_like_url_is_a_listing_by_its_teasers() -> None:
    body = (DATA / "listing-wordpress-category.html").read_bytes()
    page = reading(body, f"{SITE}/berita-terbaru-dari-kalimantan-utara/")
    assert page.kind == LISTING, page.why
    assert "teasers" in page.why


def test_a_small_listing_with_two_links_is_a_listing() -> None:
    links = [
        f"{SITE}/2025/09/25/berita-pertama-hari-ini/",
        f"{SITE}/2025/09/24/berita-kedua-kemarin/",
    ]
    page = reading(listing_page(links), f"{SITE}/berita-warta-kaltara-terbaru/")
    assert page.kind == LISTING
    assert list(page.links) == links


def test_teasers_without_article_elements_make_a_listing() -> None:
    teasers = "".join(
        TEASER.format(
            site=SITE,
            slug=f"berita-daerah-nomor-{n}-hari-ini",
            title=f"Judul berita {n}",
            text=EXCERPT,
        )
        for n in range(5)
    )
    body = f"""<html><head><title>Berita Daerah - Warta Kaltara</title></head><body>
    <div class="menu"><a href="/">Beranda</a></div>
    <div class="daftar">{teasers}</div></body></html>"""
    page = reading(body.encode(), f"{SITE}/berita-daerah-kalimantan-utara/")
    assert page.kind == LISTING, page.why
    assert len(page.links) == 5


def test_a_home_page_marked_as_a_collection_is_a_listing() -> None:
    ld = '{"@context":"https://schema.org","@graph":[{"@type":"CollectionPage","@id":"x"}]}'
    teasers = "".join(
        TEASER.format(site=SITE, slug=f"berita-{n}-a-b-c", title=f"Judul {n}", text=EXCERPT * 3)
        for n in range(3)
    )
    body = f"""<html><head><script type="application/ld+json">{ld}</script><title>Warta</title>
    </head><body>{teasers}</body></html>"""
    page = reading(body.encode(), f"{SITE}/berita/")
    assert page.kind == LISTING, page.why


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem)
def test_real_shaped_article_pages_are_articles(path: Path) -> None:
    expected = json.loads(path.read_text(encoding="utf-8"))
    page = reading(path.with_suffix(".html").read_bytes(), expected["url"])
    assert page.kind == ARTICLE, page.why
    assert page.entry is not None and page.entry.title == expected["title"]


def test_an_article_with_related_teasers_and_no_metadata_is_an_article() -> None:
    paragraphs = [EXCERPT] * 3 + ["Penutup berita ini ditulis oleh wartawan kami di lapangan."]
    html = article_page("Judul Berita", paragraphs, canonical=f"{SITE}/2025/09/25/judul-berita/")
    page = reading(html, f"{SITE}/2025/09/25/judul-berita/")
    assert page.kind == ARTICLE, page.why


def test_a_page_with_nothing_on_it() -> None:
    page = reading(b"<html><body><p>Halaman tidak ditemukan.</p></body></html>", f"{SITE}/x/")
    assert page.kind == NEITHER and page.entry is None and not page.links
