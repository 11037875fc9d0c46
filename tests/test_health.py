from __future__ import annotations

import asyncio
import dataclasses

from feedsvc.app import make_app
from feedsvc.config import RedisSettings, Settings, SourceSettings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import SourceStatus
from feedsvc.storage.connection import SLOTS
from tests.fakes.cluster import LocalCluster


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


async def test_healthz_names_a_cluster_node_that_is_down_and_is_200_once_it_is_back(
    aiohttp_client, cluster_process: LocalCluster
) -> None:
    client = await aiohttp_client(make_app(settings_for(cluster_process.url)))
    assert (await client.get("/healthz")).status == 200

    await asyncio.to_thread(cluster_process.stop_node, 1)
    resp = await client.get("/healthz")
    assert resp.status == 503
    redis = (await resp.json())["redis"]
    node = f"127.0.0.1:{cluster_process.ports[1]}"
    assert redis["status"] == "degraded" and redis["nodes_down"] == [node]
    assert redis["error"].startswith(f"no answer from {node}: ")
    assert f"of {SLOTS} hash slots" in redis["error"]
    # A third of the slots, as the cluster's nodes split them.
    assert int(redis["error"].split(": ")[1].split()[0]) == SLOTS // 3

    await asyncio.to_thread(cluster_process.start_node, 1)
    resp = await client.get("/healthz")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["redis"]["status"] == "ok"


async def test_embedded_mode(aiohttp_client, tmp_path) -> None:
    settings = dataclasses.replace(Settings(), redis=RedisSettings(data_dir=str(tmp_path)))
    client = await aiohttp_client(make_app(settings))
    body = await (await client.get("/healthz")).json()
    assert body["redis"]["mode"] == "embedded" and body["redis"]["status"] == "ok"


async def test_healthz_stays_200_and_counts_failing_sources(aiohttp_client, redis_url, redis):
    sources = tuple(
        SourceSettings(name=f"s{i}", url=f"https://s{i}.example/feed/") for i in range(3)
    )
    settings = dataclasses.replace(settings_for(redis_url), sources=sources)
    client = await aiohttp_client(make_app(settings))
    body = await (await client.get("/healthz")).json()
    assert body["sources"] == {"status": "ok", "total": 3, "failing": 0}

    registry = SourceRegistry(redis, settings)
    for name in ("s0", "s2"):
        await registry.save_status(SourceStatus(name, failures=2, last_error="HTTP 503"))
    await registry.save_status(SourceStatus("s1", last_success=1.0, polls=1))
    resp = await client.get("/healthz")
    assert resp.status == 200  # ready: failing sources are reported, not a reason to restart
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["sources"] == {"status": "failing", "total": 3, "failing": 2}
