"""Configured categories exist from the first start: feeds, /opml, /api/categories, the index."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import feedparser
import orjson
import pytest
from lxml import etree, html

from feedsvc.app import make_app
from feedsvc.config import Settings, SourceSettings, TelegramSettings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Article, Source, stable_id
from feedsvc.storage import keys
from feedsvc.storage.store import Store
from tests.conftest import BASE

ATOM = "{http://www.w3.org/2005/Atom}"
CONFIGURED = {"kaltara": "KALTARA", "bulungan": "Bulungan", "nunukan": "Nunukan"}


@pytest.fixture
def configured(settings: Settings) -> Settings:
    """A source with category Bulungan; push_categories KALTARA and Nunukan."""
    url = "https://bulungan.example/"
    source = SourceSettings(name="bulungan-web", url=url, category="Bulungan")
    telegram = TelegramSettings(push_categories=("KALTARA", "Nunukan"))
    return dataclasses.replace(settings, sources=(source,), telegram=telegram)


@pytest.fixture
async def fresh(aiohttp_client, redis, configured: Settings):
    """The web app on an empty store with that config."""
    return await aiohttp_client(make_app(configured))


def article(published: datetime, cats=("KALTARA",)) -> Article:
    link = "https://news.example/2026/12/02/pertama/"
    return Article(
        id=stable_id(link), link=link, title="Berita pertama", categories=cats,
        published=published, source="test",
    )  # fmt: skip


async def started_at(redis) -> datetime:
    return datetime.fromtimestamp(int(await redis.get(keys.STARTED)) / 1000, UTC)


async def test_configured_feeds_answer_empty_with_the_stores_start_date(fresh, redis) -> None:
    started = await started_at(redis)
    assert abs(datetime.now(UTC) - started) < timedelta(minutes=1)
    expected = format_datetime(started.replace(microsecond=0), usegmt=True)
    for slug, name in CONFIGURED.items():
        for fmt in ("rss", "atom", "json"):
            resp = await fresh.get(f"/feeds/{slug}.{fmt}")
            assert resp.status == 200, (slug, fmt)
            assert resp.headers["Last-Modified"] == expected, (slug, fmt)
            assert "2000" not in resp.headers["Last-Modified"]
            body = await resp.read()
            if fmt == "json":
                feed = orjson.loads(body)
                assert feed["items"] == [] and feed["title"].endswith(name)
                assert feed["feed_url"] == f"{BASE}/feeds/{slug}.json"
                continue
            parsed = feedparser.parse(body)
            assert parsed.bozo == 0 and parsed.entries == []
            assert parsed.feed.title == f"Berita Kaltara — {name}"
            assert parsedate_to_datetime(expected) == datetime(
                *parsed.feed.updated_parsed[:6], tzinfo=UTC
            )
            root = etree.fromstring(body)
            if fmt == "atom":  # what the validator requires of an Atom feed without entries
                for child in ("id", "title", "updated", "author/" + ATOM + "name"):
                    assert root.findtext(ATOM + child), child
            else:
                for child in ("title", "link", "description", "lastBuildDate"):
                    assert root.findtext(f"channel/{child}"), child
    assert (await fresh.get("/feeds/samarinda.rss")).status == 404  # not configured


async def test_the_start_is_recorded_once(aiohttp_client, redis, configured: Settings) -> None:
    first = await aiohttp_client(make_app(configured))
    modified = (await first.get("/feeds/bulungan.rss")).headers["Last-Modified"]
    started = await redis.get(keys.STARTED)
    await first.close()
    again = await aiohttp_client(make_app(configured))  # a restart, later
    assert await redis.get(keys.STARTED) == started
    resp = await again.get("/feeds/bulungan.rss")
    assert resp.headers["Last-Modified"] == modified
    since = {"If-Modified-Since": modified}
    assert (await again.get("/feeds/bulungan.rss", headers=since)).status == 304


async def test_an_article_dates_the_feed_and_other_categories_stay_empty(fresh, redis) -> None:
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    await Store(redis).upsert(article(published))
    resp = await fresh.get("/feeds/kaltara.rss")
    assert resp.headers["Last-Modified"] == format_datetime(published, usegmt=True)
    assert len(feedparser.parse(await resp.read()).entries) == 1
    assert feedparser.parse(await (await fresh.get("/feeds/nunukan.rss")).read()).entries == []


async def test_opml_api_and_index_list_configured_categories(fresh) -> None:
    root = etree.fromstring(await (await fresh.get("/opml")).read())
    urls = [o.get("xmlUrl") for o in root.iter("outline")]
    assert urls[0] == f"{BASE}/feeds/all.rss"
    assert sorted(urls[1:]) == sorted(f"{BASE}/feeds/{slug}.rss" for slug in CONFIGURED)

    body = await (await fresh.get("/api/categories")).json()
    got = {c["slug"]: (c["name"], c["count"]) for c in body["categories"]}
    assert got == {slug: (name, 0) for slug, name in CONFIGURED.items()}

    doc = html.fromstring(await (await fresh.get("/")).text())
    rows = {li.get("id"): li.text_content() for li in doc.cssselect("ul.cats > li")}
    assert set(rows) == {f"kategori-{slug}" for slug in CONFIGURED}
    for slug, name in CONFIGURED.items():
        assert name in rows[f"kategori-{slug}"] and "(0 berita)" in rows[f"kategori-{slug}"]
    assert "Belum ada kategori" not in doc.text_content()


async def test_an_undeclared_category_with_no_article_is_not_listed(fresh, redis) -> None:
    # A category every article left (e.g. removed) is not shown as an empty row.
    await redis.hset(keys.CATEGORY_NAMES, "lama", "Lama")
    categories = await Store(redis).categories()
    assert "lama" not in {c.slug for c in categories}
    assert {c.slug for c in categories} == set(CONFIGURED)


async def test_a_source_added_at_run_time_declares_its_category(redis, configured) -> None:
    registry = SourceRegistry(redis, configured)
    source = Source(name="tarakan", url="https://tarakan.example/feed/", category="Tarakan")
    assert await registry.add(source)
    store = Store(redis)
    assert [(c.slug, c.count) for c in await store.categories()] == [("tarakan", 0)]
    assert await store.feed_versions(["tarakan"]) == [0]
    assert not await registry.add(source)  # taken: nothing more happens
