"""Commands that shape a chat's alerts: quiet hours (/senyap) and search (/cari)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot import alert_messages
from bot.commands import _may_manage, _reply, recipient_of, services
from bot.quiet import OFF, parse_window

log = logging.getLogger(__name__)


async def quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/senyap 22-6: pushes in those WITA hours arrive without sound; "mati" ends it."""
    s = services(context)
    given = " ".join(context.args or []).strip()
    chat = recipient_of(update)
    if not given:
        current = await s.subscriptions.quiet_of(chat)
        text = alert_messages.quiet_set(current) if current else alert_messages.QUIET_FORM
        await _reply(update, text)
        return
    if given.lower() in OFF:
        if not await _may_manage(update, context):
            await _reply(update, "Maaf, hanya admin grup yang bisa mengubah jam senyap grup ini.")
            return
        await s.subscriptions.set_quiet(chat, "")
        await _reply(update, alert_messages.QUIET_OFF)
        return
    try:
        start, end = parse_window(given)
    except ValueError:
        await _reply(update, "Jam senyap tidak dikenali. " + alert_messages.QUIET_FORM)
        return  # nothing stored
    if not await _may_manage(update, context):
        await _reply(update, "Maaf, hanya admin grup yang bisa mengubah jam senyap grup ini.")
        return
    window = f"{start}-{end}"
    await s.subscriptions.set_quiet(chat, window)
    log.info("chat %s: quiet hours %s WITA", chat, window)
    await _reply(update, alert_messages.quiet_set(window))


COMMANDS = [
    (("senyap", "quiet"), quiet),
]
