"""The bot as a service: start-up, secrets kept out of logs, webhook mode, the `feedsvc bot`
process, the Bot API address, one poller among several processes, Telegram down at start.
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

import pytest
from redis.asyncio import Redis

from bot.app import api_base, api_host, build_application, run_bot
from bot.subscriptions import Subscriptions
from bot.webhook import SECRET_HEADER
from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import Settings
from feedsvc.logs import setup_logging
from feedsvc.storage.store import Store
from tests.bot.helpers import NOW, READER, article, ask, not_, until
from tests.fakes.telegram_api import FakeTelegram

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
        # The line names the server it could not reach, never the token in its URL.
        line = next(r.getMessage() for r in caplog.records if "cannot start" in r.getMessage())
        assert f"at 127.0.0.1:{port} (" in line and "retrying in" in line
        assert later.token not in caplog.text and later.token.split(":")[1] not in line
        await later.start(port)  # Telegram is back
        await until(lambda: application.running)
        assert "Halo" in await ask(later, READER, "/start")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await later.close()


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


def test_api_host_names_the_server_only() -> None:
    assert api_host("") == "api.telegram.org"
    assert api_host("http://127.0.0.1:8081/bot") == "127.0.0.1:8081"
    assert api_host("https://user:secret@tg.example/bot{token}/x") == "tg.example"
