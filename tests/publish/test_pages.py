"""The HTML index (`GET /`) and `GET /opml`: content, escaping, links that resolve."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from lxml import etree, html

from feedsvc.config import Settings
from feedsvc.models import Article, stable_id
from feedsvc.publish.pages import render_index, render_opml
from feedsvc.publish.render import FORMATS
from feedsvc.storage.store import Category, Store
from tests.conftest import BASE

LEAD = (
    "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si menandatangani nota "
    "kesepakatan (MoU) dengan Badan Pertanahan Nasional untuk mengintegrasikan data "
    "pajak daerah dan data pertanahan."
)
FEED_TYPES = {
    "application/rss+xml": "application/rss+xml; charset=utf-8",
    "application/atom+xml": "application/atom+xml; charset=utf-8",
    "application/feed+json": "application/feed+json; charset=utf-8",
}


def article(n: int, published: datetime, cats=("KALTARA",), **kw) -> Article:
    link = f"https://news.example/2026/11/20/berita-{n}/"
    fields = {"title": f"Berita {n}", "summary": LEAD, "author": "Wira", "published": published}
    fields.update(kw)
    return Article(id=stable_id(link), link=link, categories=cats, source="test", **fields)


async def fill(store: Store) -> datetime:
    now = datetime.now(UTC)
    await store.upsert(article(1, now - timedelta(days=3), ("KALTARA", "Bulungan")))
    await store.upsert(article(2, now - timedelta(hours=10, minutes=5)))
    await store.upsert(article(3, now - timedelta(minutes=25), ("Nasional",)))
    return now


async def page(client, path: str = "/") -> html.HtmlElement:
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    return html.fromstring(await resp.text())


def path_of(href: str) -> str:
    assert href.startswith(BASE + "/"), href
    return href.removeprefix(BASE)


async def test_index_lists_latest_posts_newest_first(client, store) -> None:
    await fill(store)
    doc = await page(client)
    assert doc.get("lang") == "id"
    assert doc.findtext(".//title") == "Berita Kaltara"
    posts = doc.cssselect("ol.posts > li")
    titles = [p.cssselect("h3 a")[0].text for p in posts]
    assert titles == ["Berita 3", "Berita 2", "Berita 1"]
    ages = [p.cssselect("time")[0].text for p in posts]
    assert ages == ["25 menit lalu", "10 jam lalu", "3 hari lalu"]
    first = posts[0]
    assert first.cssselect("h3 a")[0].get("href") == "https://news.example/2026/11/20/berita-3/"
    assert "Nasional" in first.cssselect(".meta")[0].text_content()
    assert "Wira" in first.cssselect(".meta")[0].text_content()
    lead = first.cssselect(".lead")[0].text
    assert lead.startswith("TANJUNG SELOR - Bupati Bulungan") and lead.endswith("…")
    assert len(lead) <= 121 and not lead.endswith(" …")
    assert LEAD.startswith(lead.removesuffix("…"))


def test_time_element_has_the_exact_wita_time() -> None:
    published = datetime(2025, 9, 25, 7, 30, tzinfo=UTC)
    now = published + timedelta(hours=10)
    doc = html.fromstring(render_index(Settings(), [], [article(1, published)], now))
    time = doc.cssselect("time")[0]
    assert time.text == "10 jam lalu"
    assert time.get("datetime") == "2025-09-25T15:30:00+08:00"
    assert time.get("title") == "Kamis, 25 September 2025 15:30 WITA"


async def test_index_lists_categories_with_counts_and_feeds(client, store) -> None:
    await fill(store)
    doc = await page(client)
    cats = {
        li.cssselect("b")[0].text: li.cssselect(".count")[0].text
        for li in doc.cssselect(".cats li")
    }
    assert cats == {
        "KALTARA": "(2 berita)",
        "Bulungan": "(1 berita)",
        "Nasional": "(1 berita)",
    }
    kaltara = doc.get_element_by_id("kategori-kaltara")
    # Feed links lead people to the "how to subscribe" page, at that format's URL.
    hrefs = [a.get("href") for a in kaltara.cssselect(".feeds a")]
    assert hrefs == [f"{BASE}/kategori/kaltara#{ext}" for ext in ("rss", "atom", "json")]
    assert [a.text for a in kaltara.cssselect(".feeds a")] == ["RSS", "Atom", "JSON Feed"]


async def test_every_feed_and_autodiscovery_link_resolves(client, store) -> None:
    await fill(store)
    doc = await page(client)
    alternates = doc.cssselect('head link[rel="alternate"]')
    # The all-news feeds, then the biggest category's.
    assert [path_of(a.get("href")) for a in alternates] == [
        "/feeds/all.rss",
        "/feeds/all.atom",
        "/feeds/all.json",
        "/feeds/kaltara.rss",
        "/feeds/kaltara.atom",
        "/feeds/kaltara.json",
    ]
    assert all(a.get("title") for a in alternates)
    typed = alternates + doc.cssselect("a[type]")
    assert len(typed) == 6 + 1  # autodiscovery, and the OPML link
    for link in typed:
        resp = await client.get(path_of(link.get("href")))
        assert resp.status == 200, link.get("href")
        media = link.get("type")
        expected = FEED_TYPES.get(media, "text/x-opml; charset=utf-8")
        assert resp.headers["Content-Type"] == expected, link.get("href")
    pages = {path_of(a.get("href")).partition("#")[0] for a in doc.cssselect(".feeds a")}
    assert pages == {f"/kategori/{slug}" for slug in ("all", "kaltara", "bulungan", "nasional")}
    for path in pages:  # the subscribe page names the very feed URLs readers poll
        resp = await client.get(path)
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/html; charset=utf-8"
        slug = path.rpartition("/")[2]
        shown = html.fromstring(await resp.text()).cssselect("code.url")
        assert [c.text for c in shown] == [f"{BASE}/feeds/{slug}.{f}" for f in FORMATS]


async def test_titles_and_names_are_escaped(client, store) -> None:
    now = datetime.now(UTC)
    nasty = '<script>alert(1)</script> & "x"'
    await store.upsert(
        article(1, now, ("Hukum & <Kriminal>",), title=nasty, author="<b>Wira</b>", summary=nasty)
    )
    resp = await client.get("/")
    text = await resp.text()
    assert "<script>" not in text and "<b>Wira" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in text
    doc = html.fromstring(text)
    assert doc.cssselect("h3 a")[0].text == nasty
    assert doc.cssselect(".lead")[0].text == nasty
    assert doc.cssselect(".cats b")[0].text == "Hukum & <Kriminal>"
    assert not doc.cssselect("body script")


async def test_only_http_links_are_linked(client, store) -> None:
    now = datetime.now(UTC)
    bad = dataclasses.replace(article(1, now), link="javascript:alert(1)")
    await store.upsert(bad)
    doc = await page(client)
    heading = doc.cssselect("ol.posts h3")[0]
    assert heading.text == "Berita 1" and not heading.cssselect("a")
    assert "javascript:" not in html.tostring(doc, encoding="unicode")


async def test_empty_store_renders_a_friendly_page(client) -> None:
    doc = await page(client)
    assert "Belum ada berita" in doc.text_content()
    # telegram.push_categories (KALTARA by default) is there from the start.
    [row] = doc.cssselect("ul.cats > li")
    assert row.get("id") == "kategori-kaltara" and "(0 berita)" in row.text_content()
    # The all-news and the configured category's feeds exist before the first article.
    for link in doc.cssselect('link[rel="alternate"]'):
        assert (await client.get(path_of(link.get("href")))).status == 200
    assert len(doc.cssselect('link[rel="alternate"]')) == 6


async def test_index_is_cacheable_and_head_works(client, store) -> None:
    await fill(store)
    first = await client.get("/")
    assert first.headers["Cache-Control"] == "public, max-age=60"
    etag = first.headers["ETag"]
    resp = await client.get("/", headers={"If-None-Match": etag})
    # Same bytes unless a minute ticked over and an age changed in between.
    assert resp.status in (200, 304)
    if resp.status == 304:
        assert await resp.read() == b""
    head = await client.head("/")
    assert head.status == 200 and head.headers["Content-Type"].startswith("text/html")
    gz = await client.get("/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert gz.headers["Content-Encoding"] == "gzip"


async def test_unknown_paths_stay_404(client) -> None:
    for path in ("/index.php", "/opml.xml", "/opml/x", "/wp-admin/"):
        assert (await client.get(path)).status == 404, path


async def test_opml_lists_every_category_feed(client, store) -> None:
    await fill(store)
    resp = await client.get("/opml")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/x-opml; charset=utf-8"
    root = etree.fromstring(await resp.read())
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Berita Kaltara"
    assert root.findtext("head/dateModified").endswith("+0800")
    assert root.findtext("head/dateCreated")
    outlines = root.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        f"{BASE}/feeds/{slug}.rss" for slug in ("all", "kaltara", "bulungan", "nasional")
    ]
    for outline in outlines:
        assert outline.get("type") == "rss"
        assert outline.get("text") == outline.get("title") != ""
        assert outline.get("htmlUrl") == f"{BASE}/"
        feed = await client.get(path_of(outline.get("xmlUrl")))
        assert feed.status == 200
        assert feed.headers["Content-Type"] == "application/rss+xml; charset=utf-8"


async def test_opml_of_an_empty_store_has_the_all_and_configured_feeds(client) -> None:
    resp = await client.get("/opml")
    assert resp.status == 200
    root = etree.fromstring(await resp.read())
    urls = [o.get("xmlUrl") for o in root.iter("outline")]
    assert urls == [f"{BASE}/feeds/all.rss", f"{BASE}/feeds/kaltara.rss"]


def test_opml_escapes_names() -> None:
    cats = [Category("hukum-kriminal", 'Hukum & "Kriminal" <x>', 2)]
    root = etree.fromstring(render_opml(Settings(), cats, None))
    assert root.findall("body/outline")[1].get("text") == 'Berita Kaltara — Hukum & "Kriminal" <x>'


async def test_an_article_stored_without_a_summary_shows_no_lead_and_no_markup(
    client, store
) -> None:
    now = datetime.now(UTC)
    hostile = "<script>alert(1)</script><p onclick='x()'>Isi</p>"
    await store.upsert(article(1, now, summary="", content=hostile))
    text = await (await client.get("/")).text()
    assert "alert(1)" not in text and "onclick" not in text
    assert not html.fromstring(text).cssselect(".lead")
    assert "Berita 1" in text
