"""GET /api/articles?q=: the search of feedsvc/search.py over the real store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from feedsvc.app import make_app
from feedsvc.models import Article, stable_id
from feedsvc.search import search
from feedsvc.storage.store import Store
from feedsvc.words import parse_keywords

NOW = datetime.now(UTC)


def post(title: str, minutes: int, summary: str = "", category: str = "KALTARA") -> Article:
    link = f"https://news.example/{minutes}/"
    return Article(
        id=stable_id(link),
        title=title,
        link=link,
        categories=(category,),
        published=NOW - timedelta(minutes=minutes),
        summary=summary,
        source="test",
    )


NEWS = [
    post("Banjir rendam Tanjung Selor", 50),
    post("Jalan putus", 40, summary="MALINAU – Tanah longsor dan banjir menutup jalan."),
    post("Warga Sebatik kebanjiran", 30, category="Nunukan"),
    post("Harga sembako naik", 20),
    post("Pembangunan jembatan Bulungan", 10),
]


@pytest.fixture
async def client(aiohttp_client, settings, store: Store):
    for article in NEWS:
        await store.upsert(article)
    return await aiohttp_client(make_app(settings))


async def titles(client, **params) -> list[str]:
    resp = await client.get("/api/articles", params=params)
    assert resp.status == 200
    return [a["title"] for a in (await resp.json())["articles"]]


async def test_q_finds_whole_words_in_titles_and_leads_newest_first(client) -> None:
    assert await titles(client, q="banjir") == [
        "Warga Sebatik kebanjiran",
        "Jalan putus",
        "Banjir rendam Tanjung Selor",
    ]
    assert await titles(client, q="BANJIR longsor") == ["Jalan putus"]  # every word
    assert await titles(client, q="banjir -longsor", category="kaltara") == [
        "Banjir rendam Tanjung Selor"
    ]
    assert await titles(client, q="bangun") == ["Pembangunan jembatan Bulungan"]
    assert await titles(client, q="band") == []  # whole words only


async def test_q_pages_with_next(client) -> None:
    resp = await client.get("/api/articles", params={"q": "banjir", "limit": 2})
    first = await resp.json()
    assert [a["title"] for a in first["articles"]] == ["Warga Sebatik kebanjiran", "Jalan putus"]
    second = await (await client.get(first["next"])).json()
    assert [a["title"] for a in second["articles"]] == ["Banjir rendam Tanjung Selor"]
    assert "next" not in second


@pytest.mark.parametrize("q", ["", "   ", "🌊", "...", "-banjir", "x" * 500])
async def test_bad_q_is_a_400_naming_q(client, q: str) -> None:
    resp = await client.get("/api/articles", params={"q": q})
    assert resp.status == 400 and (await resp.json())["field"] == "q"


async def test_search_reads_the_store_in_pages_and_stops_at_max_scan(store: Store) -> None:
    for n in range(30):
        await store.upsert(post(f"Berita {n}" + (" banjir" if n in (3, 27) else ""), n + 100))
    query = parse_keywords("banjir")
    found = await search(store, query, 10)
    assert [a.title for a in found] == ["Berita 3 banjir", "Berita 27 banjir"]
    assert [a.title for a in await search(store, query, 10, max_scan=10)] == ["Berita 3 banjir"]


@pytest.mark.both_redis
async def test_the_first_pass_in_redis_returns_only_candidates_and_goes_on_from_its_cursor(
    store: Store,
) -> None:
    for n in range(30):
        await store.upsert(post(f"Berita {n}" + (" kebanjiran" if n in (4, 20) else ""), n + 100))
    nowhere = await store.candidates(None, None, scan=1000, want=20, needles=["kspedisi"])
    assert nowhere.found == [] and nowhere.looked == 30
    first = await store.candidates(None, None, scan=10, want=20, needles=["anjir"])
    assert [i for i, _ in first.found] == [stable_id("https://news.example/104/")]
    assert first.looked == 10 and first.after is not None
    rest = await store.candidates(None, first.after, scan=1000, want=20, needles=["anjir"])
    assert [i for i, _ in rest.found] == [stable_id("https://news.example/120/")]
    assert rest.looked == 20
    assert [a.title for a in await search(store, parse_keywords("banjir"), 10)] == [
        "Berita 4 kebanjiran",
        "Berita 20 kebanjiran",
    ]


@pytest.mark.both_redis
async def test_articles_stored_before_their_words_were_kept_are_found_and_get_them(
    store: Store,
) -> None:
    for article in NEWS:
        await store.upsert(article)
    for article in NEWS:  # as a store written by an earlier version holds them
        await store.redis.hdel(f"feedsvc:{{news}}:article:{article.id}", "w")
    query = parse_keywords("banjir")
    expected = ["Warga Sebatik kebanjiran", "Jalan putus", "Banjir rendam Tanjung Selor"]
    assert [a.title for a in await search(store, query, 10)] == expected
    kept = await store.candidates(None, None, scan=100, want=100, needles=["anjir"])
    assert len(kept.found) == 3 and all(words for _, words in kept.found)
    assert [a.title for a in await search(store, query, 10)] == expected


@pytest.mark.both_redis
async def test_an_updated_article_is_searched_by_its_new_words(store: Store) -> None:
    first = post("Jalan putus", 5)
    await store.upsert(first)
    assert await search(store, parse_keywords("longsor"), 10) == []
    changed = dataclasses.replace(first, title="Jalan putus tertimbun longsor", content_hash="")
    assert (await store.upsert(changed)).status == "updated"
    assert [a.title for a in await search(store, parse_keywords("longsor"), 10)] == [
        "Jalan putus tertimbun longsor"
    ]
