"""Polling sources end to end: a loopback news site, the real fetcher, a real Redis."""

from __future__ import annotations

import dataclasses
import gzip
import logging
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import brotli
import pytest
from redis.asyncio import Redis

from feedsvc import lifecycle
from feedsvc.config import PollSettings, Settings
from feedsvc.ingest import pipeline as ingest
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source, SourceStatus
from feedsvc.storage import keys
from tests.fakes.site import Item, Page, Site, article_page, listing_page, rss, seed_text

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


@pytest.fixture
async def ingestor(redis: Redis) -> AsyncIterator[Ingestor]:
    settings = dataclasses.replace(Settings(), poll=PollSettings(timeout=1.5, max_bytes=100_000))
    session = new_session(settings.user_agent)
    yield Ingestor.from_settings(settings, redis, session, clock=NOW.timestamp, rand=lambda: 0.5)
    await session.close()


def items(n: int, site: Site, *, start: int = 0, cats=("KALTARA",)) -> list[Item]:
    return [
        Item(
            title=f"Berita {i}",
            link=site.url(f"/2026/11/27/berita-{i}/"),
            published=NOW - timedelta(hours=i),
            categories=cats,
            guid=site.url(f"/?p={i}"),
            content=f"<p>Isi berita {i} <a href='/tag/x/'>tag</a></p>",
        )
        for i in range(start, start + n)
    ]


async def poll(ingestor: Ingestor, source: Source, status: SourceStatus | None = None):
    return await ingestor.poll(source, status or SourceStatus(source.name))


async def test_feed_poll_stores_articles_then_conditional_get_parses_nothing(
    site: Site, ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real_parse = ingest.parse_feed

    def counting_parse(*args, **kw):
        parsed.append(args[2])
        return real_parse(*args, **kw)

    monkeypatch.setattr(ingest, "parse_feed", counting_parse)
    site.routes["/feed/"] = Page(
        rss(items(3, site)),
        etag=True,
        headers={"Content-Type": "application/rss+xml; charset=UTF-8"},
    )
    source = Source("jurnal", site.url("/feed/"))
    first = await poll(ingestor, source)
    assert first.failures == 0 and first.primed and first.etag
    stored = await ingestor.store.list("kaltara")
    assert [a.title for a in stored] == ["Berita 0", "Berita 1", "Berita 2"]
    assert stored[0].author == "Wira"
    assert 'href="http://127.0.0.1' in stored[0].content  # made absolute

    assert len(parsed) == 1
    second = await poll(ingestor, source, first)
    assert len(parsed) == 1  # the 304 cost no parsing
    hit = site.hits_for("/feed/")[-1]
    assert hit.headers["If-None-Match"] == first.etag
    assert second.new_articles == first.new_articles == 3
    assert second.last_success == NOW.timestamp() and second.polls == 2
    assert "feedsvc/" in hit.headers["User-Agent"]


async def test_first_poll_is_not_pushed_later_finds_are(
    site: Site, ingestor: Ingestor, redis: Redis
) -> None:
    source = Source("jurnal", site.url("/feed/"))
    site.routes["/feed/"] = Page(rss(items(2, site)))
    status = await poll(ingestor, source)
    fresh, stale = items(2, site, start=10)
    stale = dataclasses.replace(stale, published=NOW - timedelta(hours=30))
    site.routes["/feed/"] = Page(rss([fresh, stale, *items(2, site)]))
    await poll(ingestor, source, status)
    events = [e for _, e in await redis.xrange(keys.EVENTS)]
    assert [e["pushable"] for e in events] == ["0", "0", "1", "0"]


async def test_same_article_from_category_and_site_feed_is_stored_once(
    site: Site, ingestor: Ingestor
) -> None:
    one = items(1, site)[0]
    site.routes["/feed/"] = Page(rss([dataclasses.replace(one, categories=("Berita",))]))
    site.routes["/category/kaltara/feed/"] = Page(rss([one]))
    await poll(ingestor, Source("site", site.url("/feed/")))
    await poll(ingestor, Source("kaltara", site.url("/category/kaltara/feed/")))
    assert await ingestor.store.count(None) == 1
    [article] = await ingestor.store.list(None)
    assert set(article.categories) == {"Berita", "KALTARA"}


async def test_guid_scheme_and_trailing_slash_changes_are_the_same_article(
    site: Site, ingestor: Ingestor
) -> None:
    one = items(1, site)[0]
    one = dataclasses.replace(one, guid=one.link.rstrip("/"))  # a permalink guid
    site.routes["/feed/"] = Page(rss([one]))
    source = Source("jurnal", site.url("/feed/"))
    status = await poll(ingestor, source)
    moved = dataclasses.replace(one, guid=one.guid.replace("http://", "https://") + "/")
    site.routes["/feed/"] = Page(rss([moved]))
    await poll(ingestor, source, status)
    assert await ingestor.store.count(None) == 1


async def test_html_source_reads_listing_and_article_pages(site: Site, ingestor: Ingestor) -> None:
    title, paragraphs = seed_text()
    links = [site.url(f"/2025/09/25/artikel-{i}/") for i in range(3)]
    site.routes["/category/kaltara/"] = Page(listing_page(links))
    for i, link in enumerate(links):
        path = link.removeprefix(site.base)
        site.routes[path] = Page(article_page(f"{title} {i}", paragraphs, canonical=link))
    source = Source("web", site.url("/category/kaltara/"), kind="html")
    status = await poll(ingestor, source)
    assert status.failures == 0, status.last_error
    stored = await ingestor.store.list("kaltara")
    assert len(stored) == 3
    article = next(a for a in stored if a.title == f"{title} 0")
    assert article.categories == ("KALTARA",)
    assert article.author == "Wira"
    assert article.published == datetime(2025, 9, 25, 2, 12, tzinfo=UTC)
    assert paragraphs[0][:40] in article.content and paragraphs[-1][-30:] in article.content
    assert "Recent Posts" not in article.content and "<script" not in article.content
    assert "Bagikan" not in article.content

    # The second poll fetches only the listing: every article page is known.
    hits = len(site.hits)
    await poll(ingestor, source, status)
    assert [h.path for h in site.hits[hits:]] == ["/category/kaltara/"]


async def test_html_and_feed_of_one_site_store_each_article_once(
    site: Site, ingestor: Ingestor
) -> None:
    title, paragraphs = seed_text()
    link = site.url("/2025/09/25/target-pembangunan/")
    site.routes["/feed/"] = Page(rss([Item(title, link, NOW, guid=site.url("/?p=77"))]))
    site.routes["/category/kaltara/"] = Page(listing_page([link]))
    site.routes["/2025/09/25/target-pembangunan/"] = Page(
        article_page(title, paragraphs, canonical=link, category="Pemerintahan")
    )
    await poll(ingestor, Source("feed", site.url("/feed/")))
    await poll(ingestor, Source("web", site.url("/category/kaltara/"), kind="html"))
    assert await ingestor.store.count(None) == 1
    [article] = await ingestor.store.list(None)
    assert set(article.categories) == {"KALTARA", "Pemerintahan"}


@pytest.mark.parametrize("code", [301, 308])
async def test_permanent_redirect_moves_the_source(
    site: Site, ingestor: Ingestor, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    site.routes["/old/feed/"] = Page(status=code, headers={"Location": "/new/feed/"})
    site.routes["/new/feed/"] = Page(rss(items(1, site)))
    source = Source("jurnal", site.url("/old/feed/"))
    status = None
    for seen in (1, 2):  # one redirect may be a moment's misconfiguration
        status = await poll(ingestor, source, status)
        assert status.url == source.url and status.failures == 0
        assert (status.moved_to, status.moved_seen) == (site.url("/new/feed/"), seen)
    with caplog.at_level(logging.INFO):
        status = await poll(ingestor, source, status)
    assert status.url == site.url("/new/feed/") and status.moved_seen == 0
    assert "moved permanently" in caplog.text
    await poll(ingestor, source, status)
    assert len(site.hits_for("/old/feed/")) == 3  # the next poll goes straight to the new URL
    assert len(site.hits_for("/new/feed/")) == 4


async def test_temporary_redirect_keeps_the_url(site: Site, ingestor: Ingestor) -> None:
    site.routes["/feed/"] = Page(status=302, headers={"Location": "/elsewhere/"})
    site.routes["/elsewhere/"] = Page(rss(items(1, site)))
    status = await poll(ingestor, Source("jurnal", site.url("/feed/")))
    assert status.url == site.url("/feed/") and status.failures == 0


@pytest.mark.parametrize(
    ("page", "error"),
    [
        (Page(status=404), "HTTP 404"),
        (Page(status=500), "HTTP 500"),
        (Page(b"\x00\xff\xfe garbage \x01" * 50), ""),
        (Page(b"<html><body><p>no feed here</p></body></html>"), ""),
        (Page(b""), ""),
        (Page(rss([]), delay=3.0), "timed out after 1.5s"),
        (Page(b"<rss>" + b"x" * 200_000), "max_bytes"),
    ],
)
async def test_failures_are_recorded_and_back_off(
    site: Site, ingestor: Ingestor, page: Page, error: str
) -> None:
    site.routes["/feed/"] = page
    source = Source("bad", site.url("/feed/"), interval=300)
    status = await poll(ingestor, source)
    assert status.failures == 1 and status.last_error and error in status.last_error
    assert "\n" not in status.last_error
    assert status.next_poll == pytest.approx(NOW.timestamp() + 300, abs=1)
    again = await poll(ingestor, source, status)
    assert again.failures == 2
    assert again.next_poll == pytest.approx(NOW.timestamp() + 600, abs=1)
    assert await ingestor.store.count(None) == 0


async def test_429_retry_after_is_a_floor(site: Site, ingestor: Ingestor) -> None:
    site.routes["/feed/"] = Page(status=429, headers={"Retry-After": "3600"})
    status = await poll(ingestor, Source("busy", site.url("/feed/"), interval=60))
    assert "HTTP 429" in status.last_error
    assert status.next_poll == pytest.approx(NOW.timestamp() + 3600, abs=1)


async def test_max_age_and_ttl_are_floors_for_the_next_poll(site: Site, ingestor: Ingestor) -> None:
    site.routes["/a/"] = Page(rss(items(1, site)), headers={"Cache-Control": "max-age=1800"})
    site.routes["/b/"] = Page(rss(items(1, site, start=5), ttl=60))
    a = await poll(ingestor, Source("a", site.url("/a/"), interval=60))
    b = await poll(ingestor, Source("b", site.url("/b/"), interval=60))
    assert a.next_poll == pytest.approx(NOW.timestamp() + 1800, abs=1)
    assert b.next_poll == pytest.approx(NOW.timestamp() + 3600, abs=1)


async def test_a_failure_keeps_what_was_stored(site: Site, ingestor: Ingestor) -> None:
    site.routes["/feed/"] = Page(rss(items(2, site)))
    source = Source("jurnal", site.url("/feed/"))
    status = await poll(ingestor, source)
    site.routes["/feed/"] = Page(status=500)
    status = await poll(ingestor, source, status)
    assert status.failures == 1 and await ingestor.store.count(None) == 2


async def test_undated_entries_keep_their_first_seen_time(site: Site, ingestor: Ingestor) -> None:
    undated = [dataclasses.replace(i, published=None) for i in items(2, site)]
    site.routes["/feed/"] = Page(rss(undated))
    source = Source("jurnal", site.url("/feed/"))
    status = await poll(ingestor, source)
    first = {a.id: a.published for a in await ingestor.store.list(None)}
    assert set(first.values()) == {NOW}
    ingestor.clock = (NOW + timedelta(hours=2)).timestamp
    await poll(ingestor, source, status)
    assert {a.id: a.published for a in await ingestor.store.list(None)} == first


async def test_future_dates_are_not_trusted_and_logged_once_per_source(
    site: Site, ingestor: Ingestor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="feedsvc.ingest.pipeline")
    future = [
        dataclasses.replace(i, published=datetime(2030, 1, 1, tzinfo=UTC)) for i in items(2, site)
    ]
    dated = items(1, site, start=5)
    site.routes["/feed/"] = Page(rss([*future, *dated]))
    source = Source("jurnal", site.url("/feed/"))
    status = await poll(ingestor, source)
    stored = {a.title: a.published for a in await ingestor.store.list(None)}
    assert stored == {"Berita 0": NOW, "Berita 1": NOW, "Berita 5": dated[0].published}
    for hours in (1, 30):  # later polls, the clock moved on: nothing moves, nothing is written
        ingestor.clock = (NOW + timedelta(hours=hours)).timestamp
        status, counts = await ingestor.poll_counted(source, status)
        assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 3)
    assert {a.title: a.published for a in await ingestor.store.list(None)} == stored
    told = [r.getMessage() for r in caplog.records if "in the future" in r.getMessage()]
    assert len(told) == 1 and told[0].startswith("source jurnal: an entry is dated 2030-01-01")
    other = Source("lain", site.url("/feed/"))
    await poll(ingestor, other)
    assert len([r for r in caplog.records if "in the future" in r.getMessage()]) == 2


async def test_undated_entries_keep_their_first_seen_time_on_every_poll(
    site: Site, ingestor: Ingestor
) -> None:
    undated = [dataclasses.replace(i, published=None) for i in items(3, site)]
    site.routes["/feed/"] = Page(rss(undated))
    source = Source("jurnal", site.url("/feed/"))
    ingestor.clock = lambda: NOW.timestamp() + 0.75
    status = await poll(ingestor, source)
    first = {a.id: a.published for a in await ingestor.store.list(None)}
    assert set(first.values()) == {NOW}
    for step in range(1, 4):
        ingestor.clock = (NOW + timedelta(minutes=7 * step, seconds=0.3)).timestamp
        status, counts = await ingestor.poll_counted(source, status)
        assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 3)
        assert {a.id: a.published for a in await ingestor.store.list(None)} == first


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
async def test_compressed_responses(site: Site, ingestor: Ingestor, coding: str) -> None:
    body = rss(items(2, site))
    packed = {
        "gzip": lambda b: gzip.compress(b),
        "deflate": lambda b: zlib.compress(b),
        "br": lambda b: brotli.compress(b),
    }[coding](body)
    site.routes["/feed/"] = Page(packed, headers={"Content-Encoding": coding})
    status = await poll(ingestor, Source("packed", site.url("/feed/")))
    assert status.failures == 0, status.last_error
    assert await ingestor.store.count(None) == 2
    assert coding in site.hits_for("/feed/")[0].headers["Accept-Encoding"]


async def test_large_feeds_parse_in_the_process_pool(site: Site, ingestor: Ingestor) -> None:
    pool = lifecycle.parse_pool(
        dataclasses.replace(Settings(), poll=PollSettings(parse_processes=1))
    )
    ingestor.parse_pool = pool
    try:
        many = items(60, site)
        many = [
            dataclasses.replace(i, content="<p>" + "Isi berita panjang. " * 40 + "</p>")
            for i in many
        ]
        site.routes["/big/"] = Page(rss(many))
        site.routes["/broken/"] = Page(
            b"<html><body>" + b"<p>bukan feed</p>" * 2000 + b"</body></html>"
        )
        assert len(site.routes["/big/"].body) > ingest.POOL_PARSE_BYTES
        status = await poll(ingestor, Source("big", site.url("/big/")))
        assert status.failures == 0 and await ingestor.store.count(None) == 60
        broken = await poll(ingestor, Source("broken", site.url("/broken/")))
        assert broken.failures == 1 and "not a feed" in broken.last_error
        assert pool.replaced == 0  # a parse error is the source's, not the pool's
    finally:
        pool.shutdown(wait=True)


async def test_an_html_source_never_stores_a_listing_as_an_article(
    site: Site, ingestor: Ingestor, caplog: pytest.LogCaptureFixture
) -> None:
    paragraphs = [
        "TANJUNG SELOR – Pemerintah Provinsi Kalimantan Utara meresmikan jembatan baru yang "
        "menghubungkan dua kecamatan di tepi Sungai Kayan, Kamis pagi.",
        "Jembatan sepanjang 120 meter itu dibangun selama dua tahun dan akan memangkas waktu "
        "tempuh warga ke pusat kota dari satu jam menjadi lima belas menit.",
        "Gubernur meminta warga ikut merawat jembatan dan tidak membebani dengan truk yang "
        "melebihi batas muatan yang ditetapkan dinas perhubungan.",
    ]
    article = site.url("/2026/11/27/jembatan-baru-diresmikan/")
    # A post-like URL that is a small listing of two posts ("Berita - Warta").
    roundup = site.url("/2026/11/27/berita-pilihan-pekan-ini/")
    site.routes["/category/kaltara/"] = Page(listing_page([article, roundup]))
    site.routes["/2026/11/27/jembatan-baru-diresmikan/"] = Page(
        article_page("Jembatan Baru Diresmikan", paragraphs, canonical=article)
    )
    site.routes["/2026/11/27/berita-pilihan-pekan-ini/"] = Page(
        listing_page([site.url("/2026/11/26/satu/"), site.url("/2026/11/25/dua/")])
    )
    source = Source("web", site.url("/category/kaltara/"), kind="html")
    with caplog.at_level(logging.INFO, logger="feedsvc.ingest.pipeline"):
        status = await poll(ingestor, source)
    assert status.failures == 0, status.last_error
    assert [a.link for a in await ingestor.store.list(None)] == [article]
    assert any(f"{roundup} is not an article" in r.getMessage() for r in caplog.records)
    # Settled: the listing is not fetched again on the next poll.
    await poll(ingestor, source, status)
    assert len(site.hits_for("/2026/11/27/berita-pilihan-pekan-ini/")) == 1
