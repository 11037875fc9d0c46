from __future__ import annotations

import dataclasses

from feedsvc.app import make_app
from feedsvc.config import RedisSettings, Settings


def settings_for(url: str, tmp_path=None) -> Settings:
    return dataclasses.replace(Settings(), redis=RedisSettings(url=url))


async def test_healthz_reports_redis(aiohttp_client, redis_url: str) -> None:
    client = await aiohttp_client(make_app(settings_for(redis_url)))
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["redis"]["status"] == "ok"
    assert body["redis"]["version"].count(".") == 2


async def test_healthz_503_while_redis_is_down_and_back_without_restart(
    aiohttp_client, redis_process
) -> None:
    client = await aiohttp_client(make_app(settings_for(redis_process.url)))
    assert (await client.get("/healthz")).status == 200

    redis_process.stop()
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "error" and body["redis"]["status"] == "unreachable"

    redis_process.start()
    resp = await client.get("/healthz")
    assert resp.status == 200, await resp.text()


async def test_embedded_mode(aiohttp_client, tmp_path) -> None:
    settings = dataclasses.replace(Settings(), redis=RedisSettings(data_dir=str(tmp_path)))
    client = await aiohttp_client(make_app(settings))
    body = await (await client.get("/healthz")).json()
    assert body["redis"]["mode"] == "embedded" and body["redis"]["status"] == "ok"
