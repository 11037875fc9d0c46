from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import RedisSettings, Settings
from feedsvc.models import Article, stable_id
from feedsvc.storage.connection import unix_client
from feedsvc.storage.embedded import EmbeddedRedis, EmbeddedRedisError, socket_path_for
from feedsvc.storage.store import Store


def article() -> Article:
    link = "https://news.example/2026/09/25/pendampingan/"
    return Article(
        id=stable_id(link),
        title="Target Pembangunan Merata",
        link=link,
        categories=("KALTARA",),
        published=datetime(2026, 9, 25, 2, 0, tzinfo=UTC),
        content="<p>TANJUNG SELOR – Bappeda dan Litbang Kaltara…</p>",
    )


async def test_data_survives_stop_and_start(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    await server.start()
    assert server.owner
    client = unix_client(str(server.socket_path))
    await Store(client).upsert(article())
    await client.aclose()
    await server.stop()
    assert not server.socket_path.exists()
    assert (tmp_path / "data" / "appendonly.aof").stat().st_size > 0

    again = EmbeddedRedis(tmp_path / "data")
    await again.start()
    client = unix_client(str(again.socket_path))
    try:
        assert await Store(client).get(article().id) == article()
        config = await client.config_get("appendfsync")
        assert config["appendfsync"] == "always"
    finally:
        await client.aclose()
        await again.stop()


async def test_second_process_attaches_instead_of_starting_another(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    await first.start()
    second = EmbeddedRedis(tmp_path)
    try:
        await second.start()
        assert first.owner and not second.owner
        await second.stop()  # must not stop the owner's server
        client = unix_client(str(first.socket_path))
        assert await client.ping()
        await client.aclose()
    finally:
        await first.stop()


async def test_unwritable_data_dir_says_why(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/proc/feedsvc-data")  # not creatable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "data"
    with pytest.raises(EmbeddedRedisError, match=r"cannot be created|not writable"):
        await EmbeddedRedis(target).start()


def test_long_data_dir_gets_a_short_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    path = socket_path_for(deep)
    assert len(str(path)) <= 107
    assert path == socket_path_for(deep)  # stable, so another process finds it


async def test_a_killed_embedded_server_is_restarted_with_its_data(
    tmp_path: Path, aiohttp_client
) -> None:
    """SIGKILL the redis-server under a running feedsvc app: back within seconds, data kept."""
    settings = dataclasses.replace(
        Settings(), redis=RedisSettings(url="", data_dir=str(tmp_path / "data"))
    )
    client = await aiohttp_client(make_app(settings))
    redis = client.app[appkeys.REDIS]
    store = client.app[appkeys.STORE]
    await store.upsert(article())
    first_pid = int((await redis.info("server"))["process_id"])
    os.kill(first_pid, signal.SIGKILL)

    started = time.monotonic()
    while (await client.get("/healthz")).status != 200:
        assert time.monotonic() - started < 10, "not restarted within 10 s"
        await asyncio.sleep(0.1)
    assert int((await redis.info("server"))["process_id"]) != first_pid
    assert await store.get(article().id) == article()  # from the append-only file
    response = await client.get(f"/api/articles/{article().id}")
    assert response.status == 200
    # And again: a second death is ridden out as well.
    os.kill(int((await redis.info("server"))["process_id"]), signal.SIGKILL)
    started = time.monotonic()
    while (await client.get("/healthz")).status != 200:
        assert time.monotonic() - started < 10
        await asyncio.sleep(0.1)


async def test_a_stopped_server_is_not_restarted(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    supervisor = asyncio.create_task(server.supervise())
    await server.stop()
    async with asyncio.timeout(5):
        await supervisor  # ends by itself once the stop is seen
    assert not server.socket_path.exists()


async def test_a_stop_during_a_restart_ends_the_supervisor_and_both_servers(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    supervisor = asyncio.create_task(server.supervise())
    killed = server._process
    assert killed is not None
    killed.kill()
    async with asyncio.timeout(5):
        while server._process is killed:  # noqa: ASYNC110 - polled: no event to wait on
            await asyncio.sleep(0.005)
    started = server._process
    assert started is not None
    async with asyncio.timeout(5):
        await server.stop()  # no cancel: the stop alone ends the watch
        await supervisor
    assert started.returncode is not None  # no redis-server left behind
