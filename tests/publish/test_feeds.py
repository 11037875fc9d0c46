"""Feeds over HTTP: routes, formats, paging, caching headers, conditional requests."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import feedparser
import orjson
import pytest
from lxml import etree

from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import FeedsSettings
from feedsvc.models import Article, stable_id
from feedsvc.publish.cache import VersionReader
from feedsvc.storage.store import Store
from tests.conftest import BASE

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


def article(n: int, cats=("KALTARA",), **kw) -> Article:
    link = f"https://news.example/2026/11/20/berita-{n}/"
    fields = {
        "title": f"Berita {n}",
        "content": f"<p>Isi berita {n}</p>",
        "summary": f"Ringkasan {n}",
        "author": "Wira",
        "published": T0 + timedelta(hours=n),
    }
    fields.update(kw)
    return Article(id=stable_id(link), link=link, categories=cats, source="test", **fields)


async def fill(store: Store, n: int, cats=("KALTARA",)) -> None:
    for i in range(n):
        await store.upsert(article(i, cats))


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feeds/kaltara.rss", "application/rss+xml; charset=utf-8"),
        ("/feeds/kaltara.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds/kaltara.json", "application/feed+json; charset=utf-8"),
        ("/feeds/all.rss", "application/rss+xml; charset=utf-8"),
        ("/feed/", "application/rss+xml; charset=utf-8"),
        ("/feed", "application/rss+xml; charset=utf-8"),
        ("/feed/atom/", "application/atom+xml; charset=utf-8"),
        ("/category/kaltara/feed/", "application/rss+xml; charset=utf-8"),
        ("/category/kaltara/feed/atom/", "application/atom+xml; charset=utf-8"),
    ],
)
async def test_every_route_serves_its_format(client, store, path, content_type) -> None:
    await fill(store, 3)
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == content_type
    body = await resp.read()
    if "json" in content_type:
        feed = orjson.loads(body)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert [i["title"] for i in feed["items"]] == ["Berita 2", "Berita 1", "Berita 0"]
    else:
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert [e.title for e in parsed.entries] == ["Berita 2", "Berita 1", "Berita 0"]


async def test_rss_carries_what_a_wordpress_feed_carries(client, store) -> None:
    await store.upsert(article(1, ("KALTARA", "Bulungan")))
    root = etree.fromstring(await (await client.get("/feeds/kaltara.rss")).read())
    channel = root.find("channel")
    assert channel.findtext("language") == "id"
    assert channel.findtext("lastBuildDate").endswith("+0800")
    self_link = channel.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == f"{BASE}/feeds/kaltara.rss"
    item = channel.find("item")
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext("pubDate") == "Fri, 20 Nov 2026 11:00:00 +0800"
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Wira"
    assert [c.text for c in item.findall("category")] == ["KALTARA", "Bulungan"]
    assert (
        item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") == "<p>Isi berita 1</p>"
    )


async def test_unknown_category_and_format_are_404(client, store) -> None:
    await fill(store, 1)
    for path in (
        "/feeds/olahraga.rss",
        "/feeds/kaltara.xls",
        "/feeds/kaltara",
        "/category/olahraga/feed/",
        "/feeds/" + "a" * 300 + ".rss",
        "/feeds/..%2Fkaltara.rss",
        "/feeds/%2e%2e.rss",
        "/feeds/ka%00ltara.rss",
    ):
        resp = await client.get(path)
        assert resp.status == 404, path


async def test_uppercase_category_redirects_to_the_slug(client, store) -> None:
    await fill(store, 1)
    resp = await client.get("/feeds/KALTARA.rss", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"].endswith("/feeds/kaltara.rss")


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=51", "limit=abc", "limit=-1", "limit=1e3", "page=0", "page=x",
     "limit=99999999999999999999", "page=١", "limit=5&limit=6"],
)  # fmt: skip
async def test_bad_limit_or_page_is_400_in_plain_text(client, store, query) -> None:
    await fill(store, 1)
    resp = await client.get(f"/feeds/kaltara.rss?{query}")
    assert resp.status == 400
    assert resp.content_type == "text/plain"
    assert "limit" in await resp.text() or "page" in await resp.text()


async def test_paging_links_and_pages(client, store) -> None:
    await fill(store, 12)
    resp = await client.get("/feeds/kaltara.atom?page=2")
    root = etree.fromstring(await resp.read())
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["self"] == f"{BASE}/feeds/kaltara.atom?page=2"
    assert links["first"] == f"{BASE}/feeds/kaltara.atom"
    assert links["previous"] == f"{BASE}/feeds/kaltara.atom"
    assert links["next"] == f"{BASE}/feeds/kaltara.atom?page=3"
    assert links["last"] == f"{BASE}/feeds/kaltara.atom?page=3"
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert titles == [f"Berita {n}" for n in (6, 5, 4, 3, 2)]

    rss = etree.fromstring(await (await client.get("/feeds/kaltara.rss?page=3")).read())
    rels = {link.get("rel") for link in rss.find("channel").findall(f"{ATOM}link")}
    assert {"self", "first", "previous", "last"} <= rels and "next" not in rels

    first = orjson.loads(await (await client.get("/feeds/kaltara.json?limit=4")).read())
    assert first["next_url"] == f"{BASE}/feeds/kaltara.json?limit=4&page=2"
    last = orjson.loads(await (await client.get("/feeds/kaltara.json?limit=4&page=3")).read())
    assert "next_url" not in last and len(last["items"]) == 4
    assert (await client.get("/feeds/kaltara.json?limit=4&page=4")).status == 404


async def test_strong_etag_and_conditional_requests(client, store) -> None:
    await fill(store, 3)
    first = await client.get("/feeds/kaltara.rss")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert "Accept-Encoding" in first.headers["Vary"]
    assert (await client.get("/feeds/kaltara.rss")).headers["ETag"] == etag

    resp = await client.get("/feeds/kaltara.rss", headers={"If-None-Match": etag})
    assert resp.status == 304 and await resp.read() == b""
    assert resp.headers["ETag"] == etag
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    assert "Accept-Encoding" in resp.headers["Vary"]

    resp = await client.get("/feeds/kaltara.rss", headers={"If-Modified-Since": last_modified})
    assert resp.status == 304
    # If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.1.3).
    resp = await client.get(
        "/feeds/kaltara.rss",
        headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified},
    )
    assert resp.status == 200
    older = format_datetime(T0, usegmt=True)
    resp = await client.get("/feeds/kaltara.rss", headers={"If-Modified-Since": older})
    assert resp.status == 200


async def test_last_modified_is_the_newest_item_of_that_feed(client, store) -> None:
    await store.upsert(article(1, ("KALTARA",)))
    await store.upsert(article(9, ("Olahraga",)))
    kaltara = await client.get("/feeds/kaltara.rss")
    assert kaltara.headers["Last-Modified"] == format_datetime(T0 + timedelta(hours=1), usegmt=True)
    every = await client.get("/feeds/all.rss")
    assert every.headers["Last-Modified"] == format_datetime(T0 + timedelta(hours=9), usegmt=True)


async def test_gzip_when_accepted_with_its_own_etag(client, store) -> None:
    await fill(store, 5)
    plain = await client.get("/feeds/kaltara.rss", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    raw = await plain.read()
    resp = await client.get(
        "/feeds/kaltara.rss", headers={"Accept-Encoding": "gzip, deflate"}, auto_decompress=False
    )
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await resp.read()) == raw
    assert resp.headers["ETag"] != plain.headers["ETag"]
    refused = await client.get("/feeds/kaltara.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    again = await client.get(
        "/feeds/kaltara.rss",
        headers={"Accept-Encoding": "gzip", "If-None-Match": resp.headers["ETag"]},
    )
    assert again.status == 304


async def test_head_gives_headers_without_body(client, store) -> None:
    await fill(store, 2)
    get = await client.get("/feeds/kaltara.atom", headers={"Accept-Encoding": "identity"})
    head = await client.head("/feeds/kaltara.atom", headers={"Accept-Encoding": "identity"})
    assert head.status == 200 and await head.read() == b""
    for name in ("ETag", "Last-Modified", "Content-Type", "Cache-Control"):
        assert head.headers[name] == get.headers[name]


async def test_a_new_article_shows_on_the_next_request(client, store) -> None:
    await fill(store, 2)
    before = await client.get("/feeds/kaltara.rss")
    every = await client.get("/feeds/all.json")
    await store.upsert(article(5))
    after = await client.get("/feeds/kaltara.rss")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert feedparser.parse(await after.read()).entries[0].title == "Berita 5"
    every_after = await client.get("/feeds/all.json")
    assert orjson.loads(await every_after.read())["items"][0]["title"] == "Berita 5"
    assert every_after.headers["ETag"] != every.headers["ETag"]


async def test_cache_hits_skip_rendering_and_misses_render_once(client, store) -> None:
    await fill(store, 3)
    cache = client.app[appkeys.METRICS].cache
    resps = await asyncio.gather(*(client.get("/feeds/kaltara.atom") for _ in range(20)))
    assert {r.status for r in resps} == {200}
    assert cache.labels("miss")._value.get() == 1
    assert cache.labels("hit")._value.get() == 19


async def test_tricky_text_round_trips_and_scripts_never_come_out(client, store) -> None:
    title = 'Harga <naik> & "turun" — Rp 5.000 😀 ]]> selesai'
    content = "<p>Kata &amp; tanda &lt;b&gt; ]]&gt; 🌧️ hujan di Tanjung Selor</p>"
    await store.upsert(article(1, title=title, content=content, author="Wira & Rudi"))
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(await (await client.get(f"/feeds/kaltara.{fmt}")).read())
        assert parsed.bozo == 0
        assert parsed.entries[0].title == title
        assert parsed.entries[0].content[0].value == content
        assert parsed.entries[0].author == "Wira & Rudi"
    item = orjson.loads(await (await client.get("/feeds/kaltara.json")).read())["items"][0]
    assert item["title"] == title and item["content_html"] == content


async def test_websub_hub_link_in_feed_and_header(aiohttp_client, redis, settings, store) -> None:
    hub = "https://hub.example/"
    settings = dataclasses.replace(settings, feeds=FeedsSettings(websub_hub=hub))
    client = await aiohttp_client(make_app(settings))
    await fill(store, 1)
    resp = await client.get("/feeds/kaltara.atom")
    assert f'<{hub}>; rel="hub"' in resp.headers["Link"]
    assert f'<{BASE}/feeds/kaltara.atom>; rel="self"' in resp.headers["Link"]
    root = etree.fromstring(await resp.read())
    assert root.find(f"{ATOM}link[@rel='hub']").get("href") == hub


async def test_empty_category_feed_and_metrics(client, store) -> None:
    resp = await client.get("/feeds/all.rss")
    assert resp.status == 200 and feedparser.parse(await resp.read()).bozo == 0
    await fill(store, 2)
    await client.get("/feeds/kaltara.rss")
    text = await (await client.get("/metrics")).text()
    assert "feedsvc_articles_stored 2.0" in text
    assert 'feedsvc_http_requests_total{route="/feeds/{file}",status="200"}' in text
    assert 'feedsvc_render_cache_total{result="miss"}' in text


async def test_requests_in_one_tick_share_one_version_read(store) -> None:
    await fill(store, 1)
    reads: list[list] = []
    real = store.feed_versions

    async def counting(slugs):
        reads.append(list(slugs))
        return await real(slugs)

    store.feed_versions = counting
    reader = VersionReader(store)
    got = await asyncio.gather(*(reader.version(s) for s in ["kaltara", None, "kaltara", "nope"]))
    assert reads == [["kaltara", None, "nope"]]
    assert got[0] == got[2] > 0 and got[1] > 0 and got[3] is None
    await store.upsert(article(7))
    assert await reader.version("kaltara") == got[0] + 1  # a change before the request is seen
    assert len(reads) == 2
