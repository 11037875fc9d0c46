"""Hostile and odd upstreams: a loopback site serving what real and malicious feeds do.

Every test polls through the real fetcher into the real Redis; what is checked is
what got stored and what the source's saved status says.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings
from feedsvc.ingest import pipeline as ingest
from feedsvc.ingest.fetch import Fetcher, IPAddress, is_internal_address, new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source, SourceStatus
from feedsvc.storage.store import Store
from tests.fakes.site import Item, Page, Site, rss

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
JSON_FEED = "https://jsonfeed.org/version/1.1"


@pytest.fixture
async def ingestor(redis: Redis) -> AsyncIterator[Ingestor]:
    settings = dataclasses.replace(Settings(), poll=PollSettings(timeout=2, max_bytes=2_000_000))
    session = new_session(settings.user_agent)
    fetcher = Fetcher(session, timeout=settings.poll.timeout, max_bytes=settings.poll.max_bytes)
    yield Ingestor(
        Store(redis, retention=1000), SourceRegistry(redis, settings), fetcher, settings,
        clock=NOW.timestamp, rand=lambda: 0.5,
    )  # fmt: skip
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


# Item 2: a bad entry never costs the good ones; a crash is the source's failure.


async def test_a_huge_retry_after_date_is_a_recorded_failure(
    site: Site, ingestor: Ingestor
) -> None:
    site.routes["/feed/"] = Page(
        status=503, headers={"Retry-After": "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"}
    )
    status = await poll_saved(ingestor, Source("busy", site.url("/feed/"), interval=300))
    assert (status.polls, status.failures) == (1, 1)
    assert "HTTP 503" in status.last_error
    # The unreadable date is ignored: ordinary backoff, not the 300 s lease.
    assert status.next_poll == pytest.approx(NOW.timestamp() + 300, abs=1)


async def test_broken_json_feed_items_are_skipped_and_counted(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    good = [{"id": f"g{i}", "url": site.url(f"/g{i}/"), "title": f"Baik {i}"} for i in range(2)]
    items = [good[0], 7, {"id": "t", "title": "Tag aneh", "tags": 5}, "x", good[1]]
    body = orjson.dumps({"version": JSON_FEED, "title": "J", "items": items})
    site.routes["/feed.json"] = Page(body, headers={"Content-Type": "application/feed+json"})
    status = await poll_saved(ingestor, Source("json", site.url("/feed.json")))
    assert status.failures == 0 and status.last_success
    titles = sorted(a.title for a in await store.list(None))
    assert titles == ["Baik 0", "Baik 1", "Tag aneh"]  # a field of the wrong type is no field
    assert status.warning.startswith("2 entries skipped: entry 2: ")
    assert "entry 4" in status.warning


async def test_an_unexpected_crash_is_recorded_on_the_source_at_once(
    site: Site, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_parser(*args, **kw):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(ingest, "parse_feed", broken_parser)
    site.routes["/feed/"] = Page(rss(news(site, 2)))
    status = await poll_saved(ingestor, Source("crash", site.url("/feed/"), interval=300))
    assert (status.polls, status.failures) == (1, 1)
    assert status.last_error == "internal error: RuntimeError: something nobody foresaw"
    assert status.next_poll == pytest.approx(NOW.timestamp() + 300, abs=1)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (rss([]), ""),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Terpotong', "no element found"),
    ],
    ids=["empty", "truncated"],
)
async def test_a_feed_without_entries_is_a_warning(
    site: Site, ingestor: Ingestor, body: bytes, why: str
) -> None:
    site.routes["/feed/"] = Page(body)
    source = Source("kosong", site.url("/feed/"))
    status = await poll_saved(ingestor, source)
    assert status.failures == 0 and status.last_success
    assert status.warning.startswith("the feed has no entries")
    assert why in status.warning
    site.routes["/feed/"] = Page(rss(news(site, 1)))
    assert (await poll_saved(ingestor, source)).warning == ""


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


@pytest.mark.parametrize("code", [301, 302, 307, 308])
async def test_a_public_source_may_not_redirect_to_an_internal_address(
    site: Site, internal: Site, guarded: Ingestor, store: Store, code: int
) -> None:
    site.routes["/feed/"] = Page(status=code, headers={"Location": internal.url("/admin/")})
    source = Source("publik", site.url("/feed/"))
    for _ in range(3):
        status = await poll_saved(guarded, source)
        assert status.failures and "refused: 127.0.0.2 is an internal address" in status.last_error
        assert status.url == source.url and not status.moved_to  # never becomes the polled URL
    assert internal.hits == [] and await store.count(None) == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[::ffff:127.0.0.2]:{port}/admin/",  # IPv4-mapped IPv6
        "http://2130706434:{port}/admin/",  # 127.0.0.2 as one decimal number
        "http://127.0.0.2.nip.invalid:{port}/admin/",  # unresolvable: fails to connect
    ],
)
async def test_internal_addresses_in_any_spelling_are_refused(
    site: Site, internal: Site, guarded: Ingestor, location: str
) -> None:
    port = internal.base.rsplit(":", 1)[1]
    site.routes["/feed/"] = Page(status=302, headers={"Location": location.format(port=port)})
    status = await poll_saved(guarded, Source("publik", site.url("/feed/")))
    assert status.failures == 1 and status.last_error
    assert internal.hits == []


async def test_article_links_of_a_public_source_may_not_point_inside(
    site: Site, internal: Site, guarded: Ingestor, store: Store
) -> None:
    inside = internal.url("/2025/09/25/rapat-internal-redaksi-hari-ini/")
    internal.routes[inside.removeprefix(internal.base)] = Page(b"<html><h1>RAHASIA</h1></html>")
    outside = site.url("/2025/09/25/berita-publik-hari-ini/")
    site.routes[outside.removeprefix(site.base)] = Page(
        b"<html><head><title>Berita publik</title></head><body><article><h1>Berita publik"
        b"</h1><p>Isi berita publik yang cukup panjang untuk dibaca.</p></article></body></html>"
    )
    listing = (
        f'<html><body><a class="post" href="{inside}">a</a><a class="post" href="{outside}">b</a>'
    )
    site.routes["/kategori/"] = Page(listing.encode())
    source = Source("web", site.url("/kategori/"), kind="html", link_selector="a.post")
    status = await poll_saved(guarded, source)
    assert status.failures == 0, status.last_error
    assert internal.hits == []
    assert [a.link for a in await store.list(None)] == [outside]


async def test_a_source_on_an_internal_host_may_use_internal_addresses(
    internal: Site, guarded: Ingestor, store: Store
) -> None:
    internal.routes["/intranet/feed/"] = Page(status=302, headers={"Location": "/admin/"})
    status = await poll_saved(guarded, Source("intranet", internal.url("/intranet/feed/")))
    assert status.failures == 0, status.last_error
    assert [a.title for a in await store.list(None)] == ["RAHASIA"]


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
        ("::1", True), ("fe80::1", True), ("fd00:ec2::254", True), ("::ffff:10.0.0.1", True),
        ("64:ff9b::7f00:1", True), ("2002:7f00:1::", True), ("ff02::1", True),
        ("8.8.8.8", False), ("103.10.10.10", False), ("2001:4860:4860::8888", False),
        ("::ffff:8.8.8.8", False),
    ],
)  # fmt: skip
def test_which_addresses_are_internal(address: str, internal: bool) -> None:
    assert is_internal_address(ipaddress.ip_address(address)) is internal
