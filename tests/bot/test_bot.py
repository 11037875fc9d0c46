"""The Telegram bot end to end: real python-telegram-bot against a fake Bot API server.

Commands go in as updates through getUpdates, pushes come from real store upserts
through the event stream, and every sendMessage is recorded by the fake server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot import messages
from bot.app import api_base, build_application, run_bot
from bot.subscriptions import Subscriptions
from bot.webhook import SECRET_HEADER
from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import Settings
from feedsvc.logs import setup_logging
from feedsvc.storage.store import Store
from tests.bot.helpers import ADMIN, NOW, READER, article, ask, not_, until
from tests.fakes.telegram_api import FakeTelegram

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


# --- pushes ------------------------------------------------------------------------------


async def test_group_migration_message_moves_subscriptions(telegram, redis: Redis, running) -> None:
    subs = Subscriptions(redis)
    await subs.add(-777, ["kaltara"])
    telegram.add_update(
        {
            "message": {
                "message_id": 9,
                "date": int(NOW.timestamp()),
                "chat": {"id": -777, "type": "group", "title": "Grup"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "migrate_to_chat_id": -100777,
            }
        }
    )
    await until(lambda: subs.of_chat(-100777))
    assert await subs.of_chat(-777) == set()


async def test_removed_from_a_group_unsubscribes(telegram, redis: Redis, running) -> None:
    subs = Subscriptions(redis)
    await subs.add(-888, ["kaltara"])
    member = {"user": {"id": telegram.bot_id, "is_bot": True, "first_name": "Bot"}}
    telegram.add_update(
        {
            "my_chat_member": {
                "chat": {"id": -888, "type": "supergroup", "title": "Grup"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "date": int(NOW.timestamp()),
                "old_chat_member": {**member, "status": "member"},
                "new_chat_member": {**member, "status": "left"},
            }
        }
    )
    await until(lambda: not_(subs.of_chat(-888)))


# --- exactly once, across restarts and crashes --------------------------------------------


# --- start-up and secrets ----------------------------------------------------------------


@pytest.fixture
def service_logging() -> Iterator[None]:
    """The service's own log set-up (with its secret filter) for one test, then pytest's."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


async def test_token_never_reaches_the_log(
    telegram, bot_settings: Settings, redis: Redis, store: Store, service_logging, capsys
) -> None:
    setup_logging(logging.DEBUG, secrets=[bot_settings.telegram.token])
    telegram.fail(READER, "not_found")
    await Subscriptions(redis).add(READER, ["kaltara"])
    application = build_application(bot_settings, redis, store)
    task = asyncio.create_task(run_bot(application, bot_settings, redis))
    await store.upsert(article("Satu"), pushable=True)
    await telegram.wait_sent(1)
    await until(lambda: not_(Subscriptions(redis).of_chat(READER)))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    logged = capsys.readouterr().err
    assert "Telegram bot @kaltara_test_bot running" in logged
    assert "sendMessage" in logged  # the HTTP client's request lines were there, scrubbed
    assert telegram.token.split(":")[1] not in logged


async def test_a_refused_token_turns_the_bot_off(
    telegram, bot_settings: Settings, redis: Redis, store: Store, caplog
) -> None:
    wrong = dataclasses.replace(
        bot_settings, telegram=dataclasses.replace(bot_settings.telegram, token="1:wrong")
    )
    application = build_application(wrong, redis, store)
    async with asyncio.timeout(5):
        await run_bot(application, wrong, redis)
    assert "Telegram refused telegram.token" in caplog.text


# --- webhook mode and the `feedsvc bot` process ------------------------------------------

WEBHOOK_SECRET = "s3cret_Webhook-token"


async def test_webhook_mode_receives_updates(
    telegram, bot_settings: Settings, store: Store, aiohttp_client
) -> None:
    settings = dataclasses.replace(
        bot_settings,
        telegram=dataclasses.replace(
            bot_settings.telegram,
            mode="webhook",
            webhook_url="https://berita.example/telegram/webhook",
            webhook_secret=WEBHOOK_SECRET,
        ),
    )
    client = await aiohttp_client(make_app(settings, ("web", "bot")))
    await until(lambda: telegram.webhook is not None and client.app[appkeys.BOT].running)
    health = await (await client.get("/healthz")).json()
    assert health["telegram"] == {"status": "running"}
    assert telegram.webhook["url"] == "https://berita.example/telegram/webhook"
    assert telegram.webhook["secret_token"] == WEBHOOK_SECRET
    assert not telegram.calls_to("getUpdates")
    await store.upsert(article("Lewat webhook"))
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(NOW.timestamp()),
            "chat": {"id": READER, "type": "private", "first_name": "A"},
            "from": {"id": READER, "is_bot": False, "first_name": "A"},
            "text": "/terbaru",
            "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        },
    }
    wrong = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "x"})
    assert wrong.status == 403
    assert (await client.post("/telegram/webhook", data=b"{", headers=_secret())).status == 400
    response = await client.post("/telegram/webhook", json=update, headers=_secret())
    assert response.status == 200
    sent = await telegram.wait_sent(1)
    assert "Lewat webhook" in sent[0].text


def _secret() -> dict[str, str]:
    return {SECRET_HEADER: WEBHOOK_SECRET}


def test_feedsvc_bot_process_answers_and_stops_on_sigterm(tmp_path, redis_url: str) -> None:
    """`feedsvc bot` as the Procfile runs it, against the fake Bot API on its own loop."""
    fake = FakeTelegram()
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(5)
    path = tmp_path / "config.toml"
    path.write_text(
        f"[redis]\nurl = '{redis_url}'\n"
        f"[telegram]\ntoken = '{fake.token}'\napi_base_url = '{fake.base_url}'\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedsvc", "bot", "--config", str(path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        loop.call_soon_threadsafe(fake.command, READER, "/start")
        wait = asyncio.run_coroutine_threadsafe(fake.wait_sent(1, timeout=30), loop)
        assert "Halo" in wait.result(35)[0].text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    log = proc.stderr.read()
    assert "Telegram bot @kaltara_test_bot running" in log
    assert fake.token.split(":")[1] not in log


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


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot"),
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081/bot"),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"),
        ("https://tg.example/api/bot/", "https://tg.example/api/bot"),
    ],
)
def test_api_base_url_forms(given: str, used: str) -> None:
    assert api_base(given) == used


async def test_a_bot_api_server_given_by_its_root_works(
    telegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    root = telegram.base_url.removesuffix("/bot")
    settings = dataclasses.replace(
        bot_settings, telegram=dataclasses.replace(bot_settings.telegram, api_base_url=root)
    )
    async with build_application(settings, redis, store) as application:
        assert application.bot.username == "kaltara_test_bot"


async def test_two_bot_processes_poll_one_at_a_time(
    telegram, bot_settings: Settings, redis: Redis, store: Store, monkeypatch
) -> None:
    """Telegram refuses a second getUpdates: one process polls, the other takes over."""
    monkeypatch.setattr("bot.polling.RENEW_EVERY", 0.1)
    apps = [build_application(bot_settings, redis, store) for _ in range(2)]
    tasks = [asyncio.create_task(run_bot(app, bot_settings, redis)) for app in apps]
    try:
        await until(lambda: all(app.running for app in apps) and telegram.calls_to("getUpdates"))
        await asyncio.sleep(0.5)  # several renewals: the follower must stay a follower
        polling = [app for app in apps if app.updater.running]
        assert len(polling) == 1
        for n in range(3):
            await ask(telegram, READER + n, "/start")
        await asyncio.sleep(0.3)
        assert len(telegram.sent) == 3, "each command answered once"
        leader = apps.index(polling[0])
        tasks[leader].cancel()  # a clean stop lets go of the lease
        await asyncio.gather(tasks[leader], return_exceptions=True)
        other = apps[1 - leader]
        await until(lambda: other.updater.running)
        assert "Halo" in await ask(telegram, READER, "/start")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_telegram_unreachable_at_start_is_retried(
    bot_settings: Settings, redis: Redis, store: Store, monkeypatch, caplog
) -> None:
    monkeypatch.setattr("bot.app.RETRY_START", (0.2, 0.4))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    later = FakeTelegram()
    settings = dataclasses.replace(
        bot_settings,
        telegram=dataclasses.replace(
            bot_settings.telegram,
            token=later.token,
            api_base_url=f"http://127.0.0.1:{port}/bot",
        ),
    )
    application = build_application(settings, redis, store)
    task = asyncio.create_task(run_bot(application, settings, redis))
    try:
        await until(lambda: "Telegram bot cannot start" in caplog.text)
        assert not application.running
        await later.start(port)  # Telegram is back
        await until(lambda: application.running)
        assert "Halo" in await ask(later, READER, "/start")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await later.close()


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


def test_feedsvc_bot_without_a_token_says_so(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[telegram]\ntoken = ''\n")
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "feedsvc", "bot", "--config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "feedsvc: no telegram.token (or TELEGRAM_BOT_TOKEN) set: no bot to run"
    )
