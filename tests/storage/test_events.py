"""The new-article event stream (feedsvc/storage/events.py) on the real test Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from feedsvc.models import Article, stable_id
from feedsvc.storage import keys
from feedsvc.storage.codec import text_mark
from feedsvc.storage.events import (
    ArticleUpdated,
    EventStream,
    NewArticle,
    appended_at,
    entry_id_at,
    entry_id_before,
)
from feedsvc.storage.store import Store

NOW = datetime.now(UTC)


def article(title: str, categories: tuple[str, ...] = ("KALTARA", "Bulungan")) -> Article:
    link = f"https://www.jurnalkaltara.com/{title.lower()}/"
    return Article(id=stable_id(link), title=title, link=link, categories=categories, published=NOW)


def test_the_field_contract_round_trips() -> None:
    event = NewArticle("abc", ("kaltara", "bulungan"), True)
    assert event.fields() == {
        "event": "new", "id": "abc", "slugs": "kaltara,bulungan", "pushable": "1"
    }  # fmt: skip
    assert NewArticle.from_fields(event.fields()) == event
    # An entry appended before the `event` field existed is a new-article event.
    assert NewArticle.from_fields({"id": "x", "slugs": "", "pushable": "0"}) == NewArticle(
        "x", (), False
    )
    assert NewArticle.from_fields(None) is None  # an entry trimmed while pending
    assert NewArticle.from_fields({"slugs": "a"}) is None


def test_entry_ids_are_append_times() -> None:
    when = datetime(2026, 11, 27, 1, 2, 3, 456000, tzinfo=UTC)
    assert entry_id_at(when) == "1795741323456-0"
    assert appended_at("1795741323456-7") == when
    assert entry_id_before(when) == "1795741323455-18446744073709551615"


async def test_a_group_reads_an_entry_appended_in_its_start_millisecond(redis: Redis) -> None:
    stream = EventStream(redis, "same-ms")
    start = datetime(2026, 11, 27, 1, 2, 3, 456000, tzinfo=UTC)
    await stream.ensure_group(start)
    await redis.xadd(stream.stream, {"id": "first"}, id=entry_id_at(start))
    entries = await stream.read_new("a", count=10, block_ms=10)
    assert [e.entry_id for e in entries] == [entry_id_at(start)]


async def test_the_store_appends_what_readers_get(redis: Redis, store: Store) -> None:
    stream = EventStream(redis, "readers")
    await stream.ensure_group(NOW - timedelta(hours=1))
    post = article("Satu")
    await store.upsert(post, pushable=True)
    await store.upsert(article("Dua"), pushable=False)
    await store.upsert(post, pushable=True)  # unchanged: no second event
    entries = await stream.read_new("a", count=10, block_ms=10)
    assert [e.event for e in entries] == [
        NewArticle(post.id, ("kaltara", "bulungan"), True),
        NewArticle(article("Dua").id, ("kaltara", "bulungan"), False),
    ]
    assert abs(entries[0].appended - datetime.now(UTC)) < timedelta(seconds=30)
    assert await stream.read_new("b", count=10, block_ms=10) == []  # each entry to one reader


async def test_a_group_starts_at_its_start_time(redis: Redis) -> None:
    stream = EventStream(redis, "late")
    await stream.append(NewArticle("old", (), True))
    await asyncio.sleep(0.01)
    await stream.ensure_group(datetime.now(UTC))
    await stream.ensure_group(NOW)  # exists already: unchanged
    await stream.append(NewArticle("new", (), True))
    entries = await stream.read_new("a", count=10, block_ms=10)
    assert [e.event.id for e in entries if e.event] == ["new"]


async def test_pending_entries_are_read_again_claimed_handed_back_and_acked(
    redis: Redis,
) -> None:
    stream = EventStream(redis, keys.TELEGRAM_GROUP)
    assert await stream.pending_count() == 0  # no stream, no group yet
    await stream.ensure_group(NOW - timedelta(hours=1))
    first = await stream.append(NewArticle("one", ("kaltara",), True))
    second = await stream.append(NewArticle("two", ("kaltara",), True))
    await stream.read_new("dead", count=10, block_ms=10)
    assert await stream.pending_count() == 2
    assert [e.entry_id for e in await stream.read_own("dead", count=10)] == [first, second]
    assert await stream.read_own("alive", count=10) == []
    assert await stream.pending_of("dead", count=10) == [first, second]
    # Just delivered: a claim that wants them idle for a second gets nothing yet.
    assert await stream.claim("alive", [first, second], min_idle_ms=1000) == []
    await stream.hand_back("dead", [first, second], idle_ms=3_600_000)
    claimed = await stream.claim("alive", [first], min_idle_ms=1000)
    assert [e.event.id for e in claimed if e.event] == ["one"]
    assert await stream.claim("other", [first], min_idle_ms=1000) == []  # the first claim won
    owners = {c.name: c.pending for c in await stream.consumers()}
    assert owners == {"dead": 1, "alive": 1}
    await stream.ack([first, second])
    assert await stream.pending_count() == 0
    await stream.forget_consumer("dead")
    assert [c.name for c in await stream.consumers()] == ["alive"]


def edited(post: Article, **changes) -> Article:
    return dataclasses.replace(post, content_hash="", **changes)  # as ingest builds it


async def test_a_changed_title_or_lead_is_an_updated_event_and_nothing_else_is(
    redis: Redis, store: Store
) -> None:
    stream = EventStream(redis, "readers")
    await stream.ensure_group(NOW - timedelta(hours=1))
    post = dataclasses.replace(article("Satu"), source="jurnal", summary="Lead awal.")
    await store.upsert(post, pushable=True)
    changes = [
        edited(post, content="<p>Isi baru</p>"),  # the body only: no event
        edited(post, content="<p>Isi baru</p>", categories=("KALTARA", "Baru")),
        edited(post, title="Satu (ralat)"),  # the title
        edited(post, title="Satu (ralat)", summary="Lead diperbaiki."),  # the lead
        edited(post, title="Satu (ralat)", summary="Lead diperbaiki."),  # same
    ]
    for version in changes:
        await store.upsert(version)
    other = edited(post, source="lain", title="Judul sumber lain")
    await store.upsert(other)  # another source does not own it: no change, no event
    via_api = edited(changes[-1], source="api", title="Satu (dari API)")
    await store.upsert(via_api)
    entries = await stream.read_new("a", count=20, block_ms=10)
    slugs = ("kaltara", "bulungan", "baru")
    assert [e.event for e in entries] == [
        NewArticle(post.id, ("kaltara", "bulungan"), True),
        ArticleUpdated(post.id, slugs, text_mark(changes[2])),
        ArticleUpdated(post.id, slugs, text_mark(changes[3])),
        ArticleUpdated(post.id, slugs, text_mark(via_api)),
    ]
    assert (await store.get(post.id)).title == "Satu (dari API)"


async def test_an_article_stored_before_marks_were_kept_is_compared_by_its_words(
    redis: Redis, store: Store
) -> None:
    post = dataclasses.replace(article("Lama"), source="jurnal", summary="Lead.")
    await store.upsert(post)
    await redis.hdel(keys.article(post.id), "t")  # as an older version stored it
    await store.upsert(edited(post, content="<p>lain</p>"))  # words the same
    await redis.hdel(keys.article(post.id), "t")
    await store.upsert(edited(post, title="Lama (ralat)"))
    raw = [f for _, f in await redis.xrange(keys.EVENTS)]
    assert [f["event"] for f in raw] == ["new", "updated"]
    assert raw[1]["mark"] == await redis.hget(keys.article(post.id), "t")
