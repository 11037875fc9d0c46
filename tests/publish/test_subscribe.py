"""`/kategori/{slug}`: the "how to subscribe" page the index page's feed links lead to."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from urllib.parse import quote

from lxml import html

from feedsvc.config import Settings, TelegramSettings
from feedsvc.models import Article, stable_id
from feedsvc.publish.render import FORMATS
from feedsvc.publish.subscribe import render_subscribe
from tests.conftest import BASE

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
READER_ACCEPT = "application/rss+xml, application/xml;q=0.9, */*;q=0.1"


def nasty_article() -> Article:
    link = "https://news.example/2026/12/02/x/"
    return Article(
        id=stable_id(link), link=link, title="x", categories=('Hukum & "Kriminal" <b>',),
        published=datetime(2026, 12, 2, tzinfo=UTC), source="test",
    )  # fmt: skip


async def test_the_page_gives_feed_urls_reader_links_and_discovery(client) -> None:
    resp = await client.get("/kategori/kaltara")
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/html; charset=utf-8"
    doc = html.fromstring(await resp.text())
    assert doc.cssselect("h1")[0].text == "Berlangganan KALTARA"
    urls = {dt.get("id"): dd.findtext("code") for dt, dd in zip(
        doc.cssselect("dt"), doc.cssselect("dd"), strict=True)}  # fmt: skip
    assert urls == {fmt: f"{BASE}/feeds/kaltara.{fmt}" for fmt in FORMATS}
    rss = quote(f"{BASE}/feeds/kaltara.rss", safe="")
    readers = {a.text: a.get("href") for a in doc.cssselect(".readers a")}
    assert readers == {
        "Feedly": f"https://feedly.com/i/subscription/feed%2F{rss}",
        "Inoreader": f"https://www.inoreader.com/?add_feed={rss}",
        "NewsBlur": f"https://www.newsblur.com/?url={rss}",
    }
    alternates = [link.get("href") for link in doc.cssselect('link[rel="alternate"]')]
    assert alternates == [f"{BASE}/feeds/kaltara.{fmt}" for fmt in FORMATS]
    assert not doc.cssselect("#telegram")  # no bot configured: no bot command offered
    for url in urls.values():
        assert (await client.get(url.removeprefix(BASE))).status == 200


def test_with_a_bot_the_page_gives_its_command() -> None:
    settings = dataclasses.replace(Settings(), telegram=TelegramSettings(token="1:x"))
    doc = html.fromstring(render_subscribe(settings, "kaltara", "KALTARA"))
    assert doc.cssselect("#telegram + p code")[0].text == "/langganan kaltara"
    every = html.fromstring(render_subscribe(settings, None, "Semua berita"))
    assert every.cssselect("#telegram + p code")[0].text == "/langganan semua"
    assert "1:x" not in render_subscribe(settings, None, "Semua berita")


async def test_all_news_page_and_unknown_categories(client) -> None:
    doc = html.fromstring(await (await client.get("/kategori/all")).text())
    assert doc.cssselect("h1")[0].text == "Berlangganan Semua berita"
    assert doc.cssselect("dd code")[0].text == f"{BASE}/feeds/all.rss"
    for path in ("/kategori/samarinda", "/kategori/Bad%20Slug", "/kategori/", "/kategori/a/b"):
        assert (await client.get(path)).status == 404, path


async def test_names_are_escaped_and_the_page_is_cacheable(client, store) -> None:
    await store.upsert(nasty_article())
    resp = await client.get("/kategori/hukum-kriminal-b")
    text = await resp.text()
    assert resp.status == 200 and "<b>" not in text.split("<body>")[1].replace("<b>x</b>", "")
    assert html.fromstring(text).cssselect("h1")[0].text == 'Berlangganan Hukum & "Kriminal" <b>'
    again = await client.get(
        "/kategori/hukum-kriminal-b", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status == 304


async def test_feeds_stay_byte_identical_whoever_asks(client, store) -> None:
    await store.upsert(nasty_article())
    for path in ("/feeds/all.rss", "/feeds/kaltara.atom", "/feed/"):
        browser = await client.get(path, headers={"Accept": BROWSER_ACCEPT})
        reader = await client.get(path, headers={"Accept": READER_ACCEPT})
        plain = await client.get(path)
        assert browser.status == reader.status == plain.status == 200, path
        assert await browser.read() == await reader.read() == await plain.read(), path
        assert browser.headers["Content-Type"] == reader.headers["Content-Type"], path
        assert browser.headers["ETag"] == reader.headers["ETag"], path
