"""What the bot tests share: sample articles, waiting for the bot, asking it things."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from feedsvc.models import Article, stable_id
from feedsvc.storage import keys
from feedsvc.storage.events import EventStream
from tests.fakes.telegram_api import FakeTelegram

ADMIN = 4242
READER = 1001
NOW = datetime.now(UTC)


def article(
    title: str,
    *,
    categories: tuple[str, ...] = ("KALTARA",),
    age: timedelta = timedelta(minutes=5),
    summary: str = "TANJUNG SELOR – Ringkasan berita.",
    author: str = "Wira",
) -> Article:
    link = "https://www.jurnalkaltara.com/" + title.lower().replace(" ", "-")[:60] + "/"
    return Article(
        id=stable_id(link),
        title=title,
        link=link,
        categories=categories,
        published=NOW - age,
        author=author,
        summary=summary,
        content=f"<p>{summary}</p>",
        source="test",
    )


async def group_exists(redis: Redis) -> bool:
    try:
        groups = await redis.xinfo_groups(keys.EVENTS)
    except Exception:
        return False
    return any(g["name"] == keys.TELEGRAM_GROUP for g in groups)


async def nothing_pending(redis: Redis) -> bool:
    return await EventStream(redis, keys.TELEGRAM_GROUP).pending_count() == 0


async def until(check: Callable[[], object], timeout: float = 10) -> None:  # noqa: ASYNC109
    """Wait for what the bot does in the background; `check` may return an awaitable."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)


async def not_(result: Awaitable[object]) -> bool:
    return not await result


async def ask(telegram: FakeTelegram, chat_id: int, text: str, **kwargs) -> str:
    """Send a command and return the bot's reply."""
    before = len(telegram.sent)
    telegram.command(chat_id, text, **kwargs)
    sent = await telegram.wait_sent(before + 1)
    return sent[before].text
