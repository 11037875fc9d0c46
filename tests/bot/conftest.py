"""Fixtures of the bot tests: the fake Bot API, settings pointing at it, a running bot."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.app import build_application, run_bot
from feedsvc.config import Settings, TelegramSettings
from feedsvc.storage.store import Store
from tests.bot.helpers import ADMIN, group_exists, until
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def bot_settings(settings: Settings, telegram: FakeTelegram) -> Settings:
    return dataclasses.replace(
        settings,
        telegram=TelegramSettings(
            token=telegram.token,
            api_base_url=telegram.base_url,
            channels=("@kaltara_news",),
            admins=(ADMIN,),
        ),
    )


@pytest.fixture
async def running(
    bot_settings: Settings, redis: Redis, store: Store, telegram: FakeTelegram
) -> AsyncIterator[None]:
    """The whole bot (commands and pushes) running as `feedsvc bot` runs it."""
    application = build_application(bot_settings, redis, store)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(application, bot_settings, redis, stop=stop))
    await until(lambda: application.running and telegram.calls_to("getUpdates"))
    await until(lambda: group_exists(redis))
    yield
    stop.set()  # the orderly stop, as on SIGTERM
    try:
        async with asyncio.timeout(10):
            await asyncio.shield(task)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
