"""Hostile and odd upstreams: a loopback site serving what real and malicious feeds do.

Every test polls through the real fetcher into the real Redis; what is checked is
what got stored and what the source's saved status says.
"""

from __future__ import annotations

import dataclasses
import html
import ipaddress
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from redis.asyncio import Redis

from feedsvc.config import PollSettings, Settings
from feedsvc.ingest import pipeline as ingest
from feedsvc.ingest.fetch import Fetcher, IPAddress, is_internal_address, new_session
from feedsvc.ingest.parse.entry import MAX_ARTICLE_LENGTH, MAX_AUTHOR_LENGTH, MAX_TITLE_LENGTH
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


# Item 9: every entry stored once; an unchanged feed polled again writes nothing.


async def redis_writes(redis: Redis) -> int:
    """Redis's own count of changes to the data set."""
    return int((await redis.info("persistence"))["rdb_changes_since_last_save"])


async def poll_twice(ingestor: Ingestor, source: Source, redis: Redis) -> ingest.Counts:
    """Poll, then poll the unchanged feed again; the second poll must write nothing."""
    status, first = await ingestor.poll_counted(source, SourceStatus(source.name))
    assert status.failures == 0, status.last_error
    before = await redis_writes(redis)
    ingestor.clock = lambda: NOW.timestamp() + 301.5
    _, second = await ingestor.poll_counted(source, status)
    assert (second.new, second.updated, second.unchanged) == (0, 0, first.new + first.updated)
    assert await redis_writes(redis) == before
    return first


async def test_distinct_guids_sharing_a_link_are_distinct_articles(
    site: Site, ingestor: Ingestor, redis: Redis, store: Store
) -> None:
    home = site.url("/podcast/")
    episodes = [
        Item(f"Episode {i}", home, NOW - timedelta(days=i), guid=f"episode-{i}") for i in range(30)
    ]
    sponsor = Item("Sponsor", home, NOW, guid="sponsor-1")
    site.routes["/podcast.rss"] = Page(rss([*episodes, sponsor]))
    counts = await poll_twice(ingestor, Source("podcast", site.url("/podcast.rss")), redis)
    assert counts.new == 31 and await store.count(None) == 31


async def test_fragments_are_part_of_an_identity(
    site: Site, ingestor: Ingestor, redis: Redis, store: Store
) -> None:
    issues = [Item(f"Edisi {i}", site.url(f"/entries.php#{i}"), NOW) for i in range(100, 112)]
    by_guid = [
        Item(f"Catatan {i}", site.url("/catatan/"), NOW, guid=f"{site.url('/catatan/')}#c{i}")
        for i in range(8)
    ]
    site.routes["/newsletter.rss"] = Page(rss(issues + by_guid))
    counts = await poll_twice(ingestor, Source("newsletter", site.url("/newsletter.rss")), redis)
    assert counts.new == 20 and await store.count(None) == 20


async def test_description_only_items_are_stored_with_a_title_from_their_words(
    site: Site, ingestor: Ingestor, redis: Redis, store: Store
) -> None:
    items = "".join(
        f"<item><description>Warga desa {i} menyambut program baru pemerintah daerah dengan "
        f"gembira dan penuh harapan.</description></item>"
        for i in range(3)
    )
    body = f'<rss version="0.92"><channel><title>K</title><link>{site.base}</link>{items}'
    site.routes["/092.xml"] = Page((body + "</channel></rss>").encode())
    counts = await poll_twice(ingestor, Source("tua", site.url("/092.xml")), redis)
    assert counts.new == 3
    titles = sorted(a.title for a in await store.list(None))
    assert (
        titles[0]
        == "Warga desa 0 menyambut program baru pemerintah daerah dengan gembira dan penuh…"
    )


async def test_undated_entries_are_not_rewritten_by_the_second_poll(
    site: Site, ingestor: Ingestor, redis: Redis, store: Store
) -> None:
    undated = [dataclasses.replace(i, published=None) for i in news(site, 3)]
    site.routes["/feed/"] = Page(rss(undated))
    ingestor.clock = lambda: NOW.timestamp() + 0.123456  # first seen at a fraction of a second
    await poll_twice(ingestor, Source("tanpa-tanggal", site.url("/feed/")), redis)
    assert {a.published for a in await store.list(None)} == {NOW}


@pytest.mark.parametrize(
    "version",
    [
        "https://jsonfeed.org/version/1.1",
        "https://jsonfeed.org/version/1",
        "http://jsonfeed.org/version/1",
        "http://jsonfeed.org/version/1.1",
        "https://jsonfeed.org/version/1.1/",
    ],
)
async def test_every_json_feed_version_string_is_accepted(
    site: Site, ingestor: Ingestor, store: Store, version: str
) -> None:
    item = {"id": "1", "url": site.url("/a/"), "title": "Satu", "content_text": "Isi."}
    site.routes["/feed.json"] = Page(orjson.dumps({"version": version, "items": [item]}))
    status = await poll_saved(ingestor, Source("json", site.url("/feed.json")))
    assert status.failures == 0, status.last_error
    assert [a.title for a in await store.list(None)] == ["Satu"]


async def test_xml_base_applies_to_its_own_element_only(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>B</title><id>urn:b</id>
<updated>2026-11-27T04:00:00Z</updated>
<entry xml:base="{site.base}/lain/"><id>urn:1</id><title>Satu</title><link href="satu/"/>
<updated>2026-11-27T04:00:00Z</updated>
<content type="html">&lt;img src="a.jpg"&gt;</content></entry>
<entry><id>urn:2</id><title>Dua</title><link href="dua/"/><updated>2026-11-27T03:00:00Z</updated>
<content type="html">&lt;img src="b.jpg"&gt;</content></entry></feed>"""
    site.routes["/feeds/atom.xml"] = Page(body.encode())
    await poll_saved(ingestor, Source("atom", site.url("/feeds/atom.xml")))
    one, two = await store.list(None)
    assert one.link == site.url("/lain/satu/") and site.url("/lain/a.jpg") in one.content
    assert two.link == site.url("/feeds/dua/")  # the document's URL, not the item before
    assert site.url("/feeds/dua/b.jpg") in two.content


async def test_another_source_joins_by_canonical_link_but_only_one_entry_of_it(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    link = site.url("/2026/11/27/berita-bersama/")
    site.routes["/a.rss"] = Page(rss([Item("Bersama", link, NOW, guid="a-1")]))
    shared = [Item("Bersama", link, NOW, guid="b-1"), Item("Iklan", link, NOW, guid="b-2")]
    site.routes["/b.rss"] = Page(rss(shared, title="B"))
    a, b = Source("a", site.url("/a.rss")), Source("b", site.url("/b.rss"))
    for _ in range(2):  # the second round finds every entry where the first put it
        assert (await ingestor.poll_counted(a, SourceStatus("a")))[0].failures == 0
        assert (await ingestor.poll_counted(b, SourceStatus("b")))[0].failures == 0
        assert sorted(x.title for x in await store.list(None)) == ["Bersama", "Iklan"]


async def test_the_same_guid_on_two_sites_is_two_articles_unless_the_link_agrees(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    def feed(name: str, link: str) -> bytes:
        return orjson.dumps(
            {"version": JSON_FEED, "items": [{"id": "1", "url": link, "title": name}]}
        )

    site.routes["/a.json"] = Page(feed("Situs A", site.url("/a/1/")))
    site.routes["/b.json"] = Page(feed("Situs B", site.url("/b/1/")))
    site.routes["/c.json"] = Page(feed("Situs A lagi", site.url("/a/1/")))
    for name in "abc":
        source = Source(name, site.url(f"/{name}.json"), category=f"Kategori {name}")
        await ingestor.poll(source, SourceStatus(name))
        await ingestor.poll(source, SourceStatus(name))
    stored = {a.title: set(a.slugs) for a in await store.list(None)}
    assert stored == {"Situs A": {"kategori-a", "kategori-c"}, "Situs B": {"kategori-b"}}


# Item 3: bounds on what one source can do.


async def test_categories_per_entry_and_in_all_are_capped(
    site: Site, ingestor: Ingestor, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    ingestor.store = Store(redis, max_categories=12)
    tagged = [
        dataclasses.replace(item, categories=tuple(f"Tag {i}-{n}" for n in range(15)))
        for i, item in enumerate(news(site, 3))
    ]
    site.routes["/tags.rss"] = Page(rss(tagged))
    source = Source("tags", site.url("/tags.rss"), category="Kaltara")
    with caplog.at_level("WARNING"):
        await ingestor.poll(source, SourceStatus("tags"))
        await ingestor.poll(source, SourceStatus("tags"))
    first, second, third = await ingestor.store.list(None)
    assert first.categories == tuple(f"Tag 0-{n}" for n in range(10))  # 10 per entry
    assert second.categories == ("Tag 1-0", "Tag 1-1")  # then the store was full
    assert third.categories == ("Kaltara",)  # nothing left: the source's category
    assert len(await ingestor.store.categories()) == 13  # 12 and the fallback
    assert caplog.text.count("store.max_categories=12 reached") == 1


async def test_at_most_max_entries_per_poll_the_newest(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    ingestor.settings = dataclasses.replace(
        ingestor.settings, poll=dataclasses.replace(ingestor.settings.poll, max_entries=5)
    )
    site.routes["/feed/"] = Page(rss(list(reversed(news(site, 8)))))  # oldest first
    status = await poll_saved(ingestor, Source("banyak", site.url("/feed/")))
    assert [a.title for a in await store.list(None)] == [f"Berita {i}" for i in range(5)]
    assert status.warning == "3 entries skipped: the 3 oldest, over poll.max_entries"


# Item 4: text is text.

TAG_LIKE = re.compile(r"<[A-Za-z/!?]")
INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def assert_plain(text: str) -> None:
    assert not TAG_LIKE.search(html.unescape(text)), text
    assert not INVISIBLE.search(text), ascii(text)


async def test_titles_and_names_hold_no_markup_and_no_invisible_characters(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    hostile = [
        ("&lt;b&gt;Banjir&lt;/b&gt; di Malinau", "Banjir di Malinau"),
        ("&amp;lt;img src=x onerror=alert(1)&amp;gt;Longsor", "Longsor"),
        ("Gubernur \u202etlasid\u202c meninjau\u200b jalan", "Gubernur tlasid meninjau jalan"),
        ("Pilkada \u2066Bulungan\u2069 2026\ufeff", "Pilkada Bulungan 2026"),
    ]
    rows = [
        Item(raw, site.url(f"/2026/11/27/teks-{i}/"), NOW - timedelta(hours=i),
             author="Wira\u200f &lt;i&gt;Redaksi&lt;/i&gt;", categories=("Kal\u200btara",),
             content="<p>&lt;script&gt;alert(1)&lt;/script&gt;Isi.</p>")
        for i, (raw, _) in enumerate(hostile)
    ]  # fmt: skip
    site.routes["/feed/"] = Page(rss(rows))
    await poll_saved(ingestor, Source("teks", site.url("/feed/")))
    stored = await store.list(None)
    assert [a.title for a in stored] == [clean for _, clean in hostile]
    for article in stored:
        assert article.author == "Wira Redaksi"
        assert article.categories == ("Kaltara",)
        for text in (article.title, article.author, article.summary, *article.categories):
            assert_plain(text)


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=UTF-8", "text/xml", ""])
async def test_one_broken_byte_spoils_only_its_own_item(
    site: Site, ingestor: Ingestor, store: Store, content_type: str
) -> None:
    rows = [
        Item(
            f"Jembatan Sei Kayan – ruas {i} dibuka", site.url(f"/j/{i}/"), NOW - timedelta(hours=i)
        )
        for i in range(3)
    ]
    body = rss(rows).replace(b"ruas 1", b"ruas \xff1")
    headers = {"Content-Type": content_type} if content_type else {}
    site.routes["/feed/"] = Page(body, headers=headers)
    await poll_saved(ingestor, Source("utf8", site.url("/feed/")))
    assert [a.title for a in await store.list(None)] == [
        "Jembatan Sei Kayan – ruas 0 dibuka",
        "Jembatan Sei Kayan – ruas \ufffd1 dibuka",
        "Jembatan Sei Kayan – ruas 2 dibuka",
    ]


async def test_a_json_feed_with_a_broken_byte_keeps_its_items(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    items = [
        {"id": str(i), "url": site.url(f"/{i}/"), "title": f"Judul {i} – ok"} for i in range(2)
    ]
    body = orjson.dumps({"version": JSON_FEED, "items": items}).replace(
        b"0 \xe2\x80\x93", b"0 \xff"
    )
    site.routes["/feed.json"] = Page(body)
    status = await poll_saved(ingestor, Source("json", site.url("/feed.json")))
    assert status.failures == 0, status.last_error
    assert sorted(a.title for a in await store.list(None)) == ["Judul 0 \ufffd ok", "Judul 1 – ok"]


# Item 3: bounds on titles, authors and articles.


async def test_huge_titles_authors_and_bodies_are_cut(
    site: Site, ingestor: Ingestor, store: Store
) -> None:
    words = " ".join(f"kata{i}" for i in range(200_000))  # about 1.4 MB of text
    huge = Item(words, site.url("/besar/"), NOW, author=words, content=f"<p>{words}</p>" * 2)
    site.routes["/feed/"] = Page(rss([huge]))
    ingestor.fetcher.max_bytes = 10_000_000
    status = await poll_saved(ingestor, Source("besar", site.url("/feed/")))
    assert status.failures == 0, status.last_error
    [article] = await store.list(None)
    assert len(article.title) <= MAX_TITLE_LENGTH and article.title.endswith("…")
    assert words.startswith(article.title[:-1])  # cut at a word
    assert len(article.author) <= MAX_AUTHOR_LENGTH
    total = len(article.title) + len(article.author) + len(article.summary) + len(article.content)
    assert MAX_ARTICLE_LENGTH * 0.9 < total <= MAX_ARTICLE_LENGTH
    assert article.content.startswith("<p>kata0 kata1") and article.content.endswith("<p>…</p>")
