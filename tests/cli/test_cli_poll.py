"""`feedsvc sources poll NAME` and `POST /api/sources/{name}/poll`: a poll now."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import ApiSettings, PollSettings, Settings, SourceSettings
from feedsvc.ingest.poller import Schedule
from feedsvc.storage import keys
from tests.bot.helpers import until
from tests.cli.conftest import Cli, Result
from tests.fakes.site import Item, Page, Site, rss

TOKEN = "poll-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def news(site: Site, n: int) -> bytes:
    now = datetime.now(UTC).replace(microsecond=0)
    items = [
        Item(f"Berita {i}", site.url(f"/berita-{i}/"), now - timedelta(hours=i + 1), ("KALTARA",))
        for i in range(n)
    ]
    return rss(items)


async def run(cli: Cli, *args: str) -> Result:
    return await asyncio.to_thread(cli, *args)


async def test_poll_now_prints_the_outcome_and_saves_it(cli: Cli, site: Site, redis: Redis):
    site.routes["/feed/"] = Page(news(site, 3))
    assert (await run(cli, "sources", "add", "lokal", site.url("/feed/"))).code == 0
    result = await run(cli, "sources", "poll", "lokal")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert (
        lines[0] == f"lokal: polled {site.url('/feed/')}: 3 new, 0 updated, 0 unchanged, 0 too old."
    )
    assert lines[1].startswith("Next poll in ")
    assert result.err == ""  # the pipeline's own log lines stay quiet
    assert len(site.hits_for("/feed/")) == 1
    again = await run(cli, "sources", "poll", "lokal")
    assert again.out.startswith("lokal: polled") and "0 new, 0 updated, 3 unchanged" in again.out
    listed = (await run(cli, "sources", "list")).out
    assert "lokal" in listed and "ok" in listed
    # The claim is handed back with the next poll time: no owner left, due later.
    assert await redis.hget(keys.SCHEDULE_OWNER, "lokal") is None
    assert float(await redis.zscore(keys.SCHEDULE_DUE, "lokal")) > time.time() + 60


async def test_a_failing_poll_is_one_line_and_exit_1(cli: Cli, site: Site) -> None:
    site.routes["/gone/"] = Page(b"", status=404)
    await run(cli, "sources", "add", "hilang", site.url("/gone/"))
    result = await run(cli, "sources", "poll", "hilang")
    assert result.code == 1
    assert result.out.splitlines()[0] == (
        f"hilang: poll of {site.url('/gone/')} failed: HTTP 404 Not Found"
    )
    assert result.out.splitlines()[1].startswith("Next try in ")


async def test_unknown_or_busy_sources_change_nothing(cli: Cli, site: Site, redis: Redis):
    result = await run(cli, "sources", "poll", "nope")
    assert (result.code, result.out) == (1, "")
    assert result.err == "feedsvc: no source named 'nope'; `feedsvc sources list` names them\n"
    site.routes["/feed/"] = Page(news(site, 1))
    await run(cli, "sources", "add", "lokal", site.url("/feed/"))
    worker = Schedule(redis)
    await worker.take("lokal", time.time(), 300)  # as a worker's claim looks
    busy = await run(cli, "sources", "poll", "lokal")
    assert busy.code == 1 and "being polled right now by a running worker" in busy.err
    assert site.hits_for("/feed/") == [] and await redis.hget(keys.SCHEDULE_OWNER, "lokal")


@pytest.fixture
async def service(aiohttp_client, site: Site, settings: Settings, redis: Redis):
    """A web process with a worker in it, polling a source of the loopback site."""
    site.routes["/feed/"] = Page(news(site, 2))
    settings = dataclasses.replace(
        settings,
        api=ApiSettings((TOKEN,)),
        poll=PollSettings(timeout=2, interval=3600),
        sources=(SourceSettings("lokal", site.url("/feed/"), category="KALTARA"),),
    )
    return await aiohttp_client(make_app(settings, ("web", "worker")))


async def test_the_api_makes_a_source_due_and_the_worker_polls_it(
    service, site: Site, redis: Redis
) -> None:

    async def first_poll_done() -> bool:
        if await redis.hget(keys.source_status("lokal"), "polls") is not None:
            return await redis.hget(keys.SCHEDULE_OWNER, "lokal") is None  # handed back
        await redis.zadd(keys.SCHEDULE_DUE, {"lokal": 0}, xx=True)  # the first poll: now
        return False

    await until(first_poll_done, timeout=15)
    hits = len(site.hits_for("/feed/"))
    assert float(await redis.zscore(keys.SCHEDULE_DUE, "lokal")) > time.time() + 600

    resp = await service.post("/api/sources/lokal/poll", headers=AUTH)
    assert resp.status == 202, await resp.text()
    assert (await resp.json())["status"] == "due"
    await until(lambda: len(site.hits_for("/feed/")) > hits)
    await asyncio.sleep(0.5)
    assert len(site.hits_for("/feed/")) == hits + 1  # once, then not due again
    assert float(await redis.zscore(keys.SCHEDULE_DUE, "lokal")) > time.time() + 600


async def test_the_api_refuses_unknown_names_and_missing_tokens(service, redis: Redis) -> None:
    for name in ("nope", "-bad", "a" * 70):
        resp = await service.post(f"/api/sources/{name}/poll", headers=AUTH)
        assert resp.status == 404 and (await resp.json())["field"] == "name"
    assert (await service.post("/api/sources/lokal/poll")).status == 401
    resp = await service.post("/api/sources/lokal/poll", headers={"Authorization": "Bearer x"})
    assert resp.status == 403
    assert await redis.zscore(keys.SCHEDULE_DUE, "nope") is None
