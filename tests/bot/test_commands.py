"""The bot's commands end to end: real python-telegram-bot against the fake Bot API.

Commands go in as updates through getUpdates; every answer is recorded by the fake server.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web
from redis.asyncio import Redis

from bot import messages
from bot.subscriptions import Subscriptions
from feedsvc.storage.store import Store
from tests.bot.helpers import ADMIN, NOW, READER, article, ask, until

# The seed article's "Recent Posts": title, lead, age.
RECENT = [
    (
        "Pemkab Bulungan Integrasikan Data Pajak dan Pertanahan",
        "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si menandatangani nota "
        "kesepakatan (MoU) dengan Badan Pertanahan Nasional untuk mengintegrasikan data "
        "pajak bumi dan bangunan dengan data pertanahan di seluruh kecamatan.",
        timedelta(hours=10),
    ),
    (
        "Bupati Sampaikan 3 Isu Strategis ke Ditjen Otonomi Daerah",
        "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si mengikuti kegiatan Reboan.",
        timedelta(hours=10, minutes=5),
    ),
    (
        "Tingkatkan PAD, Bulungan Genjot Retribusi Parkir dan Jasa Pelabuhan",
        "TANJUNG SELOR - Pemerintah Kabupaten (Pemkab) Bulungan terus memacu optimalisasi.",
        timedelta(days=1, hours=2),
    ),
    (
        "Menyalakan Literasi di Utara Kalimantan bersama Balai Bahasa",
        "SEBATIK - Balai Bahasa Provinsi Kalimantan Timur menyelenggarakan Bimbingan Teknis.",
        timedelta(days=5),
    ),
    (
        "Rapimwil TBBR Kaltara, Gubernur Dorong Sinergi Adat dan Pembangunan",
        "MALINAU – Iringan tarian adat Dayak dan nuansa alam Malinau menyambut Gubernur.",
        timedelta(days=21),
    ),
]


# --- commands ---------------------------------------------------------------------------


async def test_start_greets_in_indonesian_and_says_how_to_subscribe(telegram, running) -> None:
    reply = await ask(telegram, READER, "/start")
    assert "Halo" in reply
    assert "/langganan" in reply and "KALTARA" in reply
    assert telegram.sent[-1].parse_mode == "HTML"


async def test_terbaru_is_the_recent_posts_list(telegram, store: Store, running) -> None:
    for title, lead, age in RECENT:
        await store.upsert(article(title, summary=lead, age=age))
    reply = await ask(telegram, READER, "/terbaru")
    titles = [title for title, _, _ in RECENT]
    positions = [reply.index(t) for t in titles]
    assert positions == sorted(positions), "newest first"
    first = article(RECENT[0][0])
    assert f'<a href="{first.link}">{RECENT[0][0]}</a>' in reply
    # The lead is cut at a word with an ellipsis, as on the site.
    assert "menandatangani nota kesepakatan (MoU) dengan Badan Pertanahan" in reply
    assert "…" in reply
    assert "pajak bumi dan bangunan dengan data pertanahan di seluruh kecamatan" not in reply
    for age in ("10 jam lalu", "1 hari lalu", "5 hari lalu", "3 minggu lalu"):
        assert age in reply
    assert telegram.sent[-1].params["link_preview_options"] == {"is_disabled": True}


async def test_terbaru_takes_a_category_and_a_count(telegram, store: Store, running) -> None:
    for i in range(4):
        await store.upsert(article(f"Berita Kaltara {i}", age=timedelta(hours=i + 1)))
    await store.upsert(article("Berita Bulungan", categories=("Bulungan",)))
    reply = await ask(telegram, READER, "/terbaru kaltara 2")
    assert "Berita terbaru: KALTARA" in reply
    assert "Berita Kaltara 0" in reply and "Berita Kaltara 1" in reply
    assert "Berita Kaltara 2" not in reply and "Bulungan" not in reply
    reply = await ask(telegram, READER, "/latest Bulungan")
    assert "Berita Bulungan" in reply and "Berita Kaltara" not in reply
    reply = await ask(telegram, READER, "/terbaru 1 kaltara")
    assert "Berita Kaltara 0" in reply and "Berita Kaltara 1" not in reply
    reply = await ask(telegram, READER, "/terbaru 1")
    assert "Berita Bulungan" in reply and "Berita Kaltara" not in reply


async def test_terbaru_unknown_category_and_empty_store(telegram, store: Store, running) -> None:
    assert "Belum ada berita" in await ask(telegram, READER, "/terbaru")
    await store.upsert(article("Satu"))
    reply = await ask(telegram, READER, "/terbaru olahraga")
    assert "tidak ditemukan" in reply and "/kategori" in reply
    reply = await ask(telegram, READER, "/terbaru <b>x</b>")
    assert "&lt;b&gt;" in reply


async def test_terbaru_in_a_group_addressed_to_the_bot(telegram, store: Store, running) -> None:
    await store.upsert(article("Berita grup"))
    reply = await ask(telegram, -100123, "/terbaru@kaltara_test_bot", chat_type="supergroup")
    assert "Berita grup" in reply
    quoted = telegram.sent[-1].params["reply_parameters"]
    assert quoted["allow_sending_without_reply"] is True and quoted["message_id"] >= 1
    await ask(telegram, READER, "/terbaru")
    assert "reply_parameters" not in telegram.sent[-1].params  # private chats: no quote


async def test_titles_with_markup_characters_are_escaped(telegram, store: Store, running) -> None:
    await store.upsert(article('Harga <naik> & "turun"', summary="A < B & C"))
    reply = await ask(telegram, READER, "/terbaru")
    assert "Harga &lt;naik&gt; &amp; &quot;turun&quot;" in reply
    assert "A &lt; B &amp; C" in reply


async def test_kategori_lists_categories_with_counts(telegram, store: Store, running) -> None:
    await store.upsert(article("A"))
    await store.upsert(article("B"))
    await store.upsert(article("C", categories=("Bulungan",)))
    reply = await ask(telegram, READER, "/kategori")
    assert "KALTARA (2)" in reply and "Bulungan (1)" in reply
    assert "KALTARA (2)" in await ask(telegram, READER, "/categories")


async def test_subscribe_status_unsubscribe(telegram, redis: Redis, store: Store, running) -> None:
    await store.upsert(article("B", categories=("Bulungan",)))
    subs = Subscriptions(redis)
    reply = await ask(telegram, READER, "/langganan")
    assert "Berlangganan: KALTARA" in reply
    assert await subs.of_chat(READER) == {"kaltara"}
    assert "sudah berlangganan" in await ask(telegram, READER, "/subscribe kaltara")
    await ask(telegram, READER, "/langganan bulungan")
    assert "KALTARA" in await ask(telegram, READER, "/status")
    assert await subs.chats_for(["bulungan"]) == {str(READER)}
    assert "tidak ditemukan" in await ask(telegram, READER, "/langganan olahraga")
    reply = await ask(telegram, READER, "/berhenti kaltara")
    assert "Berhenti berlangganan: KALTARA" in reply
    assert await subs.of_chat(READER) == {"bulungan"}
    await ask(telegram, READER, "/unsubscribe")
    assert await subs.of_chat(READER) == set()
    assert "belum berlangganan" in await ask(telegram, READER, "/status")


async def test_help_and_unknown_commands(telegram, running) -> None:
    reply = await ask(telegram, READER, "/bantuan")
    for name in ("/terbaru", "/kategori", "/langganan", "/berhenti", "/status", "/latest"):
        assert name in reply
    assert "/sumber" not in reply
    assert "/sumber" in await ask(telegram, ADMIN, "/help")
    assert "/bantuan" in await ask(telegram, READER, "/apaitu")


async def test_admin_commands_are_for_admins_only(telegram, store: Store, running) -> None:
    assert "hanya untuk admin" in await ask(telegram, READER, "/sumber")
    assert "hanya untuk admin" in await ask(telegram, READER, "/stats")
    assert "Sumber berita" in await ask(telegram, ADMIN, "/sources")
    await store.upsert(article("A"))
    await ask(telegram, READER, "/langganan")
    reply = await ask(telegram, ADMIN, "/statistik")
    assert "Berita tersimpan: 1" in reply and "KALTARA: 1 chat" in reply


async def test_menu_is_set_at_start(telegram, running) -> None:
    names = [c["command"] for c in telegram.commands()]
    assert names[:2] == ["terbaru", "kategori"] and "sumber" not in names
    english = [c["command"] for c in telegram.commands(language_code="en")]
    assert english[:2] == ["latest", "categories"]


async def test_a_channel_subscribes_by_posting_the_command(
    telegram, redis: Redis, store: Store, running
) -> None:
    channel = -1001234
    reply = await ask(telegram, channel, "/langganan", chat_type="channel")
    assert "Berlangganan: KALTARA" in reply
    assert await Subscriptions(redis).of_chat(channel) == {"kaltara"}
    await store.upsert(article("Untuk kanal"), pushable=True)
    await until(lambda: telegram.sent_to(channel)[1:])
    assert "Untuk kanal" in telegram.sent_to(channel)[-1].text


async def test_an_edited_command_is_not_answered_again(telegram, running) -> None:
    await ask(telegram, READER, "/start")
    edited = {
        "message_id": 1,
        "date": int(NOW.timestamp()),
        "edit_date": int(NOW.timestamp()),
        "chat": {"id": READER, "type": "private", "first_name": "A"},
        "from": {"id": READER, "is_bot": False, "first_name": "A"},
        "text": "/bantuan",
        "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
    }
    telegram.add_update({"edited_message": edited})
    await ask(telegram, READER, "/status")  # fetched after the edit
    await asyncio.sleep(0.3)  # updates are handled concurrently: give the edit time to show
    assert len(telegram.sent) == 2


def test_a_long_recent_posts_list_stays_inside_one_message() -> None:
    long_title = "Judul panjang " * 20
    posts = [article(f"{long_title} {i}", summary="kata " * 100) for i in range(10)]
    text = messages.recent_posts(posts, NOW, "Berita terbaru")
    assert messages.visible_length(text) <= messages.MAX_TEXT
    assert 5 <= text.count("<a href=") < 10
    assert messages.visible_length('<b><a href="https://x.id/a">A &amp; B</a></b>') == 5


async def test_only_group_admins_change_a_groups_subscriptions(
    telegram, redis: Redis, running
) -> None:
    group, owner, member = -100321, 77, 78
    telegram.group_owners[group] = owner
    kind = {"chat_type": "supergroup"}
    reply = await ask(telegram, group, "/langganan", user_id=member, **kind)
    assert "hanya admin grup" in reply
    assert await Subscriptions(redis).of_chat(group) == set()
    assert "Berlangganan" in await ask(telegram, group, "/langganan", user_id=owner, **kind)
    assert "hanya admin grup" in await ask(telegram, group, "/berhenti", user_id=member, **kind)
    assert await Subscriptions(redis).of_chat(group) == {"kaltara"}
    assert "berita" in await ask(telegram, group, "/terbaru", user_id=member, **kind)


async def test_a_command_without_its_entity_is_still_answered(telegram, running) -> None:
    """Some clients and Bot API servers leave out the bot_command entity."""
    before = len(telegram.sent)
    telegram.message(READER, "/bantuan")
    sent = await telegram.wait_sent(before + 1)
    assert "/terbaru" in sent[-1].text


async def test_a_group_subscribes_when_telegram_cannot_name_its_admins(
    telegram, redis: Redis, running, monkeypatch
) -> None:
    async def unknown_method(params: dict) -> web.Response:
        return web.json_response({"ok": True, "result": True})  # not a ChatMember

    monkeypatch.setattr(telegram, "_m_getchatmember", unknown_method)
    reply = await ask(telegram, -100999, "/langganan", user_id=5, chat_type="supergroup")
    assert "Berlangganan: KALTARA" in reply
