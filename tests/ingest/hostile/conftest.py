"""Hostile and odd upstreams: a loopback site serving what real and malicious feeds do.

Every test here polls through the real fetcher into the real Redis; what is checked
is what got stored and what the source's saved status says. Shared: the ingestor on
a fixed clock, a guarded one for which loopback is the internet, an internal server.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings
from feedsvc.ingest.fetch import IPAddress, is_internal_address, new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source, SourceStatus
from tests.fakes.site import Item, Page, Site, rss

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
JSON_FEED = "https://jsonfeed.org/version/1.1"


@pytest.fixture
async def ingestor(redis: Redis) -> AsyncIterator[Ingestor]:
    settings = dataclasses.replace(Settings(), poll=PollSettings(timeout=2, max_bytes=2_000_000))
    session = new_session(settings.user_agent)
    yield Ingestor.from_settings(settings, redis, session, clock=NOW.timestamp, rand=lambda: 0.5)
    await session.close()


def news(site: Site, n: int, *, start: int = 0) -> list[Item]:
    return [
        Item(
            f"Berita {i}",
            site.url(f"/2026/11/27/berita-{i}/"),
            NOW - timedelta(hours=i),
            guid=site.url(f"/?p={i}"),
        )
        for i in range(start, start + n)
    ]


async def poll_saved(ingestor: Ingestor, source: Source) -> SourceStatus:
    """Poll as the poller does (status saved), and read the status back from Redis."""
    before = await ingestor.registry.status(source.name)
    await ingestor.poll_and_record(source, before)
    return await ingestor.registry.status(source.name)


# Item 5: no SSRF. In these tests 127.0.0.1 plays the internet (the news site) and
# 127.0.0.2 an internal server that must never be reached from a public source.

PUBLIC = ipaddress.ip_address("127.0.0.1")


def loopback_is_the_internet(ip: IPAddress) -> bool:
    return ip != PUBLIC and is_internal_address(ip)


@pytest.fixture
async def internal(aiohttp_server) -> Site:
    """A server on an internal address holding a secret page."""
    secret = Site()
    secret.routes["/admin/"] = Page(rss([Item("RAHASIA", "http://127.0.0.2/admin/x", NOW)]))
    server = await aiohttp_server(secret.app(), host="127.0.0.2")
    secret.base = str(server.make_url("")).rstrip("/")
    return secret


@pytest.fixture
def guarded(ingestor: Ingestor) -> Ingestor:
    ingestor.fetcher.is_internal = loopback_is_the_internet
    return ingestor
