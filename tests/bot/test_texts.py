"""The bot explains itself: /id, /start and /bantuan, and an unknown category's answer."""

from __future__ import annotations

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
