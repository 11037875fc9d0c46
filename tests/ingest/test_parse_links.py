"""Listing pages read: which links are article links, by heuristics or a CSS selector."""

from __future__ import annotations

import pytest

from feedsvc.ingest.parse import ParseError, find_article_links, is_post_link
from tests.ingest.parsing import HTML, LISTING, SEED_URL, SITE, data


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
