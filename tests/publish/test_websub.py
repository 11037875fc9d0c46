from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp import web
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import ApiSettings, FeedsSettings, RedisSettings, ServiceSettings, Settings
from feedsvc.publish import websub

TOKEN = "token-for-websub-tests"
BASE = "https://berita.example"


@pytest.fixture
async def hub(aiohttp_server):
    received: list[dict[str, str]] = []
    failures = {"left": 1}

    async def publish(request: web.Request) -> web.Response:
        form = dict(await request.post())
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=503)
        received.append(form)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/", publish)
    server = await aiohttp_server(app)
    return str(server.make_url("/")), received


async def test_new_article_pings_every_affected_feed_with_retry(
    aiohttp_client, hub, redis: Redis, redis_url: str, monkeypatch
) -> None:
    monkeypatch.setattr(websub, "FIRST_DELAY", 0.01)
    hub_url, received = hub
    settings = dataclasses.replace(
        Settings(),
        service=ServiceSettings(base_url=BASE),
        redis=RedisSettings(url=redis_url),
        feeds=FeedsSettings(websub_hub=hub_url),
        api=ApiSettings(tokens=(TOKEN,)),
    )
    client = await aiohttp_client(make_app(settings))
    article = {
        "title": "Berita baru",
        "link": "https://news.example/2026/11/27/berita-baru/",
        "categories": ["KALTARA"],
    }
    resp = await client.post(
        "/api/articles", json=article, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert resp.status == 201
    expected = {
        f"{BASE}/feeds/{c}.{f}" for c in ("kaltara", "all") for f in ("rss", "atom", "json")
    }
    for _ in range(200):
        if {r["hub.url"] for r in received} >= expected:
            break
        await asyncio.sleep(0.01)
    assert {r["hub.url"] for r in received} == expected
    assert all(r["hub.mode"] == "publish" and r["hub.topic"] == r["hub.url"] for r in received)
