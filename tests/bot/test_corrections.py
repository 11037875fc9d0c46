"""Corrections: a pushed article whose title or lead changes has every message sent of it
edited in place (text and photo captions, chats, topics and channels), once per change,
within 48 hours; a removed one has them struck through. Counted in the edits the fake
Bot API accepted and in what the ledger holds."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from telegram import Bot

from bot.delivery.corrections import REMOVED_NOTE, Corrections, Edit, removed_text, to_correct
from bot.delivery.ledger import Ledger, Record
from bot.subscriptions import Subscriptions, recipient
from feedsvc.app import make_app
from feedsvc.config import ApiSettings, Settings
from feedsvc.models import Article
from feedsvc.storage import keys
from feedsvc.storage.events import Entry, parse_event
from feedsvc.storage.removal import Removals
from feedsvc.storage.store import Store
from tests.bot.helpers import READER, article, nothing_pending, until
from tests.bot.test_delivery import a_push_bot, entry, pusher, with_telegram
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_media import utf16_units
from tests.fakes.telegram_wire import Limits

GROUP, CHANNEL = -1001234, "@kaltara_news"
TOPIC = recipient(GROUP, 7)
IMAGE = "https://www.jurnalkaltara.com/wp-content/uploads/2026/12/longsor.jpg"
TOKEN = "corrections-test-token"
NOW = datetime.now(UTC)


def edited(post: Article, **changes) -> Article:
    return dataclasses.replace(post, content_hash="", **changes)  # as ingest builds it


async def events(redis: Redis, kind: str) -> list[Entry]:
    raw = await redis.xrange(keys.EVENTS)
    return [Entry(i, parse_event(f)) for i, f in raw if f.get("event") == kind]


async def push(settings: Settings, redis: Redis, store: Store, posts, chats) -> None:
    for chat in chats:
        await Subscriptions(redis).add(chat, ["kaltara"])
    async with a_push_bot(settings) as bot:
        p = pusher(bot, redis, store, settings)
        for post in posts:
            await store.upsert(post, pushable=True)
            assert await p.handle(entry(post))
            await fresh_slots(redis)


async def fresh_slots(redis: Redis) -> None:
    """Each chat's next slot free at once: these tests count edits; the running bot's
    test below shows they keep Telegram's pace."""
    for chat in (READER, GROUP, CHANNEL):
        await redis.delete(keys.rate(chat))


def with_channel(settings: Settings) -> Settings:
    return with_telegram(settings, channels=(CHANNEL,))


def corrections(bot: Bot, redis: Redis, store: Store, settings: Settings, owner: str, **kw):
    return Corrections(pusher(bot, redis, store, settings, owner=owner), store, **kw)


async def sent_ids(redis: Redis, post: Article) -> dict[str, int]:
    return await Ledger(redis, "x").message_ids(post.id)


# --- pure ------------------------------------------------------------------------------------


def test_which_messages_an_event_edits() -> None:
    records = {
        "1": Record.sent(11, False, NOW - timedelta(hours=47)),
        "2": Record.sent(12, True, NOW - timedelta(hours=49)),
        "3": Record("sent", "13"),  # from before send times were kept
        "4": Record("in_doubt"),
        "5": Record("sending", "other:1"),
        "6": Record("refused"),
    }
    assert set(to_correct(records, NOW, timedelta(hours=48))) == {"1", "3"}
    assert set(to_correct(records, NOW, None)) == {"1", "2", "3"}
    assert records["2"].photo and not records["1"].photo and not records["3"].photo
    assert records["3"].message_id == 13 and records["3"].sent_at is None


def test_an_edit_is_the_method_of_its_message_and_a_removal_strikes_the_title() -> None:
    targets = {"1001": Record.sent(5, False, NOW), TOPIC: Record.sent(6, True, NOW)}
    edit = Edit("a.1-0", targets, "teks", "keterangan")
    assert edit.compose("1001").method == "edit_message_text"
    assert edit.compose("1001").kwargs == {
        "chat_id": 1001, "message_id": 5, "parse_mode": "HTML", "text": "teks"
    }  # fmt: skip
    caption = edit.compose(TOPIC)
    assert caption.method == "edit_message_caption" and caption.kwargs["chat_id"] == GROUP
    assert caption.kwargs["caption"] == "keterangan" and "message_thread_id" not in caption.kwargs
    assert removed_text("Banjir <b> & longsor") == (
        f"<s>Banjir &lt;b&gt; &amp; longsor</s>\n\n{REMOVED_NOTE}"
    )
    assert removed_text("") == REMOVED_NOTE
    assert utf16_units(removed_text("🌊" * 500)) <= 1024


# --- changes -------------------------------------------------------------------------------


async def test_a_changed_title_or_lead_edits_every_message_once_in_place(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    bot_settings = with_channel(bot_settings)
    text_post = article("Banjir di Tanjung Selor")
    photo_post = dataclasses.replace(article("Longsor di Malinau"), image=IMAGE)
    await push(bot_settings, redis, store, [text_post, photo_post], [READER, TOPIC])
    assert telegram.counts() == {READER: 2, GROUP: 2, CHANNEL: 2}
    sent_before = len(telegram.sent)
    await store.upsert(edited(text_post, title="Banjir di Tanjung Selor (ralat)"))
    await store.upsert(edited(photo_post, summary="MALINAU – Lead yang diperbaiki."))
    updated = await events(redis, "updated")
    assert len(updated) == 2
    async with a_push_bot(bot_settings) as bot_a, a_push_bot(bot_settings) as bot_b:
        a = corrections(bot_a, redis, store, bot_settings, "a")
        b = corrections(bot_b, redis, store, bot_settings, "b")  # another bot process
        for event in updated:
            assert await a.handle(event)
            await fresh_slots(redis)
        # The same events again: taken over by another process, or after a restart.
        assert all([await c.handle(e) for e in updated for c in (b, a)])
    assert len(telegram.sent) == sent_before  # edits, no new messages
    assert len(telegram.edits) == 6
    for post, method, words in (
        (text_post, "editMessageText", "Banjir di Tanjung Selor (ralat)"),
        (photo_post, "editMessageCaption", "Lead yang diperbaiki"),
    ):
        ids = await sent_ids(redis, post)
        assert set(ids) == {str(READER), TOPIC, CHANNEL}
        for chat, message_id in ids.items():
            chat_id = GROUP if chat == TOPIC else (READER if chat == str(READER) else CHANNEL)
            (edit,) = telegram.edits_of(chat_id, message_id)
            assert edit.method == method and words in edit.text and edit.parse_mode == "HTML"
            field = "caption" if method == "editMessageCaption" else "text"
            assert telegram.messages[(chat_id, message_id)][field] == edit.text
    for event in updated:
        records = await Ledger(redis, "x").records(f"{event.event.id}.{event.entry_id}")
        assert {r.state for r in records.values()} == {"sent"} and len(records) == 3


async def test_each_change_once_within_48_hours_and_a_stale_event_skipped(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    settings = bot_settings
    post = article("Jembatan Rusak")
    await push(settings, redis, store, [post], [READER])
    (message_id,) = (await sent_ids(redis, post)).values()
    clock = [datetime.now(UTC)]
    versions = [edited(post, title=f"Jembatan Rusak ({n})") for n in range(5)]
    async with a_push_bot(settings) as bot:
        fix = corrections(bot, redis, store, settings, "a", clock=lambda: clock[0])
        for n, hours in ((0, 0), (1, 47), (2, 49)):
            clock[0] = datetime.now(UTC) + timedelta(hours=hours)
            await store.upsert(versions[n])
            latest = (await events(redis, "updated"))[-1]
            assert await fix.handle(latest) and await fix.handle(latest)
            await fresh_slots(redis)
        clock[0] = datetime.now(UTC)
        await store.upsert(versions[3])
        await store.upsert(versions[4])  # changed again before the bot got to it
        stale, latest = (await events(redis, "updated"))[-2:]
        assert await fix.handle(stale) and await fix.handle(latest)
    shown = [e.text for e in telegram.edits_of(READER, message_id)]
    assert len(shown) == 3  # the first two changes, not the one past 48 h; the last one
    for n, text in zip((0, 1, 4), shown, strict=True):
        assert f"Jembatan Rusak ({n})" in text
    assert telegram.calls_to("editMessageText") and len(telegram.calls_to("editMessageText")) == 3


# --- removals --------------------------------------------------------------------------------


async def test_a_removed_article_is_struck_through_in_every_message_once(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    bot_settings = with_channel(bot_settings)
    text_post = article("Hoaks & Banjir <Bandang>")
    photo_post = dataclasses.replace(article("Foto yang dicabut"), image=IMAGE)
    await push(bot_settings, redis, store, [text_post, photo_post], [READER, TOPIC])
    ids = {post.id: await sent_ids(redis, post) for post in (text_post, photo_post)}
    for post in (text_post, photo_post):
        assert await Removals(redis).remove(post.id, NOW) is not None
    removed = await events(redis, "removed")
    later = datetime.now(UTC) + timedelta(days=5)  # a removal is no matter of 48 hours
    async with a_push_bot(bot_settings) as bot_a, a_push_bot(bot_settings) as bot_b:
        a = corrections(bot_a, redis, store, bot_settings, "a", clock=lambda: later)
        b = corrections(bot_b, redis, store, bot_settings, "b", clock=lambda: later)
        for event in removed:
            assert await a.handle(event)
            await fresh_slots(redis)
        assert all([await c.handle(e) for e in removed for c in (b, a)])  # nothing twice
    assert len(telegram.edits) == 6
    struck = "<s>Hoaks &amp; Banjir &lt;Bandang&gt;</s>\n\nBerita ini dicabut oleh redaksi."
    for post, method, text in (
        (text_post, "editMessageText", struck),
        (photo_post, "editMessageCaption", removed_text("Foto yang dicabut")),
    ):
        for chat, message_id in ids[post.id].items():
            chat_id = GROUP if chat == TOPIC else (READER if chat == str(READER) else CHANNEL)
            (edit,) = telegram.edits_of(chat_id, message_id)
            assert (edit.method, edit.text) == (method, text)


# --- the running bot ---------------------------------------------------------------------------


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    # No channel here (tests add it): a private chat keeps the running bot's test short.
    return with_telegram(bot_settings, channels=())


@pytest.fixture
async def web(aiohttp_client, bot_settings: Settings):
    settings = dataclasses.replace(bot_settings, api=ApiSettings(tokens=(TOKEN,)))
    return await aiohttp_client(make_app(settings, ("web",)))


async def test_the_running_bot_corrects_an_api_update_and_a_removal_at_telegrams_pace(
    web, telegram: FakeTelegram, redis: Redis, store: Store, running
) -> None:
    telegram.limits = Limits()  # a 429 for any edit sent faster than Telegram allows
    auth = {"Authorization": f"Bearer {TOKEN}"}
    await Subscriptions(redis).add(READER, ["kaltara"])
    body = {
        "title": "Pasar Induk Dibuka",
        "link": "https://www.jurnalkaltara.com/pasar-induk/",
        "categories": ["KALTARA"],
        "content": "<p>TANJUNG SELOR – Pasar induk dibuka hari ini.</p>",
        "published": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    resp = await web.post("/api/articles", json=body, headers=auth)
    assert resp.status == 201
    article_id = (await resp.json())["id"]
    (pushed,) = await telegram.wait_sent(1)
    await until(lambda: nothing_pending(redis))
    resp = await web.post("/api/articles", json=body | {"title": "Pasar Induk Batal Dibuka"},
                          headers=auth)  # fmt: skip
    assert resp.status == 200
    await until(lambda: len(telegram.edits) == 1)
    resp = await web.delete(f"/api/articles/{article_id}", headers=auth)
    assert resp.status == 204
    await until(lambda: len(telegram.edits) == 2)
    await until(lambda: nothing_pending(redis))
    await asyncio.sleep(0.3)
    message_id = (await Ledger(redis, "x").message_ids(article_id))[str(READER)]
    first, second = telegram.edits_of(READER, message_id)
    assert "Pasar Induk Batal Dibuka" in first.text and "Baca selengkapnya" in first.text
    assert second.text == removed_text("Pasar Induk Batal Dibuka")
    assert len(telegram.edits) == 2 and len(telegram.sent) == 1 and telegram.floods == []
    assert first.at - pushed.at >= 1.0 and second.at - first.at >= 1.0  # the chat's pace
