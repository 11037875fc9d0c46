from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.models import Article, stable_id
from feedsvc.storage import keys
from feedsvc.storage.store import Cursor, Store, UpsertStatus

T0 = datetime(2026, 9, 25, 2, 0, tzinfo=UTC)


def make(n: int, *, cats: tuple[str, ...] = ("KALTARA",), minutes: int | None = None, **kw):
    link = kw.pop("link", f"https://news.example/2026/09/25/berita-{n}/")
    return Article(
        id=stable_id(link),
        title=kw.pop("title", f"Berita {n}"),
        link=link,
        categories=cats,
        published=T0 + timedelta(minutes=n if minutes is None else minutes),
        summary=kw.pop("summary", f"Ringkasan {n}"),
        content=kw.pop("content", f"<p>Isi berita {n}</p>"),
        source=kw.pop("source", "jurnal"),
        **kw,
    )


async def test_upsert_new_unchanged_updated(store: Store) -> None:
    a = make(1)
    assert (await store.upsert(a)).status == UpsertStatus.NEW
    assert (await store.upsert(a)).status == UpsertStatus.UNCHANGED
    changed = dataclasses.replace(a, content="<p>Isi baru</p>", content_hash="")
    assert (await store.upsert(changed)).status == UpsertStatus.UPDATED
    got = await store.get(a.id)
    assert got == changed
    assert got.content == "<p>Isi baru</p>"


async def test_round_trip_keeps_every_field(store: Store) -> None:
    a = make(
        1,
        cats=("KALTARA", "Hukum & Kriminal"),
        title='Judul <b>"kutip"</b> & emoji 🎉 ]]>',
        author="Wira",
        updated=T0 + timedelta(hours=3),
        guid="https://news.example/?p=123",
    )
    await store.upsert(a)
    got = await store.get(a.id)
    assert got == a
    assert got.published.tzinfo is not None and got.published == a.published
    assert got.content_hash == a.content_hash
    assert got.slugs == ("kaltara", "hukum-kriminal")


async def test_get_missing_is_none(store: Store) -> None:
    assert await store.get("0123456789abcdef") is None


async def test_concurrent_upserts_of_one_article_give_one_new(store: Store) -> None:
    a = make(7)
    results = await asyncio.gather(*(store.upsert(a) for _ in range(50)))
    statuses = [r.status for r in results]
    assert statuses.count(UpsertStatus.NEW) == 1
    assert statuses.count(UpsertStatus.UNCHANGED) == 49
    assert await store.count("kaltara") == 1
    assert await store.redis.xlen(keys.EVENTS) == 1


async def test_listing_is_newest_first_per_category_and_overall(store: Store) -> None:
    for n in range(10):
        await store.upsert(make(n, cats=("KALTARA",) if n % 2 else ("Nasional",)))
    kaltara = await store.list("kaltara", limit=50)
    assert [a.title for a in kaltara] == [f"Berita {n}" for n in (9, 7, 5, 3, 1)]
    every = await store.list(None, limit=4)
    assert [a.title for a in every] == ["Berita 9", "Berita 8", "Berita 7", "Berita 6"]


async def test_before_cursor_pages_through_equal_timestamps(store: Store) -> None:
    # Ten articles published in the same millisecond must still page without gaps.
    for n in range(10):
        await store.upsert(make(n, minutes=0))
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list("kaltara", limit=3, before=cursor)
        if not page:
            break
        seen += [a.id for a in page]
        cursor = await store.cursor_after(page[-1].id)
    assert len(seen) == 10 and len(set(seen)) == 10


async def test_before_a_time(store: Store) -> None:
    for n in range(5):
        await store.upsert(make(n))
    page = await store.list("kaltara", limit=10, before=Cursor.at(T0 + timedelta(minutes=3)))
    assert [a.title for a in page] == ["Berita 2", "Berita 1", "Berita 0"]


async def test_categories_with_counts_keep_display_names(store: Store) -> None:
    await store.upsert(make(1, cats=("KALTARA", "Hukum & Kriminal")))
    await store.upsert(make(2, cats=("KALTARA",)))
    cats = await store.categories()
    assert [(c.slug, c.name, c.count) for c in cats] == [
        ("kaltara", "KALTARA", 2),
        ("hukum-kriminal", "Hukum & Kriminal", 1),
    ]
    assert (await store.category("kaltara")).count == 2
    assert await store.category("olahraga") is None


async def test_same_link_from_two_sources_is_one_article_with_union_of_categories(
    store: Store,
) -> None:
    feed = make(1, cats=("KALTARA",), guid="https://news.example/?p=1", source="feed")
    feed = dataclasses.replace(feed, id=stable_id(feed.guid))
    page = make(1, cats=("Bulungan",), source="html")  # id from the link, other source
    assert (await store.upsert(feed)).status == UpsertStatus.NEW
    second = await store.upsert(page)
    assert second.id == feed.id
    assert second.status == UpsertStatus.UPDATED
    got = await store.get(feed.id)
    assert got.categories == ("KALTARA", "Bulungan")
    assert got.source == "feed"  # the first source owns the content
    assert await store.count(None) == 1
    assert [a.id for a in await store.list("bulungan")] == [feed.id]
    assert (await store.upsert(page)).status == UpsertStatus.UNCHANGED


async def test_only_the_owning_source_or_the_api_rewrites_content(store: Store) -> None:
    a = make(1, source="feed")
    await store.upsert(a)
    other = dataclasses.replace(a, source="html", content="<p>lain</p>", content_hash="")
    assert (await store.upsert(other)).status == UpsertStatus.UNCHANGED
    api = dataclasses.replace(a, source="api", content="<p>koreksi</p>", content_hash="")
    assert (await store.upsert(api)).status == UpsertStatus.UPDATED
    assert (await store.get(a.id)).content == "<p>koreksi</p>"


async def test_retention_trims_oldest_and_leaves_no_orphan_keys(redis: Redis) -> None:
    store = Store(redis, retention=5)
    for n in range(8):
        await store.upsert(make(n, cats=("KALTARA",)))
    # Article 100 is old but also in a small category, so it stays there.
    await store.upsert(make(100, cats=("KALTARA", "Tarakan"), minutes=-60))
    assert [a.title for a in await store.list("kaltara", limit=50)] == [
        f"Berita {n}" for n in (7, 6, 5, 4, 3)
    ]
    assert [a.title for a in await store.list("tarakan")] == ["Berita 100"]
    article_keys = [k async for k in redis.scan_iter(match=keys.ARTICLE_PREFIX + "*")]
    link_keys = [k async for k in redis.scan_iter(match=keys.LINK_PREFIX + "*")]
    assert len(article_keys) == 6 and len(link_keys) == 6
    assert await redis.zcard(keys.ALL_INDEX) == 6
    for n in range(3):
        assert await store.get(make(n).id) is None


async def test_article_older_than_every_retention_window_is_not_stored(redis: Redis) -> None:
    store = Store(redis, retention=3)
    for n in range(3):
        await store.upsert(make(n + 10))
    result = await store.upsert(make(1))
    assert result.status == UpsertStatus.OLD
    assert await store.get(make(1).id) is None
    assert await redis.xlen(keys.EVENTS) == 3  # no event for what was not kept


async def test_new_article_events_carry_the_pushable_flag_and_a_new_title_is_updated(
    store: Store,
) -> None:
    a = make(1)
    await store.upsert(a, pushable=True)
    await store.upsert(dataclasses.replace(a, title="Judul baru", content_hash=""), pushable=True)
    await store.upsert(make(2), pushable=False)
    events = await store.redis.xrange(keys.EVENTS)
    assert [(e["event"], e["id"], e["slugs"], e.get("pushable")) for _, e in events] == [
        ("new", a.id, "kaltara", "1"),
        ("updated", a.id, "kaltara", None),  # what is pushed of it changed
        ("new", make(2).id, "kaltara", "0"),
    ]


async def test_versions_bump_on_changes_only(store: Store) -> None:
    before = await store.versions(["kaltara", None, "olahraga"])
    a = make(1)
    await store.upsert(a)
    await store.upsert(a)
    after = await store.versions(["kaltara", None, "olahraga"])
    assert after[0] == before[0] + 1 and after[1] == before[1] + 1 and after[2] == before[2]


async def test_changed_publish_time_moves_the_article(store: Store) -> None:
    await store.upsert(make(1))
    await store.upsert(make(2))
    moved = dataclasses.replace(make(1), published=T0 + timedelta(hours=5), content_hash="")
    assert (await store.upsert(moved)).status == UpsertStatus.UPDATED
    assert [a.title for a in await store.list("kaltara")] == ["Berita 1", "Berita 2"]


@pytest.mark.parametrize("bad", ["../x", "KALTARA", "a b", "", "x" * 65, "all"])
async def test_unchecked_category_names_never_reach_a_key(store: Store, bad: str) -> None:
    with pytest.raises(ValueError):
        await store.list(bad)


async def test_upsert_many_in_one_round_trip(store: Store) -> None:
    batch = [(make(n), n % 2 == 0) for n in range(5)]
    results = await store.upsert_many(batch)
    assert [r.status for r in results] == [UpsertStatus.NEW] * 5
    again = await store.upsert_many([*batch, (make(9), True)])
    assert [r.status for r in again] == [UpsertStatus.UNCHANGED] * 5 + [UpsertStatus.NEW]
    events = await store.redis.xrange(keys.EVENTS)
    assert [e["pushable"] for _, e in events] == ["1", "0", "1", "0", "1", "1"]
    assert await store.upsert_many([]) == []


async def test_upsert_many_after_redis_forgot_its_scripts(store: Store) -> None:
    """A restarted (or failed-over) Redis has no scripts: the batch loads them and goes on."""
    await store.upsert(make(0))
    await store.redis.script_flush()
    results = await store.upsert_many([(make(0), False), (make(1), True)])
    assert [r.status for r in results] == [UpsertStatus.UNCHANGED, UpsertStatus.NEW]
    assert [a.title for a in await store.list("kaltara")] == ["Berita 1", "Berita 0"]
    assert len(await store.redis.xrange(keys.EVENTS)) == 2


async def test_published_of_the_article_an_upsert_would_join(store: Store) -> None:
    a = make(3)
    await store.upsert(a)
    later = dataclasses.replace(a, published=T0 + timedelta(days=1), content_hash="")
    assert await store.published_of(later) == a.published
    # Another source's entry with that canonical link would join it.
    page = dataclasses.replace(later, id="0" * 16, link=a.link.replace("https:", "http:"))
    assert await store.published_of(dataclasses.replace(page, source="web")) == a.published
    # Another entry of the same source never does; nor does another link.
    assert await store.published_of(page) is None
    elsewhere = dataclasses.replace(page, source="web", link="https://elsewhere.example/x")
    assert await store.published_of(elsewhere) is None


async def test_offset_pages(store: Store) -> None:
    for n in range(7):
        await store.upsert(make(n))
    page2 = await store.list("kaltara", limit=3, offset=3)
    assert [a.title for a in page2] == ["Berita 3", "Berita 2", "Berita 1"]
    assert await store.list("kaltara", limit=3, offset=9) == []
