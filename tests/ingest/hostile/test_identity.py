"""Every entry stored once: identities, joins across sources, bounds per poll."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import orjson
import pytest
from redis.asyncio import Redis

from feedsvc.ingest import pipeline as ingest
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source, SourceStatus
from feedsvc.storage.store import Store
from tests.fakes.site import Item, Page, Site, rss
from tests.ingest.hostile.conftest import JSON_FEED, NOW, news, poll_saved

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
