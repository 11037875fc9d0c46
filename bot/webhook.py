"""Webhook mode: Telegram POSTs updates to `telegram.webhook_url`, served by aiohttp."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from telegram import Bot, Update

from feedsvc import appkeys
from feedsvc.tokens import token_matches

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
    if secret and not token_matches(given, (secret,)):
        return web.Response(status=403, text="wrong secret token")
    if application is None or not application.running:
        return web.Response(status=503, text="bot not running yet")  # Telegram retries
    update = parse_update(await request.read(), application.bot)
    if update is None:
        return web.Response(status=400, text="not a Telegram update")
    await application.update_queue.put(update)
    return web.Response(text="ok")


def parse_update(body: bytes, bot: Bot) -> Update | None:
    """The update in `body`, or None (logged) when it is not one."""
    try:
        data = orjson.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("not an object with an integer update_id")
        return Update.de_json(data, bot)
    # Even with the right secret the body is input: PTB raises whatever a field's
    # type makes it raise (AttributeError, TypeError, OverflowError on a huge date).
    except Exception as exc:
        log.warning("webhook: not a Telegram update: %s", f"{type(exc).__name__}: {exc}"[:200])
        return None
