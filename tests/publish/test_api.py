from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import ApiSettings, RedisSettings, Settings, SourceSettings
from feedsvc.storage import keys

TOKEN = "s3cret-token-for-tests"
PUBLISHED = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


@pytest.fixture
async def client(aiohttp_client, redis: Redis, redis_url: str):
    settings = dataclasses.replace(
        Settings(),
        redis=RedisSettings(url=redis_url),
        api=ApiSettings(tokens=("other-token", TOKEN)),
        sources=(
            SourceSettings("jurnal", "https://www.jurnalkaltara.com/feed/", category="KALTARA"),
        ),
    )
    return await aiohttp_client(make_app(settings))


def body(**overrides):
    article = {
        "title": "Target Pembangunan Merata, Pemprov Kaltara Intensif Dampingi Kabupaten/Kota",
        "link": "https://news.example/2025/09/25/target-pembangunan/",
        "categories": ["KALTARA"],
        "content": '<p>TANJUNG SELOR – Bappeda <a href="/tag/x">x</a></p><script>alert(1)</script>',
        "author": "Wira",
        "published": PUBLISHED,
    }
    article.update(overrides)
    return {k: v for k, v in article.items() if v is not None}


AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_post_creates_then_updates(client, redis: Redis) -> None:
    resp = await client.post("/api/articles", json=body(), headers=AUTH)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["status"] == "new" and resp.headers["Location"] == created["url"]

    resp = await client.post("/api/articles", json=body(), headers=AUTH)
    assert resp.status == 200 and (await resp.json())["status"] == "unchanged"
    resp = await client.post("/api/articles", json=body(title="Judul diperbarui"), headers=AUTH)
    assert resp.status == 200 and (await resp.json())["status"] == "updated"

    raw = await redis.hget(keys.article(created["id"]), "d")
    assert "<script" not in raw and "https://news.example/tag/x" in raw
    events = await redis.xrange(keys.EVENTS)
    assert [(e["event"], e["id"], e.get("pushable")) for _, e in events] == [
        ("new", created["id"], "1"),
        ("updated", created["id"], None),  # the title changed: pushed messages are corrected
    ]


async def test_old_posts_are_stored_but_not_pushable(client, redis: Redis) -> None:
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    resp = await client.post("/api/articles", json=body(published=old), headers=AUTH)
    assert resp.status == 201
    [(_, event)] = await redis.xrange(keys.EVENTS)
    assert event["pushable"] == "0"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer "}, 401),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403),
    ],
)
async def test_auth(client, headers, status) -> None:
    resp = await client.post("/api/articles", json=body(), headers=headers)
    assert resp.status == status
    assert "error" in await resp.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(title=None), "title"),
        (body(title="  "), "title"),
        (body(title=5), "title"),
        (body(link="ftp://x"), "link"),
        (body(link=None), "link"),
        (body(categories="KALTARA"), "categories"),
        (body(categories=[]), "categories"),
        (body(categories=["!!!"]), "categories"),
        (body(categories=["x" * 100]), "categories"),
        (body(published="kemarin"), "published"),
        (body(published="2025-09-25T10:00:00"), "published"),
        (body(content=["x"]), "content"),
        ({**body(), "categoires": ["x"]}, "categoires"),
        ([1, 2], None),
    ],
)
async def test_bad_bodies_name_the_field(client, payload, field) -> None:
    resp = await client.post("/api/articles", json=payload, headers=AUTH)
    assert resp.status == 400
    error = await resp.json()
    assert error["field"] == field and error["error"]


async def test_not_json_and_too_large(client) -> None:
    resp = await client.post("/api/articles", data=b"{nope", headers=AUTH)
    assert resp.status == 400 and (await resp.json())["error"] == "body is not valid JSON"
    huge = body(content="x" * (2 * 1024 * 1024))
    resp = await client.post("/api/articles", json=huge, headers=AUTH)
    assert resp.status == 413
    assert "larger than" in (await resp.json())["error"]  # the API's own words, as JSON


async def test_concurrent_posts_of_one_article_create_it_once(client) -> None:
    resps = await asyncio.gather(
        *(client.post("/api/articles", json=body(), headers=AUTH) for _ in range(20))
    )
    assert sorted(r.status for r in resps) == [200] * 19 + [201]


async def test_sources_status(client) -> None:
    resp = await client.get("/api/sources")
    assert resp.status == 200
    [source] = (await resp.json())["sources"]
    assert source["name"] == "jurnal" and source["failures"] == 0
    assert source["last_success"] is None and source["ok"] is False


async def test_read_api_lists_categories_and_articles(client) -> None:
    for n in range(5):
        link = f"https://news.example/2025/09/2{n}/berita-{n}/"
        published = (datetime.now(UTC) - timedelta(hours=10 - n)).isoformat()
        payload = body(
            link=link,
            title=f"Berita {n}",
            published=published,
            categories=["KALTARA", "Bulungan"] if n % 2 else ["KALTARA"],
        )
        assert (await client.post("/api/articles", json=payload, headers=AUTH)).status == 201
    cats = (await (await client.get("/api/categories")).json())["categories"]
    assert [(c["slug"], c["name"], c["count"]) for c in cats] == [
        ("kaltara", "KALTARA", 5),
        ("bulungan", "Bulungan", 2),
    ]
    assert cats[0]["feeds"]["rss"].endswith("/feeds/kaltara.rss")

    first = await (await client.get("/api/articles?category=kaltara&limit=2")).json()
    assert [a["title"] for a in first["articles"]] == ["Berita 4", "Berita 3"]
    assert first["articles"][0]["published"].endswith("+08:00")
    second = await (await client.get(first["next"])).json()
    assert [a["title"] for a in second["articles"]] == ["Berita 2", "Berita 1"]
    by_time = await (
        await client.get("/api/articles", params={"before": first["articles"][0]["published"]})
    ).json()
    assert [a["title"] for a in by_time["articles"]][:1] == ["Berita 3"]

    one = first["articles"][0]
    resp = await client.get(f"/api/articles/{one['id']}")
    assert resp.status == 200 and (await resp.json())["title"] == "Berita 4"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/articles/nothex", 404, "id"),
        ("/api/articles/0123456789abcdef", 404, "id"),
        ("/api/articles?category=olahraga", 404, "category"),
        ("/api/articles?category=../x", 404, "category"),
        ("/api/articles?limit=0", 400, "limit"),
        ("/api/articles?limit=1000", 400, "limit"),
        ("/api/articles?limit=00000050000000", 400, "limit"),
        ("/api/articles?before=kemarin", 400, "before"),
        ("/api/articles?before=0123456789abcdef", 400, "before"),
    ],
)
async def test_read_api_errors(client, path, status, field) -> None:
    resp = await client.get(path)
    assert resp.status == status
    assert (await resp.json())["field"] == field
