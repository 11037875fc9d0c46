"""/cari and inline mode end to end: real python-telegram-bot against the fake Bot API,
over articles really stored."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from redis.asyncio import Redis

from bot import commands_alerts
from feedsvc.storage.store import Store
from tests.bot.helpers import READER, article, ask
from tests.fakes.telegram_api import FakeTelegram

IMAGE = "https://www.jurnalkaltara.com/wp-content/uploads/banjir.jpg"


async def store_news(store: Store) -> None:
    posts = [
        article("Banjir rendam Tanjung Selor", age=timedelta(hours=3)),
        article("Warga Sebatik kebanjiran lagi", age=timedelta(hours=2)),
        article("Harga sembako naik", age=timedelta(hours=1)),
        article("Hoaks banjir beredar", age=timedelta(minutes=30)),
    ]
    posts[1] = dataclasses.replace(posts[1], image=IMAGE)
    for post in posts:
        await store.upsert(post)


async def test_cari_lists_the_newest_matching_posts_as_terbaru_does(
    telegram: FakeTelegram, store: Store, running
) -> None:
    await store_news(store)
    reply = await ask(telegram, READER, "/cari banjir -hoaks")
    assert reply.startswith("<b>Hasil pencarian: banjir -hoaks</b>")
    assert reply.index("kebanjiran") < reply.index("Banjir rendam")  # newest first
    assert "Harga" not in reply and "Hoaks" not in reply
    assert "jam lalu" in reply  # ages, as /terbaru
    reply = await ask(telegram, READER + 1, "/search pemilu")
    assert "Tidak ada berita yang cocok dengan <b>pemilu</b>" in reply


async def test_cari_without_words_or_with_bad_ones_explains_the_form(
    telegram: FakeTelegram, redis: Redis, running
) -> None:
    for chat, text in enumerate(("/cari", "/cari 🌊🌊", "/cari ...", "/cari -banjir"), 3301):
        reply = await ask(telegram, chat, text)
        assert "<code>/cari banjir tarakan</code>" in reply, text


async def test_inline_mode_offers_matching_posts_to_share(
    telegram: FakeTelegram, store: Store, running
) -> None:
    await store_news(store)
    answer = await telegram.wait_inline_answer(telegram.inline_query(READER, "banjir"))
    results = answer["results"]
    assert [r["title"] for r in results] == [
        "Hoaks banjir beredar",
        "Warga Sebatik kebanjiran lagi",
        "Banjir rendam Tanjung Selor",
    ]
    assert all(r["type"] == "article" and r["url"].startswith("https://") for r in results)
    assert [r.get("thumbnail_url") for r in results] == [None, IMAGE, None]
    assert results[0]["description"] == "TANJUNG SELOR – Ringkasan berita."
    shared = results[1]["input_message_content"]
    assert shared["parse_mode"] == "HTML" and "Baca selengkapnya" in shared["message_text"]
    assert answer["cache_time"] == 60
    empty = await telegram.wait_inline_answer(telegram.inline_query(READER, "🌊"))
    assert empty["results"] == []
    assert telegram.sent == []  # inline answers are not messages


async def test_inline_mode_offers_at_most_twenty(
    telegram: FakeTelegram, store: Store, running
) -> None:
    for n in range(25):
        await store.upsert(article(f"Banjir hari ke-{n}", age=timedelta(minutes=n + 1)))
    answer = await telegram.wait_inline_answer(telegram.inline_query(READER, "BANJIR"))
    titles = [r["title"] for r in answer["results"]]
    assert titles == [f"Banjir hari ke-{n}" for n in range(20)]
    newest = await telegram.wait_inline_answer(telegram.inline_query(READER, ""))
    assert len(newest["results"]) == 20


async def test_inline_mode_reads_only_the_newest_posts_and_cari_further(
    telegram: FakeTelegram, store: Store, running, monkeypatch
) -> None:
    """Inline mode asks at nearly every keystroke: a word no post holds must not read
    the whole store each time (INLINE_SCAN, 2,000 posts; 10 here)."""
    monkeypatch.setattr(commands_alerts, "INLINE_SCAN", 10)
    await store.upsert(article("Ekspedisi ke Krayan", age=timedelta(hours=5)))
    for n in range(12):
        await store.upsert(article(f"Berita biasa {n}", age=timedelta(minutes=n + 1)))
    answer = await telegram.wait_inline_answer(telegram.inline_query(READER, "ekspedisi"))
    assert answer["results"] == []
    assert "Ekspedisi ke Krayan" in await ask(telegram, READER, "/cari ekspedisi")
