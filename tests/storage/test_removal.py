"""Removing an article: gone from every index at once, and not stored again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from feedsvc.models import identity_key, short_hash
from feedsvc.storage import keys
from feedsvc.storage.events import ArticleRemoved, EventStream, NewArticle, parse_event
from feedsvc.storage.removal import Removals
from feedsvc.storage.store import Store, UpsertStatus
from tests.storage.test_store import make

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)


async def test_remove_takes_it_out_of_every_index_and_feed_version(store: Store) -> None:
    a, b = make(1, cats=("KALTARA", "Bulungan")), make(2)
    await store.upsert_many([(a, True), (b, True)])
    before = await store.versions(["kaltara", "bulungan", None])
    removals = Removals(store.redis)

    assert await removals.remove(a.id, NOW) == ("kaltara", "bulungan")

    assert await store.get(a.id) is None
    assert [x.id for x in await store.list()] == [b.id]
    assert [x.id for x in await store.list("kaltara")] == [b.id]
    assert await store.list("bulungan") == [] and await store.count("bulungan") == 0
    after = await store.versions(["kaltara", "bulungan", None])
    assert [n - m for n, m in zip(after, before, strict=True)] == [1, 1, 1]
    assert await removals.last_removal("kaltara") == NOW
    assert await removals.last_removal(None) == NOW
    assert await removals.last_removal("olahraga") is None
    assert await removals.is_removed(a.id) and not await removals.is_removed(b.id)
    assert not await store.redis.exists(keys.link(short_hash(identity_key(a.link))))


async def test_unknown_id_changes_nothing(store: Store) -> None:
    await store.upsert(make(1))
    before = await store.versions([None])
    assert await Removals(store.redis).remove("0" * 16, NOW) is None
    assert await store.versions([None]) == before
    assert await store.redis.xlen(keys.EVENTS) == 1  # only the article's own event


async def test_a_removed_article_is_not_stored_again_by_a_source(store: Store) -> None:
    a = make(1)
    await store.upsert(a)
    await Removals(store.redis).remove(a.id, NOW)
    events_before = await store.redis.xlen(keys.EVENTS)

    again = await store.upsert_many([(a, True), (make(2), True)])
    assert [r.status for r in again] == [UpsertStatus.REMOVED, UpsertStatus.NEW]
    # Another source's entry of the same post (same link, an id of its own) stays out too.
    other = dataclasses.replace(a, id="f" * 16, source="web", content_hash="")
    assert (await store.upsert(other, pushable=True)).status == UpsertStatus.REMOVED
    # Another guid of the article's own source with that link is a distinct article.
    sibling = dataclasses.replace(a, id="e" * 16, title="Lain", content_hash="")
    assert (await store.upsert(sibling)).status == UpsertStatus.NEW
    assert sorted(x.id for x in await store.list()) == sorted([make(2).id, sibling.id])
    assert await store.redis.xlen(keys.EVENTS) == events_before + 2  # make(2), sibling


async def test_a_post_through_the_api_brings_it_back(store: Store) -> None:
    a = dataclasses.replace(make(1), source="api", content_hash="")
    await store.upsert(a)
    await Removals(store.redis).remove(a.id, NOW)
    assert (await store.upsert(a)).status == UpsertStatus.NEW
    assert await store.get(a.id) == a
    assert not await Removals(store.redis).is_removed(a.id)


async def test_the_removed_event_and_readers_that_ignore_it(store: Store) -> None:
    a = make(1, cats=("KALTARA", "Bulungan"))
    await store.upsert(a, pushable=True)
    await Removals(store.redis).remove(a.id, NOW)
    raw = [fields for _, fields in await store.redis.xrange(keys.EVENTS)]
    assert raw == [
        {"event": "new", "id": a.id, "slugs": "kaltara,bulungan", "pushable": "1"},
        {"event": "removed", "id": a.id, "slugs": "kaltara,bulungan", "title": a.title},
    ]
    assert [parse_event(f) for f in raw] == [
        NewArticle(a.id, ("kaltara", "bulungan"), True),
        ArticleRemoved(a.id, ("kaltara", "bulungan"), a.title),
    ]
    # A reader of new articles sees none in a removal, nor in a kind it does not know.
    assert NewArticle.from_fields(raw[1]) is None
    assert parse_event({"event": "edited", "id": a.id}) is None
    # A removal appended before titles went with it has none.
    assert parse_event({"event": "removed", "id": "x", "slugs": "a"}) == ArticleRemoved("x", ("a",))
    # Entries from before the `event` field are new-article events.
    assert parse_event({"id": "x", "slugs": "a", "pushable": "1"}) == NewArticle("x", ("a",), True)
    stream = EventStream(store.redis, "readers")
    await stream.ensure_group(datetime(2000, 1, 1, tzinfo=UTC))
    entries = await stream.read_new("one", 10, 0)
    assert [type(e.event) for e in entries] == [NewArticle, ArticleRemoved]
