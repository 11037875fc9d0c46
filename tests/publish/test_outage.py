"""Redis frozen or stopped under the web app: stale feeds, clean 503s in time, one log line.

The Redis is a server of the test's own (`redis_process`): SIGSTOP freezes it as a
hung host would (connections are accepted, nothing answers), termination stops it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import ApiSettings, RedisSettings, Settings
from feedsvc.models import Article, stable_id
from feedsvc.publish.outage import Outage
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import DeadlinePassed, Store

TIMEOUT = 1.5  # redis.timeout of these tests (the smallest allowed)
TOKEN = "outage-test-token"
POST = {"title": "Ditulis saat beku", "link": "https://contoh.id/beku/", "categories": ["KALTARA"]}


@pytest.fixture
def outage_settings(settings: Settings, redis_process) -> Settings:
    return dataclasses.replace(
        settings,
        redis=RedisSettings(url=redis_process.url, timeout=TIMEOUT),
        api=ApiSettings(tokens=(TOKEN,)),
    )


@pytest.fixture
async def own_store(redis_process):
    client = client_from_url(redis_process.url)
    yield Store(client, retention=100)
    await client.aclose()


@contextmanager
def frozen(redis_process) -> Iterator[None]:
    pid = redis_process.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def article(n: int) -> Article:
    link = f"https://news.example/berita-{n}/"
    return Article(
        id=stable_id(link), title=f"Berita {n}", link=link, categories=("KALTARA",),
        source="test", published=datetime.now(UTC) - timedelta(hours=n),
    )  # fmt: skip


async def timed(call) -> tuple[object, float]:
    started = time.monotonic()
    response = await call
    await response.read()
    return response, time.monotonic() - started


async def test_frozen_redis_stale_feeds_503s_in_time_and_a_refused_post_is_not_stored(
    aiohttp_client, outage_settings, own_store, redis_process, caplog
) -> None:
    for n in range(3):
        await own_store.upsert(article(n))
    client = await aiohttp_client(make_app(outage_settings))
    fresh = await client.get("/feeds/kaltara.rss")
    assert fresh.status == 200 and "Warning" not in fresh.headers
    fresh_body = await fresh.read()
    caplog.set_level(logging.INFO)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    with frozen(redis_process):
        stale, took = await timed(client.get("/feeds/kaltara.rss"))
        assert stale.status == 200 and took < TIMEOUT
        assert stale.headers["Warning"] == '110 - "Response is Stale"'
        assert int(stale.headers["Age"]) >= 0
        assert await stale.read() == fresh_body
        paths = ("/feeds/all.rss", "/", "/opml", "/api/articles", "/api/categories", "/healthz")
        answers = await asyncio.gather(
            *(timed(client.get(path)) for path in paths),
            timed(client.post("/api/articles", json=POST, headers=auth)),
        )
        for path, (response, took) in zip((*paths, "POST"), answers, strict=True):
            assert response.status == 503, path
            assert took < TIMEOUT + 0.5, (path, took)
            if path != "/healthz":
                assert response.headers["Retry-After"] == "5"
        health, posted = answers[-2][0], answers[-1][0]
        assert (await health.json())["redis"]["status"] == "unreachable"
        assert (await posted.json())["error"]
    # Thawed: the write Redis finds waiting on the dropped connection is refused.
    back = await client.get("/api/articles")
    assert back.status == 200
    ids = [a["id"] for a in (await back.json())["articles"]]
    assert stable_id(POST["link"]) not in ids and len(ids) == 3
    assert await own_store.get(stable_id(POST["link"])) is None

    said = [r.getMessage() for r in caplog.records if r.name == "feedsvc.publish.outage"]
    assert len(said) == 2, said  # one line for the outage, one for its end
    assert said[0].startswith("Redis unreachable") and "reachable again" in said[1]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # A POST after the outage is stored as usual.
    posted = await client.post("/api/articles", json=POST, headers=auth)
    assert posted.status == 201


async def test_stopped_redis_is_a_quick_503_without_tracebacks(
    aiohttp_client, outage_settings, redis_process, caplog
) -> None:
    client = await aiohttp_client(make_app(outage_settings))
    assert (await client.get("/api/categories")).status == 200
    redis_process.stop()
    caplog.set_level(logging.INFO)
    for _ in range(3):
        for path in ("/feeds/kaltara.rss", "/", "/api/articles", "/api/sources", "/metrics"):
            response, took = await timed(client.get(path))
            assert response.status == 503, path
            assert took < TIMEOUT + 0.5
    # Every other route too: a 503 (or a 4xx it decides without Redis), never a 500.
    auth = {"Authorization": f"Bearer {TOKEN}"}
    calls = []
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or not path:
            continue
        path = path.replace("{file}", "kaltara.rss").replace("{slug}", "kaltara")
        path = path.replace("{id}", "0123456789abcdef").replace("{name}", "situs")
        calls.append((route.method, path))
    answers = await asyncio.gather(
        *(client.request(method, path, json=POST, headers=auth) for method, path in calls)
    )
    for call, response in zip(calls, answers, strict=True):
        assert response.status == 503 or 400 <= response.status < 500, (call, response.status)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    said = [r for r in caplog.records if r.name == "feedsvc.publish.outage"]
    assert len(said) == 1
    redis_process.start()  # the fixture stops it again


async def test_an_upsert_past_its_deadline_writes_nothing(store: Store) -> None:
    with pytest.raises(DeadlinePassed):
        await store.upsert(article(1), deadline_ms=await store.deadline(-0.001))
    assert await store.get(article(1).id) is None
    assert await store.count(None) == 0
    result = await store.upsert(article(1), deadline_ms=await store.deadline(5))
    assert await store.get(result.id) is not None


def test_an_outage_is_said_at_its_start_and_end_only(caplog) -> None:
    caplog.set_level(logging.INFO)
    outage = Outage()
    outage.ok(now=0)
    for t in range(10):
        outage.failed(TimeoutError(), now=1 + t)
    outage.ok(now=20)
    outage.ok(now=21)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "after 19s; 10 requests" in lines[1]


async def test_a_write_redis_runs_after_its_503_is_refused(
    aiohttp_client, outage_settings, own_store, redis_process
) -> None:
    """Redis freezes between the deadline and the write: the write waits in its socket."""
    client = await aiohttp_client(make_app(outage_settings))
    store = client.app[appkeys.STORE]
    await store.upsert(article(1))  # and so the script is loaded: the write would run
    deadline = store.deadline

    async def then_freeze(seconds: float) -> int:
        value = await deadline(seconds)
        os.kill(redis_process.process.pid, signal.SIGSTOP)
        return value

    store.deadline = then_freeze  # type: ignore[method-assign]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        posted = await client.post(
            "/api/articles", json={**POST, "published": "2026-12-01T08:00:00+08:00"}, headers=auth
        )
        assert posted.status == 503
        await asyncio.sleep(TIMEOUT)  # past the deadline on Redis's clock too
    finally:
        os.kill(redis_process.process.pid, signal.SIGCONT)
    await own_store.redis.ping()  # Redis has run what waited on the dropped connection
    assert await own_store.get(stable_id(POST["link"])) is None
    assert await own_store.count(None) == 1
