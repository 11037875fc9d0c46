"""The Telegram bot as one long-running task: commands in, pushes out.

`run_bot` builds a python-telegram-bot Application around our Redis and store,
starts it (long polling, or a webhook that web.py receives), runs push delivery
beside it (bot/delivery/), and stops when `stop` is set (pushes drain first: what
is on the wire finishes, the rest is handed back) or when cancelled. Telegram
being unreachable at start is retried with backoff; a refused token disables the
bot with one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot import commands, commands_alerts, commands_digest
from bot.delivery.consumer import EventConsumer, consumer_name
from bot.delivery.corrections import Corrections
from bot.delivery.digest import DigestSender
from bot.delivery.push import Pusher, push_bot
from bot.polling import poll_while_leading
from bot.ratelimit import RedisRateLimiter
from bot.sourcewatch import SourceWatch
from bot.subscriptions import Subscriptions
from feedsvc.config import Settings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.metrics import Metrics
from feedsvc.storage.store import Store

log = logging.getLogger(__name__)

CONCURRENT_UPDATES = 16  # one chat waiting on its 1 msg/s limit must not hold up others
RETRY_START = (5.0, 300.0)
DEFAULT_API_HOST = "api.telegram.org"  # first and longest wait when Telegram cannot be reached


def build_application(settings: Settings, redis: Redis, store: Store) -> Application:
    telegram = settings.telegram
    builder = (
        ApplicationBuilder()
        .token(telegram.token)
        .rate_limiter(RedisRateLimiter(redis, max_rate=telegram.max_rate))
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if telegram.api_base_url:
        builder = builder.base_url(api_base(telegram.api_base_url))
    if telegram.mode == "webhook":
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["services"] = commands.Services(
        settings, store, Subscriptions(redis), SourceRegistry(redis, settings)
    )
    commands.add_handlers(application, [*commands_alerts.COMMANDS, *commands_digest.COMMANDS])
    commands_alerts.add_inline(application)
    application.add_error_handler(_on_error)
    return application


def api_base(url: str) -> str:
    """A Bot API server's address as python-telegram-bot wants it: ending in "/bot".

    Requests go to f"{base}{token}/{method}"; a server given by its root alone
    ("http://127.0.0.1:8081") would otherwise get ".../8081123:ABC/getMe".
    """
    url = url.rstrip("/")
    return url if url.endswith("/bot") or "{token}" in url else url + "/bot"


def api_host(api_base_url: str) -> str:
    """The Bot API server's host[:port] for messages: never its path (the token goes there)."""
    if not api_base_url:
        return DEFAULT_API_HOST
    parts = urlsplit(api_base_url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


async def run_bot(
    application: Application,
    settings: Settings,
    redis: Redis,
    metrics: Metrics | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until `stop` is set or cancelled, starting again after Telegram or a bug
    stopped it."""
    stop = stop or asyncio.Event()
    wait = RETRY_START[0]
    while not stop.is_set():
        try:
            async with _running(application, settings, redis):
                wait = RETRY_START[0]  # started: a later failure starts its backoff afresh
                await deliver_pushes(application, settings, redis, metrics, stop)
        except InvalidToken:
            log.error("Telegram refused telegram.token; the bot stays off until it is fixed")
            return
        except TelegramError as exc:
            log.warning(
                "Telegram bot cannot start: %s at %s (%s); retrying in %.0f s",
                type(exc).__name__, api_host(settings.telegram.api_base_url), exc, wait,
            )  # fmt: skip
        except Exception:
            log.exception("Telegram bot stopped; restarting in %.0f s", wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        wait = min(wait * 2, RETRY_START[1])


async def deliver_pushes(
    application: Application,
    settings: Settings,
    redis: Redis,
    metrics: Metrics | None,
    stop: asyncio.Event,
) -> None:
    """Push new posts until `stop` is set; then hand back what is not on the wire."""
    services: commands.Services = application.bot_data["services"]
    telegram = settings.telegram
    base_url = api_base(telegram.api_base_url) if telegram.api_base_url else ""
    name = consumer_name()
    async with push_bot(telegram, base_url) as bot:
        pusher = Pusher(
            redis,
            services.store,
            services.subscriptions,
            bot,
            application.bot.rate_limiter,
            telegram,
            owner=name,
            stop=stop,
            count=metrics.count_push if metrics else lambda outcome: None,
        )
        window = telegram.max_push_age_hours
        handle = Corrections(pusher, services.store).handle  # pushes, and edits of them
        consumer = EventConsumer(redis, handle, window_hours=window, stop=stop, name=name)
        sender = DigestSender(
            redis, services.store, services.subscriptions, pusher, owner=name, stop=stop
        )
        watch = SourceWatch(
            redis, services.sources, pusher, telegram.admins, telegram.alert_after_hours, stop=stop
        )
        await _together(consumer.run(), sender.run(), watch.run())


async def _together(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run side by side; the first to fail (or be cancelled) takes the others with it."""
    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(job)


@contextlib.asynccontextmanager
async def _running(
    application: Application, settings: Settings, redis: Redis
) -> AsyncIterator[None]:
    telegram = settings.telegram
    await application.initialize()
    try:
        await _set_menu(application)
        if telegram.mode == "webhook":
            await application.bot.set_webhook(
                telegram.webhook_url,
                secret_token=telegram.webhook_secret or None,
                allowed_updates=Update.ALL_TYPES,
            )
        await application.start()
        log.info("Telegram bot @%s running (%s)", application.bot.username, telegram.mode)
        polling = None
        if telegram.mode == "polling":
            polling = asyncio.create_task(poll_while_leading(application, redis))
        try:
            yield
        finally:
            if polling is not None:
                polling.cancel()
                await asyncio.gather(polling, return_exceptions=True)
            await application.stop()
    finally:
        await application.shutdown()


async def _set_menu(application: Application) -> None:
    try:
        await application.bot.set_my_commands(commands.MENU)
        await application.bot.set_my_commands(commands.MENU_EN, language_code="en")
    except TelegramError as exc:  # a missing menu is cosmetic
        log.warning("could not set the bot's command menu: %s", exc)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a failed command once and tell the chat, without the traceback's secrets."""
    chat = update.effective_chat if isinstance(update, Update) else None
    log.error("command in chat %s failed: %r", chat.id if chat else "?", context.error)
    if chat is not None:
        with contextlib.suppress(TelegramError):
            await chat.send_message("Maaf, terjadi gangguan. Coba lagi sebentar lagi.")
