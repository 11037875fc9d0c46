"""Webhook mode: Telegram POSTs updates to `telegram.webhook_url`, served by aiohttp."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from telegram import Update

from feedsvc import appkeys

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def path_of(webhook_url: str) -> str:
    return urlsplit(webhook_url).path or "/"


def add_route(app: web.Application, webhook_url: str) -> None:
    app.router.add_post(path_of(webhook_url), receive)


async def receive(request: web.Request) -> web.Response:
    """Queue one update; 403 without the configured secret, 503 until the bot runs."""
    application = request.app.get(appkeys.BOT)
    secret = request.app[appkeys.SETTINGS].telegram.webhook_secret
    given = request.headers.get(SECRET_HEADER, "")
    if secret and not hmac.compare_digest(given.encode(), secret.encode()):
        return web.Response(status=403, text="wrong secret token")
    if application is None or not application.running:
        return web.Response(status=503, text="bot not running yet")  # Telegram retries
    try:
        data = orjson.loads(await request.read())
        update = Update.de_json(data, application.bot)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning("webhook: not a Telegram update: %s", exc)
        return web.Response(status=400, text="not a Telegram update")
    await application.update_queue.put(update)
    return web.Response(text="ok")
