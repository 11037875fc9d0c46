"""The poller as it runs in workers: shared schedule, outages, a whole `feedsvc run`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import Poller, Schedule
from feedsvc.models import Source
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import Store
from tests.cli.test_cli import free_port
from tests.fakes.site import Item, Page, rss

NOW = datetime.now(UTC)


class SlowSite:
    """Feeds that take a while to answer, counting requests in flight per path."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0
        self.hits: Counter[str] = Counter()
        self.base = ""

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.in_flight[path] += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight[path])
        self.hits[path] += 1
        try:
            await asyncio.sleep(0.05)
            n = int(path.strip("/").split("/")[-1])
            item = Item(f"Berita {n}", f"{self.base}/a/{n}/", NOW - timedelta(hours=1))
            return web.Response(body=rss([item]), content_type="application/rss+xml")
        finally:
            self.in_flight[path] -= 1


def make_poller(redis: Redis, sources: list[Source]) -> tuple[Poller, aiohttp.ClientSession]:
    settings = dataclasses.replace(Settings(), poll=PollSettings(timeout=5, max_bytes=10**6))
    session = new_session(settings.user_agent)
    ingestor = Ingestor.from_settings(settings, redis, session)
    registry = ingestor.registry

    async def list_sources() -> list[Source]:
        return sources

    poller = Poller(
        Schedule(redis), list_sources, ingestor.poll_and_record, registry.status, timeout=5
    )
    return poller, session


async def test_two_workers_share_sources_and_never_poll_one_at_once(
    aiohttp_server, redis: Redis, redis_url: str
) -> None:
    site = SlowSite()
    app = web.Application()
    app.router.add_get("/feed/{n}/", site.handle)
    server = await aiohttp_server(app)
    site.base = str(server.make_url("")).rstrip("/")
    sources = [Source(f"s{n}", f"{site.base}/feed/{n}/", interval=0.3) for n in range(12)]
    other = client_from_url(redis_url)
    workers = [make_poller(redis, sources), make_poller(other, sources)]
    tasks = [asyncio.create_task(p.run()) for p, _ in workers]
    try:
        for _ in range(300):
            await asyncio.sleep(0.02)
            if len(site.hits) == 12 and min(site.hits.values()) >= 3:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, session in workers:
            await session.close()
        await other.aclose()
    assert len(site.hits) == 12 and min(site.hits.values()) >= 3
    assert site.most_in_flight == 1
    assert await Store(redis).count("kaltara") == 12


async def test_poller_rides_out_a_redis_outage(aiohttp_server, redis_process, caplog) -> None:
    caplog.set_level(logging.INFO, logger="feedsvc")
    site = SlowSite()
    app = web.Application()
    app.router.add_get("/feed/{n}/", site.handle)
    server = await aiohttp_server(app)
    site.base = str(server.make_url("")).rstrip("/")
    redis = client_from_url(redis_process.url)
    poller, session = make_poller(redis, [Source("s1", f"{site.base}/feed/1/", interval=0.2)])
    task = asyncio.create_task(poller.run())
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            if site.hits:
                break
        redis_process.stop()
        await asyncio.sleep(1.0)
        assert not task.done()
        redis_process.start()
        before = sum(site.hits.values())
        for _ in range(500):
            await asyncio.sleep(0.02)
            if sum(site.hits.values()) > before + 1:
                break
        assert sum(site.hits.values()) > before + 1, "polling did not resume"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
        await redis.aclose()
    lost = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(lost) == 1  # said once, not once per tick
    assert "Redis is back" in caplog.text


async def test_feedsvc_run_polls_sources_and_serves_their_feeds(
    aiohttp_server, tmp_path: Path
) -> None:
    items = [
        Item("Target Pembangunan Merata", "https://news.example/a/1/", NOW - timedelta(hours=2)),
        Item("Bupati Sampaikan 3 Isu Strategis", "https://news.example/a/2/", NOW),
    ]
    app = web.Application()

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(items), content_type="application/rss+xml")

    app.router.add_get("/feed/", feed)
    source_server = await aiohttp_server(app)
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"[service]\nport = {port}\nbase_url = 'http://127.0.0.1:{port}'\n"
        f"[redis]\ndata_dir = '{tmp_path / 'data'}'\n"
        f"[[sources]]\nname = 'lokal'\nurl = '{source_server.make_url('/feed/')}'\n"
        "interval = 60\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FEEDSVC_CONFIG")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "feedsvc", "run", "--config", str(config),
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        body = await wait_for_feed(f"http://127.0.0.1:{port}/feeds/kaltara.json", proc)
        assert [i["title"] for i in body["items"]] == [i.title for i in reversed(items)]
        url = f"http://127.0.0.1:{port}/api/sources"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            [source] = (await resp.json())["sources"]
        assert source["ok"] and source["failures"] == 0
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def wait_for_feed(url: str, proc: asyncio.subprocess.Process) -> dict:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            if proc.returncode is not None:
                pytest.fail(f"feedsvc exited: {(await proc.stderr.read()).decode()}")
            try:
                async with http.get(url) as resp:
                    # The configured category's feed answers (empty) before the poll.
                    body = await resp.json(content_type=None) if resp.status == 200 else {}
                    if body.get("items"):
                        return body
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail("the polled articles never showed up in the feed")


async def test_sigterm_mid_poll_exits_0_at_once_and_hands_the_claim_back(
    site, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    site.routes["/feed/"] = Page(rss([]), delay=3600)  # a poll that never ends
    config = tmp_path / "config.toml"
    config.write_text(
        f"[redis]\nurl = '{redis_url}'\n[service]\nshutdown_timeout = 20\n"
        f"[[sources]]\nname = 'lambat'\nurl = '{site.url('/feed/')}'\ninterval = 1\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FEEDSVC_CONFIG")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "feedsvc", "worker", "--config", str(config),
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            if site.hits_for("/feed/"):
                break
            await asyncio.sleep(0.05)
        assert await redis.hget(keys.SCHEDULE_OWNER, "lambat"), "the poll holds no claim"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        took = time.monotonic() - started
        err = (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert took < 8, took  # the 3 s grace for polls in flight, not the 20 s timeout
    assert "handed back 1 polls in flight: lambat" in err
    assert not await redis.hget(keys.SCHEDULE_OWNER, "lambat")
    assert await redis.zscore(keys.SCHEDULE_DUE, "lambat") <= time.time()
