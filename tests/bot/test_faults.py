"""Delivery faults with real processes: `feedsvc bot` subprocesses SIGTERMed and SIGKILLed
mid-fan-out, and their Redis stopped for 10 s, against the fake Bot API serving from a
thread of the test. Each test counts every message the fake accepted per chat.

The bot runs at DEBUG level with an API token configured, and no log line of any of
these processes may hold the bot token or an API token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.delivery.ledger import Ledger
from bot.subscriptions import Subscriptions
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import Store
from tests.bot.helpers import article, group_exists, nothing_pending, until
from tests.conftest import RedisProcess
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_thread import Threaded, in_thread
from tests.fakes.telegram_wire import Limits

API_TOKEN = "api-Token-that-must-stay-secret"
SHUTDOWN_TIMEOUT = 10.0


class BotProcess:
    """`feedsvc bot` as a deployment runs it; its log goes to a file."""

    def __init__(self, config: Path, log: Path) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("TELEGRAM_BOT_TOKEN", "REDIS_URL", "FEEDSVC_CONFIG")
        }
        self.log = log
        with log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "feedsvc", "bot", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env=env,
            )

    def signal(self, sig: int) -> float:
        self.proc.send_signal(sig)
        return time.monotonic()

    async def wait(self, timeout: float = 30) -> int:  # noqa: ASYNC109
        return await asyncio.to_thread(self.proc.wait, timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def fake() -> Iterator[Threaded]:
    with in_thread(FakeTelegram()) as threaded:
        yield threaded


@pytest.fixture
async def redis(redis_process: RedisProcess) -> Redis:
    """A client of the test's own Redis, which these tests stop and start."""
    client = client_from_url(redis_process.url)
    yield client
    await client.aclose()


@pytest.fixture
def start_bot(tmp_path: Path, redis_process: RedisProcess, fake: Threaded) -> Iterator:
    """Start a `feedsvc bot` on the test's Redis and fake; all are killed at the end."""
    started: list[BotProcess] = []

    def start(max_rate: float) -> BotProcess:
        config = tmp_path / f"bot-{max_rate:g}.toml"
        config.write_text(
            f"[service]\nshutdown_timeout = {SHUTDOWN_TIMEOUT}\n"
            f"[redis]\nurl = '{redis_process.url}'\n"
            f"[api]\ntokens = ['{API_TOKEN}']\n"
            "[logging]\nlevel = 'debug'\n"
            f"[telegram]\ntoken = '{fake.fake.token}'\napi_base_url = '{fake.fake.base_url}'\n"
            f"max_rate = {max_rate}\n"
        )
        bot = BotProcess(config, tmp_path / "bots.log")
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.kill()
    log = (tmp_path / "bots.log").read_text() if started else ""
    assert_no_secrets(log, fake.fake.token)


def assert_no_secrets(log: str, token: str) -> None:
    assert "Calling Bot API endpoint `sendMessage`" in log  # DEBUG lines were there
    for line in log.splitlines():
        assert token not in line and token.split(":")[1] not in line, line
        assert API_TOKEN not in line, line


async def fan_out_to(redis: Redis, chats: list[int], title: str) -> str:
    """Subscribe `chats`, then store a new pushable post; returns its id."""
    subs = Subscriptions(redis)
    for chat in chats:
        await subs.add(chat, ["kaltara"])
    await until(lambda: group_exists(redis), timeout=60)  # the bot is reading
    post = article(title)
    await Store(redis).upsert(post, pushable=True)
    return post.id


def delivered(fake: Threaded, title: str) -> list[int | str]:
    return [m.chat_id for m in list(fake.fake.sent) if title in m.text]


async def test_sigterm_mid_fan_out_drains_and_a_restart_completes_it_exactly_once(
    redis: Redis, fake: Threaded, start_bot
) -> None:
    chats = list(range(3001, 3151))  # 150 at 28/s: about 5 s
    first = start_bot(max_rate=28)
    post_id = await fan_out_to(redis, chats, "Satu")
    await until(lambda: len(delivered(fake, "Satu")) >= 40, timeout=60)
    asked = first.signal(signal.SIGTERM)
    assert await first.wait(SHUTDOWN_TIMEOUT + 5) == 0
    assert time.monotonic() - asked < SHUTDOWN_TIMEOUT
    records = await Ledger(redis, "test").records(post_id)
    assert all(r.state == "sent" for r in records.values()), "nothing claimed and unsent"
    assert len(records) == len(delivered(fake, "Satu")) < len(chats), "stopped mid-fan-out"

    second = start_bot(max_rate=28)
    await until(lambda: len(delivered(fake, "Satu")) >= len(chats), timeout=60)
    await until(lambda: nothing_pending(redis), timeout=30)
    assert sorted(delivered(fake, "Satu")) == chats, "0 lost, 0 duplicates"
    second.signal(signal.SIGTERM)
    assert await second.wait(SHUTDOWN_TIMEOUT + 5) == 0


async def test_sigkill_mid_fan_out_loses_at_most_the_requests_on_the_wire(
    redis: Redis, fake: Threaded, start_bot
) -> None:
    chats = list(range(4001, 4151))  # 150 at 28/s: about 5 s
    first = start_bot(max_rate=28)
    post_id = await fan_out_to(redis, chats, "Dua")
    await until(lambda: len(delivered(fake, "Dua")) >= 40, timeout=60)
    first.signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL
    at_kill = len(delivered(fake, "Dua"))
    claims = await Ledger(redis, "test").records(post_id)
    on_the_wire = {int(c) for c, r in claims.items() if r.state == "sending"}
    assert len(on_the_wire) <= 2, on_the_wire
    assert at_kill < len(chats)

    second = start_bot(max_rate=28)  # takes the event over once the first one's lease is gone
    expected = len(chats) - len(on_the_wire - set(delivered(fake, "Dua")))
    await until(lambda: len(delivered(fake, "Dua")) >= expected, timeout=60)
    await until(lambda: nothing_pending(redis), timeout=30)
    got = delivered(fake, "Dua")
    assert len(got) == len(set(got)), "0 duplicates"
    lost = set(chats) - set(got)
    assert lost <= on_the_wire, "lost only what was on the wire at the kill"
    second.signal(signal.SIGTERM)
    assert await second.wait(SHUTDOWN_TIMEOUT + 5) == 0


async def test_redis_stopped_10_s_mid_fan_out_loses_nothing_and_doubles_nothing(
    redis: Redis, redis_process: RedisProcess, fake: Threaded, start_bot, tmp_path: Path
) -> None:
    chats = list(range(5001, 5151))  # 150 at 28/s: about 5 s without the outage
    bot = start_bot(max_rate=28)
    await fan_out_to(redis, chats, "Tiga")
    await until(lambda: len(delivered(fake, "Tiga")) >= 40, timeout=60)
    redis_process.stop()
    stopped = len(delivered(fake, "Tiga"))
    await asyncio.sleep(10)
    during = len(delivered(fake, "Tiga"))
    redis_process.start()
    await until(lambda: len(delivered(fake, "Tiga")) >= len(chats), timeout=60)
    await until(lambda: nothing_pending(redis), timeout=30)
    assert during - stopped <= 2, "sending paused (but what was on the wire)"
    assert sorted(delivered(fake, "Tiga")) == chats, "0 lost, 0 duplicates"
    bot.signal(signal.SIGTERM)
    assert await bot.wait(SHUTDOWN_TIMEOUT + 5) == 0
    log = (tmp_path / "bots.log").read_text()
    assert "pushes wait for Redis" in log and "Redis is back" in log
    assert await redis.exists(keys.sent(article("Tiga").id))


@pytest.fixture
def cpu_hogs() -> Iterator[None]:
    """A busy loop on each core beside the test, as on a loaded machine."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    yield
    for hog in hogs:
        hog.kill()
        hog.wait(10)


async def test_a_loaded_machine_draws_no_429_from_limits_counted_by_arrival(
    redis: Redis, fake: Threaded, start_bot, cpu_hogs
) -> None:
    """200 chats x 3 posts at the default 28/s with Telegram's limits enforced by arrival
    time (30/s overall, 1/s per chat): the limiter's margin absorbs the late arrivals."""
    fake.call(setattr, fake.fake, "limits", Limits())
    chats = list(range(6001, 6201))
    start_bot(max_rate=28)
    titles = ["Pagi", "Siang", "Malam"]
    await fan_out_to(redis, chats, titles[0])
    for title in titles[1:]:
        await Store(redis).upsert(article(title), pushable=True)
    await until(lambda: len(fake.fake.sent) >= 3 * len(chats), timeout=90)
    assert fake.fake.floods == [], f"{len(fake.fake.floods)} x 429"
    for title in titles:
        assert sorted(delivered(fake, title)) == chats
    assert fake.fake.busiest_second() <= 30
