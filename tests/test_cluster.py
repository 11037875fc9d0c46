"""feedsvc on `redis+cluster://`: a whole `feedsvc run`, an outage ridden out, bad URLs.

Against the local 3-master cluster of tests/fakes/cluster.py: the session's, or one of the
test's own where the test stops it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import redis as sync_redis
from redis.asyncio import Redis

from bot.subscriptions import Subscriptions
from feedsvc.app import make_app
from feedsvc.config import (
    PollSettings,
    RedisSettings,
    ServiceSettings,
    Settings,
    SourceSettings,
    TelegramSettings,
)
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.embedded import redis_server_binary
from tests.cli.test_cli import free_port
from tests.fakes.cluster import LocalCluster, free_cluster_ports
from tests.fakes.site import Item, Page, Site, rss
from tests.fakes.telegram_api import FakeTelegram

READER = 1001
NOW = datetime.now(UTC)


def feed(site: Site, items: list[Item]) -> None:
    site.routes["/feed/"] = Page(rss(items), headers={"Content-Type": "application/rss+xml"})


def item(n: int, age: timedelta = timedelta(minutes=5)) -> Item:
    return Item(f"Berita Kaltara {n}", f"https://news.example/2026/{n}/", NOW - age)


async def feed_titles(http: aiohttp.ClientSession, url: str) -> list[str]:
    try:
        async with http.get(url) as resp:
            if resp.status != 200:
                return []
            return [i["title"] for i in (await resp.json(content_type=None))["items"]]
    except aiohttp.ClientError:
        return []


async def until(check, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polling a subprocess over HTTP
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("redis_backend", ["cluster"], indirect=True)
async def test_feedsvc_run_on_a_cluster_polls_serves_and_pushes(
    tmp_path: Path, site: Site, redis: Redis, redis_url: str
) -> None:
    """`feedsvc run` as a user starts it, with `redis.url = "redis+cluster://..."`."""
    assert redis_url.startswith("redis+cluster://")
    feed(site, [item(1, timedelta(hours=2)), item(2, timedelta(hours=1))])
    await Subscriptions(redis).add(READER, ["kaltara"])
    port = free_port()
    async with FakeTelegram() as telegram:
        config = tmp_path / "config.toml"
        config.write_text(
            f"[service]\nport = {port}\nbase_url = 'http://127.0.0.1:{port}'\n"
            f"[redis]\nurl = '{redis_url}'\n"
            f"[telegram]\ntoken = '{telegram.token}'\napi_base_url = '{telegram.base_url}'\n"
            f"[[sources]]\nname = 'lokal'\nurl = '{site.url('/feed/')}'\ninterval = 1\n"
        )
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FEEDSVC_CONFIG")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "feedsvc", "run", "--config", str(config),
            env=env, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{port}/feeds/kaltara"
                first = ["Berita Kaltara 2", "Berita Kaltara 1"]
                await until(lambda: _equal(feed_titles(http, url + ".json"), first), 60)
                async with http.get(url + ".rss") as resp:
                    assert resp.status == 200
                    body = await resp.text()
                assert "<title>Berita Kaltara 1</title>" in body
                assert "<title>Berita Kaltara 2</title>" in body
                assert not telegram.sent, "a source's first poll is stored, not pushed"

                feed(site, [item(1, timedelta(hours=2)), item(2, timedelta(hours=1)), item(3)])
                sent = await telegram.wait_sent(1, timeout=60)
                assert [m.chat_id for m in sent] == [READER]
                assert "Berita Kaltara 3" in sent[0].text
                await until(
                    lambda: _equal(feed_titles(http, url + ".json"), ["Berita Kaltara 3", *first])
                )
            await asyncio.sleep(1.5)  # another poll or two: still nothing twice
            assert len(telegram.sent) == 1
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 40) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = (await proc.stderr.read()).decode()
    assert "Traceback" not in log, log


async def test_a_cluster_outage_is_ridden_out_without_a_restart(
    aiohttp_client, site: Site, cluster_process: LocalCluster
) -> None:
    """The whole app on a cluster that stops for a while: /healthz says so, then polls
    and pushes go on by themselves once it is back."""
    feed(site, [item(1, timedelta(hours=1))])
    async with FakeTelegram() as telegram:
        settings = dataclasses.replace(
            Settings(),
            service=ServiceSettings(base_url="https://berita.example"),
            redis=RedisSettings(url=cluster_process.url),
            poll=PollSettings(timeout=5),
            sources=(SourceSettings(name="lokal", url=site.url("/feed/"), interval=1),),
            telegram=TelegramSettings(token=telegram.token, api_base_url=telegram.base_url),
        )
        client = await aiohttp_client(make_app(settings, ("web", "worker", "bot")))
        await _subscribe(cluster_process, READER)

        async def titles() -> list[str]:
            resp = await client.get("/feeds/kaltara.json")
            return [i["title"] for i in (await resp.json())["items"]] if resp.status == 200 else []

        await until(lambda: _equal(titles(), ["Berita Kaltara 1"]))
        assert (await client.get("/healthz")).status == 200

        await asyncio.to_thread(cluster_process.stop)
        resp = await client.get("/healthz")
        assert resp.status == 503
        assert (await resp.json())["redis"]["status"] == "unreachable"
        await asyncio.sleep(2)  # polls and the pusher meet the outage
        feed(site, [item(1, timedelta(hours=1)), item(2)])
        await asyncio.to_thread(cluster_process.start)

        await until(lambda: _status(client, 200), 30)
        await until(lambda: _equal(titles(), ["Berita Kaltara 2", "Berita Kaltara 1"]), 30)
        sent = await telegram.wait_sent(1, timeout=30)
        assert [(m.chat_id, "Berita Kaltara 2" in m.text) for m in sent] == [(READER, True)]


async def _equal(titles, expected: list[str]) -> bool:
    return await titles == expected


async def _status(client, status: int) -> bool:
    return (await client.get("/healthz")).status == status


async def _subscribe(cluster: LocalCluster, chat: int) -> None:
    redis = client_from_url(cluster.url)
    try:
        await Subscriptions(redis).add(chat, ["kaltara"])
    finally:
        await redis.aclose()


def run_web(tmp_path: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"[service]\nport = {port}\n[redis]\nurl = '{redis_url}'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FEEDSVC_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "feedsvc", "web", "--config", str(config)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip


def test_a_cluster_url_with_no_node_up_is_one_line_and_exit_2(tmp_path: Path) -> None:
    [port] = free_cluster_ports(1)
    done = run_web(tmp_path, f"redis+cluster://127.0.0.1:{port}")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    # The cause's wording is the event loop's (asyncio and uvloop say it differently).
    assert line.startswith(
        f"feedsvc: Redis Cluster at redis+cluster://127.0.0.1:{port} (from redis.url in "
        f"{tmp_path / 'config.toml'}) cannot be used: "
        f"no node answers (Error 111 connecting to 127.0.0.1:{port}."
    ), line


def test_a_cluster_whose_slots_are_not_all_served_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    """One node of a cluster whose other masters were never added: a third of the slots."""
    [port] = free_cluster_ports(1)
    node = subprocess.Popen(
        [str(redis_server_binary()), "--port", str(port), "--bind", "127.0.0.1",
         "--cluster-enabled", "yes", "--dir", str(tmp_path), "--save", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with sync_redis.Redis(port=port) as client:
            for _ in range(100):
                try:
                    client.ping()
                    break
                except sync_redis.ConnectionError:
                    time.sleep(0.05)
            client.execute_command("CLUSTER", "ADDSLOTS", *range(5461))
        done = run_web(tmp_path, f"redis+cluster://127.0.0.1:{port}")
    finally:
        node.terminate()
        node.wait(10)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"feedsvc: Redis Cluster at redis+cluster://127.0.0.1:{port} (from redis.url in "
        f"{tmp_path / 'config.toml'}) cannot be used: "
        "not every hash slot is served: 5461 of 16384 have a node"
    ]
