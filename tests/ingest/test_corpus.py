"""The whole feedparser corpus, served from loopback and polled as sources.

Every file must end as a successful poll or a recorded per-source error; the
ingest path must never crash; nothing stored may keep a script or an event
handler (the 745 `wellformed/sanitize` cases are the hard ones).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings, StoreSettings
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source, SourceStatus
from feedsvc.storage import keys
from tests.fakes.site import SHARED

CORPUS = SHARED / "corpora" / "feedparser"
HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)
UNSAFE = re.compile(
    r"<script|<iframe|<object|<embed|<style|\son\w+\s*=|javascript:|vbscript:|style\s*=",
    re.IGNORECASE,
)

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"feedparser corpus not found next to the repository ({CORPUS})"
)


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))


def served_headers(body: bytes) -> dict[str, str]:
    """The headers a file says it must be served with (its leading comment's Header: lines)."""
    head = body[:2000]
    headers = {"Content-Type": "application/xml"}
    if body.lstrip().startswith(b"{"):
        headers["Content-Type"] = "application/feed+json"
    for name, value in HEADER.findall(head):
        headers[name.decode().title()] = value.decode("latin-1")
    return headers


@pytest.fixture
async def corpus_site(aiohttp_server):
    files = {f"/{p.relative_to(CORPUS).as_posix()}": p for p in corpus_files()}

    async def handle(request: web.Request) -> web.Response:
        path = files.get(request.path)
        if path is None:
            return web.Response(status=404)
        body = path.read_bytes()
        return web.Response(body=body, headers=served_headers(body))

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/"), sorted(files)


async def test_every_corpus_file_is_stored_or_recorded(corpus_site, redis: Redis) -> None:
    base, paths = corpus_site
    assert len(paths) > 2000
    settings = dataclasses.replace(
        Settings(),
        store=StoreSettings(retention=100_000),
        poll=PollSettings(timeout=10, max_bytes=5_000_000),
    )
    session = new_session(settings.user_agent)
    ingestor = Ingestor.from_settings(settings, redis, session)
    limit = asyncio.Semaphore(16)

    async def poll(i: int, path: str) -> SourceStatus:
        async with limit:
            source = Source(f"corpus-{i}", base + path, category="Korpus")
            return await ingestor.poll(source, SourceStatus(source.name))

    try:
        statuses = await asyncio.gather(*(poll(i, p) for i, p in enumerate(paths)))
    finally:
        await session.close()

    failed = [(p, s.last_error) for p, s in zip(paths, statuses, strict=True) if s.failures]
    ok = [p for p, s in zip(paths, statuses, strict=True) if not s.failures]
    assert all(s.last_error for _, s in zip(paths, statuses, strict=True) if s.failures)
    assert all(s.last_success for p, s in zip(paths, statuses, strict=True) if not s.failures)
    assert len(ok) + len(failed) == len(paths)
    assert len(ok) > 1900, failed[:20]  # nearly all of the corpus is usable
    # Many corpus entries share links such as http://example.com/ and so are one
    # article; a few hundred distinct ones remain.
    assert await redis.zcard(keys.ALL_INDEX) > 150

    unsafe = []
    async for key in redis.scan_iter(match=keys.ARTICLE_PREFIX + "*", count=1000):
        doc = await redis.hget(key, "d")
        if UNSAFE.search(doc):
            unsafe.append(UNSAFE.search(doc).group(0) + " in " + doc[:300])
    assert unsafe == []
