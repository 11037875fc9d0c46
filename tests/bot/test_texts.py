"""The bot explains itself: /id, /start and /bantuan, and an unknown category's answer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from bot import messages
from feedsvc.ingest.parse.entry import build_entry
from feedsvc.models import Article
from feedsvc.storage.store import Store
from tests.bot.helpers import READER, article, ask


async def test_id_answers_the_chat_id_and_the_senders_user_id(telegram, running) -> None:
    reply = await ask(telegram, READER, "/id")
    assert f"ID chat ini: <code>{READER}</code>" in reply
    assert f"ID Anda: <code>{READER}</code>" in reply
    assert "telegram.admins" in reply and f"admins = [{READER}]" in reply
    group = -1005551234
    reply = await ask(telegram, group, "/id", user_id=77, chat_type="supergroup")
    assert f"ID chat ini: <code>{group}</code>" in reply and "ID Anda: <code>77</code>" in reply
    assert "telegram.channels" in reply
    reply = await ask(telegram, -1007, "/id", chat_type="channel")  # a channel post: no sender
    assert "ID chat ini: <code>-1007</code>" in reply and "ID Anda" not in reply


async def test_start_and_help_say_how_to_subscribe_and_find_your_id(telegram, running) -> None:
    for command in ("/start", "/bantuan", "/help"):
        reply = await ask(telegram, READER, command)
        assert "/langganan" in reply, command
        assert "/id" in reply and "telegram.admins" in reply, command
    assert "KALTARA" in await ask(telegram, READER, "/start")
    assert "id" in {c["command"] for c in telegram.commands()}


async def test_an_unknown_category_lists_the_real_ones(telegram, store: Store, running) -> None:
    await store.upsert(article("A"))
    await store.upsert(article("B", categories=("Bulungan",)))
    for command in ("/terbaru olahraga", "/langganan olahraga"):
        reply = await ask(telegram, READER, command)
        assert "Kategori <b>olahraga</b> tidak ditemukan" in reply, command
        assert "<code>KALTARA</code>" in reply and "<code>Bulungan</code>" in reply, command


def test_the_lead_is_the_stored_summary_escaped_and_never_the_content_again() -> None:
    # An article written straight into the store, markup and all, as older data may be.
    nasty = Article(
        id="x",
        title="<b>Judul</b>",
        link="https://www.jurnalkaltara.com/x/",
        categories=("KALTARA",),
        published=datetime(2026, 11, 20, tzinfo=UTC),
        summary='<script>alert(1)</script> & "x"',
        content="<script>alert(2)</script><p>Isi berita</p>",
    )
    text = messages.push(nasty)
    assert "<script>" not in text and "alert(2)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in text
    assert "&lt;b&gt;Judul&lt;/b&gt;" in text
    assert messages.lead(dataclasses.replace(nasty, summary="")) == ""  # content is not read


def test_the_write_door_gives_every_article_with_text_a_summary() -> None:
    # Read paths rely on it: an entry with content and no summary is summarised when built.
    entry = build_entry(
        base="https://x.id/feed/",
        guid="1",
        link="https://x.id/1/",
        title="Judul",
        content_html="<script>alert(1)</script><p>Isi <b>berita</b> hari ini.</p>",
    )
    assert entry is not None and entry.summary == "Isi berita hari ini."
