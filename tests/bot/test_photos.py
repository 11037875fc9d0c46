"""Photo pushes: an article with an image goes as sendPhoto with its caption (within
1024 UTF-16 units), a photo Telegram refuses goes once as text under the same claim;
counted in what the fake Bot API accepted and what the ledger holds."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot import messages
from bot.delivery.ledger import Ledger
from bot.delivery.outcomes import photo_refused
from bot.subscriptions import Subscriptions
from feedsvc.config import Settings
from feedsvc.ingest.parse.entry import build_entry
from feedsvc.ingest.pipeline import to_article
from feedsvc.models import Article, Source
from feedsvc.storage.store import Store
from tests.bot.helpers import READER, article
from tests.bot.test_delivery import a_push_bot, entry, pusher, with_telegram
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_html import check_text
from tests.fakes.telegram_media import PHOTO_REFUSALS, utf16_units

GROUP, CHANNEL = -1001234, "@kaltara_news"
IMAGE = "https://www.jurnalkaltara.com/wp-content/uploads/2026/12/banjir.jpg"
NOW = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


def with_image(post: Article, image: str = IMAGE) -> Article:
    return dataclasses.replace(post, image=image)


def visible(html: str) -> str:
    return unescape(re.sub(r"<[^>]*>", "", html))


async def push_one(
    telegram, settings: Settings, redis: Redis, store: Store, post: Article, chats=(READER, GROUP)
) -> None:
    for chat in chats:
        await Subscriptions(redis).add(chat, ["kaltara"])
    await store.upsert(post)
    async with a_push_bot(settings) as bot:
        p = pusher(bot, redis, store, settings)
        assert await p.handle(entry(post))
        assert await p.handle(entry(post))  # the same event again: nothing twice


# --- the caption ----------------------------------------------------------------------------


def test_a_long_caption_is_cut_at_a_word_within_1024_utf16_units() -> None:
    lead = " ".join(["Banjir🌊 merendam permukiman warga di Tanjung Selor"] * 40)
    post = dataclasses.replace(article("Banjir di Bulungan"), summary=lead, content="")
    caption = messages.push(post, messages.MAX_CAPTION)
    assert utf16_units(visible(caption)) <= 1024
    assert check_text(caption, "HTML") == ""
    shown = visible(caption)
    assert "Banjir di Bulungan" in shown and "WITA" in shown and "Baca selengkapnya" in shown
    cut = shown.split("\n\n")[1]
    assert cut.endswith("…") and lead.startswith(cut[:-1].rstrip())
    assert lead[len(cut) - 1] == " " or cut[-2] in " ,."  # ends where a word ended
    # A text push keeps the lead as before (300 characters).
    assert messages.push(post) == messages.push(post, messages.MAX_TEXT)


TEXT = st.lists(st.sampled_from(["a", " ", "<", "&", "é", "🎉", "漢", "kata "]), max_size=800)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT.map("".join), author=TEXT.map("".join), summary=TEXT.map("".join))
def test_every_caption_is_one_telegram_takes(title: str, author: str, summary: str) -> None:
    built = build_entry(
        base="https://berita.example/feed/", guid="g", link="https://berita.example/a/",
        title=title, author=author, summary=summary, categories=["KALTARA"],
        content_html=f"<p>{summary}</p>", published=NOW,
    )  # fmt: skip
    assert built is not None
    post = to_article(built, Source("s", "https://berita.example/feed/"), NOW)
    caption = messages.push(post, messages.MAX_CAPTION)
    assert check_text(caption, "HTML") == ""
    assert utf16_units(visible(caption)) <= 1024


@pytest.mark.parametrize("kind", sorted(PHOTO_REFUSALS))
def test_photo_refusals_are_told_from_other_bad_requests(kind: str) -> None:
    from telegram.error import BadRequest

    assert photo_refused(BadRequest(PHOTO_REFUSALS[kind].removeprefix("Bad Request: ")))
    assert not photo_refused(BadRequest("Chat not found"))
    assert not photo_refused(BadRequest("Can't parse entities: unexpected end tag"))
    assert not photo_refused(None)


# --- the push ---------------------------------------------------------------------------


async def test_an_article_with_an_image_is_one_photo_to_each_chat_and_channel(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    post = with_image(article("Banjir Rendam Tanjung Selor", author="Wira"))
    await push_one(telegram, bot_settings, redis, store, post)
    assert telegram.counts() == {READER: 1, GROUP: 1, CHANNEL: 1}
    photos = telegram.photos_sent()
    assert len(photos) == 3 and telegram.calls_to("sendMessage") == []
    for sent in photos:
        assert sent.params["photo"] == IMAGE and sent.parse_mode == "HTML"
        assert f'<b><a href="{post.link}">{post.title}</a></b>' in sent.text
        assert "KALTARA" in sent.text and "Wira" in sent.text and "WITA" in sent.text
    ids = await Ledger(redis, "x").message_ids(post.id)
    assert set(ids) == {str(READER), str(GROUP), CHANNEL}
    assert all(telegram.messages[(m.chat_id, ids[str(m.chat_id)])]["photo"] for m in photos)


async def test_without_an_image_or_with_photos_off_the_push_is_text(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    quiet = with_telegram(bot_settings, channels=())
    await push_one(telegram, quiet, redis, store, article("Tanpa gambar"), chats=(READER,))
    off = with_telegram(quiet, photos=False)
    post = with_image(article("Foto dimatikan"))
    await push_one(telegram, off, redis, store, post, chats=(READER,))
    assert telegram.calls_to("sendPhoto") == []
    assert telegram.counts() == {READER: 2}


async def test_each_refused_photo_falls_back_once_to_text(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    """A post per kind of refusal, each to a reader of its own (run side by side)."""
    posts, readers = [], []
    for i, kind in enumerate(sorted(PHOTO_REFUSALS)):
        image = f"{IMAGE}?{kind}"
        telegram.refuse_photo(image, kind)
        post = with_image(article(f"Foto ditolak {kind}", categories=(f"Kat{i}",)), image)
        await Subscriptions(redis).add(READER + i, [f"kat{i}"])
        await store.upsert(post)
        posts.append(post)
        readers.append(READER + i)
    quiet = with_telegram(bot_settings, channels=())
    async with a_push_bot(quiet) as bot:
        p = pusher(bot, redis, store, quiet)
        assert all(await asyncio.gather(*(p.handle(entry(post)) for post in posts)))
        assert all(await asyncio.gather(*(p.handle(entry(post)) for post in posts)))
    assert len(telegram.calls_to("sendPhoto")) == 4  # one try per chat, never again
    assert len(telegram.calls_to("sendMessage")) == 4
    assert telegram.counts() == dict.fromkeys(readers, 1)
    for reader, post in zip(readers, posts, strict=True):
        (sent,) = telegram.sent_to(reader)
        assert sent.method == "sendMessage" and post.title in sent.text
        records = await Ledger(redis, "x").records(post.id)
        assert {r.state for r in records.values()} == {"sent"}


async def test_fallbacks_reach_groups_and_channels_and_a_429_on_one_is_retried_once(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    telegram.refuse_photo(IMAGE, "http_url")
    telegram.fail(READER, "flood", retry_after=1)  # the reader's fallback, first try
    post = with_image(article("Foto ditolak lalu banjir"))
    await push_one(telegram, bot_settings, redis, store, post)
    to_reader = [p for p in telegram.calls_to("sendMessage") if p["chat_id"] == READER]
    assert len(to_reader) == 2 and len(telegram.sent_to(READER)) == 1
    photo_tries = [p for p in telegram.calls_to("sendPhoto") if p["chat_id"] == READER]
    assert len(photo_tries) == 1  # the retry is text: the photo was refused already
    assert len(telegram.calls_to("sendPhoto")) == 3
    assert telegram.counts() == {READER: 1, GROUP: 1, CHANNEL: 1}
    assert all(m.method == "sendMessage" for m in telegram.sent)


async def test_a_photo_to_a_blocked_chat_unsubscribes_it_without_a_text(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    telegram.fail(READER, "blocked", times=-1)
    post = with_image(article("Foto ke chat yang memblokir"))
    await push_one(telegram, bot_settings, redis, store, post)
    assert telegram.sent_to(READER) == [] and telegram.calls_to("sendMessage") == []
    assert await Subscriptions(redis).of_chat(READER) == set()
    assert (await Ledger(redis, "x").get(post.id, str(READER))).state == "refused"
