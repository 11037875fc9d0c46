"""The daily digest's command: /ringkasan [jam|mati] (/digest)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import ContextTypes

from bot import digests
from bot.commands import _may_manage, _names, _reply, _status, recipient_of, services

log = logging.getLogger(__name__)


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ringkasan [jam|mati]: one message a day at that WITA hour instead of each post."""
    s = services(context)
    default = s.settings.telegram.digest_hour
    choice = digests.parse_choice(list(context.args or []), default)
    if choice.action == "bad":
        await _reply(update, "Jam tidak dikenali. " + digests.USAGE.format(default=default))
        return
    if not await _may_manage(update, context):
        await _reply(update, "Maaf, hanya admin grup yang bisa mengubah ringkasan grup ini.")
        return
    chat_id, chosen = recipient_of(update), digests.Digests(s.subscriptions.redis)
    if choice.action == "on":
        setting = await chosen.set(chat_id, choice.hour, datetime.now(UTC))
        log.info("chat %s takes a daily digest at %02d WITA", chat_id, choice.hour)
        text = "✅ " + digests.told(setting)
    else:
        await chosen.clear(chat_id)
        text = digests.told(None)
    await _reply(update, text + "\n\n" + await _status(s, chat_id, await _names(s)))


COMMANDS = [
    (("ringkasan", "digest"), digest),
]
