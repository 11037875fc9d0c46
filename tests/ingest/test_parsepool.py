"""Item 6: parse workers are bounded in memory and CPU, replaced when they die, and die
with feedsvc. Hostile documents come from the loopback site, through the real fetcher."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import resource
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.parse import ParseError
from feedsvc.ingest.parsepool import ParsePool
from feedsvc.ingest.pipeline import POOL_PARSE_BYTES, Ingestor
from feedsvc.models import Source, SourceStatus
from tests.fakes.site import Item, Page, Site, rss

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
# A megabyte of unclosed tags: feedparser's forgiving parser needs about 270 MiB
# and half a minute of CPU for it.
UNCLOSED = b"<rss><channel>" + b"<a>" * 330_000


def big_feed(site: Site) -> bytes:
    items = [
        Item(f"Berita {i}", site.url(f"/b/{i}/"), NOW - timedelta(hours=i),
             content="<p>" + "Isi berita panjang. " * 40 + "</p>")
        for i in range(40)
    ]  # fmt: skip
    body = rss(items)
    assert len(body) > POOL_PARSE_BYTES
    return body


@pytest.fixture
async def ingestor(redis: Redis) -> AsyncIterator[Ingestor]:
    settings = dataclasses.replace(Settings(), poll=PollSettings(timeout=60, max_bytes=2_000_000))
    session = new_session(settings.user_agent)
    yield Ingestor.from_settings(settings, redis, session, clock=NOW.timestamp)
    await session.close()


async def poll(ingestor: Ingestor, source: Source) -> SourceStatus:
    return await ingestor.poll(source, SourceStatus(source.name))


@pytest.mark.parametrize(
    ("limits", "why"),
    [
        # Little more than a worker needs to start: the document soon needs more.
        ({"memory_mb": 90}, "parse_memory_mb"),
        ({"memory_mb": 2048, "cpu_seconds": 1}, "over 1 s of CPU"),
    ],
    ids=["memory", "cpu"],
)
async def test_a_parse_over_a_limit_fails_its_poll_and_nothing_else(
    site: Site, ingestor: Ingestor, limits: dict, why: str
) -> None:
    pool = ParsePool(1, **limits)
    ingestor.parse_pool = pool
    site.routes["/bom/"] = Page(UNCLOSED)
    site.routes["/big/"] = Page(big_feed(site))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        bomb = await poll(ingestor, Source("bom", site.url("/bom/")))
        assert bomb.failures == 1, bomb.last_error
        assert "too large to parse" in bomb.last_error and why in bomb.last_error
        # The same pool (or its replacement) goes on parsing ordinary feeds.
        ok = await poll(ingestor, Source("big", site.url("/big/")))
        assert ok.failures == 0, ok.last_error
        assert await ingestor.store.count(None) == 40
    finally:
        pool.shutdown(wait=True)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024  # the document never grew this process


async def test_a_worker_that_hangs_without_spending_cpu_is_killed_and_replaced() -> None:
    pool = ParsePool(1, memory_mb=2048, cpu_seconds=1)
    pool.wall_seconds = 2  # the CPU limit never fires on a sleeping worker
    try:
        assert await pool.run(functools.partial(len, "ok")) == 2
        hung = workers()
        assert len(hung) == 1
        started = asyncio.get_running_loop().time()
        with pytest.raises(ParseError, match="no answer from the parse process within 2 s"):
            await pool.run(functools.partial(time.sleep, 60))
        assert asyncio.get_running_loop().time() - started < 10
        assert await pool.run(functools.partial(len, "again")) == 5
        assert pool.replaced == 1
    finally:
        pool.shutdown(wait=True)
    assert not hung & workers()  # the stuck worker is gone, not left beside a new one


def workers() -> set[int]:
    """This process's parse workers (not multiprocessing's resource tracker)."""
    return {pid for pid in children(os.getpid()) if b"spawn_main" in cmdline(pid)}


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children(pid: int) -> set[int]:
    """Every live descendant of `pid` (zombies count as gone)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
async def test_parse_workers_die_with_a_killed_feedsvc(
    site: Site, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    site.routes["/big/"] = Page(big_feed(site))
    path = tmp_path / "config.toml"
    path.write_text(
        f"[redis]\nurl = '{redis_url}'\n[poll]\nparse_processes = 2\n"
        f"[[sources]]\nname = 'besar'\nurl = '{site.url('/big/')}'\ninterval = 1\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FEEDSVC_CONFIG")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "feedsvc", "worker", "--config", str(path),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        started: set[int] = set()
        for _ in range(600):  # the workers start with the first large parse
            await asyncio.sleep(0.1)
            started = children(proc.pid)
            if len(started) >= 2 and await redis.zcard("feedsvc:{news}:all") == 40:
                break
        assert await redis.zcard("feedsvc:{news}:all") == 40, "the feed was not ingested"
        assert len(started) >= 2, "no parse workers started"  # workers and resource tracker
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
        for _ in range(100):
            if not alive(started):
                break
            await asyncio.sleep(0.1)
        assert not alive(started), "processes outlived feedsvc"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
