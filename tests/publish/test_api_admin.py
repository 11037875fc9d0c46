"""The API's bearer-token routes beyond posting: removal, and what a refusal says."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import ApiSettings, Settings
from feedsvc.storage import keys
from tests.publish.test_api import AUTH, TOKEN, body

pytestmark = pytest.mark.usefixtures("redis")


@pytest.fixture
async def api(aiohttp_client, settings: Settings):
    return await aiohttp_client(make_app(dataclasses.replace(settings, api=ApiSettings((TOKEN,)))))


@pytest.fixture
async def tokenless(aiohttp_client, settings: Settings):
    return await aiohttp_client(make_app(settings))


async def test_delete_removes_then_404(api, redis: Redis) -> None:
    created = await (await api.post("/api/articles", json=body(), headers=AUTH)).json()
    url = f"/api/articles/{created['id']}"
    resp = await api.delete(url, headers=AUTH)
    assert resp.status == 204 and await resp.read() == b""
    assert (await api.get(url)).status == 404
    assert (await api.get("/api/articles")).status == 200
    assert (await (await api.get("/api/articles")).json())["articles"] == []
    resp = await api.delete(url, headers=AUTH)
    assert resp.status == 404 and (await resp.json())["field"] == "id"
    assert [f["event"] for _, f in await redis.xrange(keys.EVENTS)] == ["new", "removed"]


@pytest.mark.parametrize("article_id", ["0123456789abcdef", "nothex", "0123456789ABCDEF"])
async def test_delete_of_an_unknown_id_changes_nothing(api, redis: Redis, article_id) -> None:
    await api.post("/api/articles", json=body(), headers=AUTH)
    versions = await redis.hgetall(keys.VERSIONS)
    resp = await api.delete(f"/api/articles/{article_id}", headers=AUTH)
    assert resp.status == 404 and (await resp.json())["error"] == "no such article"
    assert await redis.hgetall(keys.VERSIONS) == versions
    assert await redis.xlen(keys.EVENTS) == 1


@pytest.mark.parametrize("method", ["post", "delete"])
async def test_delete_and_post_need_a_token(api, redis: Redis, method) -> None:
    created = await (await api.post("/api/articles", json=body(), headers=AUTH)).json()
    call = getattr(api, method)
    path = "/api/articles" if method == "post" else f"/api/articles/{created['id']}"
    assert (await call(path, json=body(title="x"))).status == 401
    resp = await call(path, json=body(title="x"), headers={"Authorization": "Bearer nope"})
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert error == "this token is not one of the API tokens configured on this server"
    assert (await api.get(f"/api/articles/{created['id']}")).status == 200


async def test_a_server_without_tokens_says_so(tokenless) -> None:
    resp = await tokenless.post(
        "/api/articles", json=body(), headers={"Authorization": "Bearer anything"}
    )
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert "no API token is configured" in error and "FEEDSVC_API_TOKENS" in error
    resp = await tokenless.post("/api/articles", json=body())
    assert resp.status == 401 and "no API token is configured" in (await resp.json())["error"]


async def test_each_refusal_is_one_log_line_without_the_token(
    api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="feedsvc.publish.api")
    given = "Bearer wrong-token-value-123"
    for _ in range(3):
        await api.post("/api/articles", json=body(), headers={"Authorization": given})
    await api.delete("/api/articles/0123456789abcdef")
    await api.post("/api/articles", json=body(), headers=AUTH)  # accepted: no line
    lines = [r.getMessage() for r in caplog.records if r.name == "feedsvc.publish.api"]
    assert len(lines) == 4
    assert lines[0].startswith("API refused POST /api/articles from 127.0.0.1: 403")
    assert lines[3].startswith("API refused DELETE /api/articles/0123456789abcdef")
    assert all("wrong-token" not in line and TOKEN not in line for line in lines)
