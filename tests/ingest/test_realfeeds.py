"""Real feed files (tests/data/realfeeds, origins in its README) ingested end to end.

Each file is served from loopback and polled as a source of its own, twice. Every
entry feedparser reads in a file (for a JSON Feed: every item) must be stored as
an article of that source, once; the second poll of the unchanged files must write
nothing; and the categories the corpus creates stay bounded and few are shown.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import feedparser
import orjson
import pytest
from aiohttp import web
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings, StoreSettings
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source, SourceStatus
from feedsvc.publish.categories import MAX_SHOWN, configured_slugs, shown_categories
from feedsvc.storage import keys

CORPUS = Path(__file__).resolve().parents[1] / "data" / "realfeeds"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix != ".md")
TYPES = {".json": "application/feed+json", ".rdf": "application/rdf+xml"}


def expected_entries(path: Path) -> int:
    """The entries feedparser alone reads in the file (a JSON Feed: its items).

    Counted as distinct entries: one guid is one article (scriptingNews.rss gives
    two posts the same guid), and an item repeated whole is one item (the RSS 0.92
    sample has one twice).
    """
    body = path.read_bytes()
    if path.suffix == ".json":
        items = orjson.loads(body).get("items")
        entries = items if isinstance(items, list) else []
    else:
        entries = feedparser.parse(body).entries
    return len({str(e.get("id") or "") or repr(sorted(e.items())) for e in entries})


@pytest.fixture
async def corpus_site(aiohttp_server) -> str:
    async def handle(request: web.Request) -> web.Response:
        path = CORPUS / request.match_info["name"]
        if path not in FILES:
            return web.Response(status=404)
        content_type = TYPES.get(path.suffix, "application/xml")
        return web.Response(body=path.read_bytes(), headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/{name}", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def redis_writes(redis: Redis) -> int:
    return int((await redis.info("persistence"))["rdb_changes_since_last_save"])


async def stored_per_source(redis: Redis) -> dict[str, int]:
    """Articles each source stored, or joined (another source's article it is)."""
    tally: dict[str, int] = {}
    async for key in redis.scan_iter(match=keys.ARTICLE_PREFIX + "*", count=1000):
        fields = await redis.hkeys(key)
        owners = {await redis.hget(key, "src")} | {f[2:] for f in fields if f.startswith("c:")}
        for owner in owners:
            tally[owner] = tally.get(owner, 0) + 1
    return tally


async def test_every_entry_of_every_real_feed_is_stored_once(corpus_site: str, redis: Redis):
    assert len(FILES) >= 40
    settings = dataclasses.replace(
        Settings(),
        store=StoreSettings(retention=100_000),
        poll=PollSettings(timeout=10, max_entries=10_000),
    )
    session = new_session(settings.user_agent)
    ingestor = Ingestor.from_settings(settings, redis, session)
    store = ingestor.store
    sources = [Source(path.name.replace(".", "-"), f"{corpus_site}/{path.name}") for path in FILES]
    statuses = {}
    try:
        for source in sources:
            statuses[source.name] = await ingestor.poll(source, SourceStatus(source.name))
        before = await redis_writes(redis)
        for source in sources:
            again = await ingestor.poll(source, statuses[source.name])
            assert again.failures == 0, (source.name, again.last_error)
        assert await redis_writes(redis) == before  # nothing changed, nothing written
    finally:
        await session.close()

    stored = await stored_per_source(redis)
    wrong = {}
    for path, source in zip(FILES, sources, strict=True):
        status = statuses[source.name]
        assert status.failures == 0, (path.name, status.last_error)
        want, got = expected_entries(path), stored.get(source.name, 0)
        if got != want:
            wrong[path.name] = (want, got, status.warning)
        if want == 0:
            assert status.warning.startswith("the feed has no entries"), path.name
    assert wrong == {}
    assert sum(stored.values()) > 700

    categories = await store.categories()
    assert len(categories) <= settings.store.max_categories
    shown = shown_categories(categories, configured_slugs(settings))
    assert len(shown) <= MAX_SHOWN < len(categories)
