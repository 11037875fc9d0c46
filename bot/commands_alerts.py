"""Commands that shape a chat's alerts and find posts: quiet hours (/senyap),
search (/cari) and inline mode ("@bot kata" in any chat)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape

from telegram import Update
from telegram.ext import Application, ContextTypes, InlineQueryHandler

from bot import alert_messages, messages
from bot.commands import DEFAULT_COUNT, _may_manage, _reply, recipient_of, services
from bot.quiet import OFF, parse_window
from feedsvc.search import parse_query, search

log = logging.getLogger(__name__)

INLINE_RESULTS = 20  # what one inline answer offers
INLINE_CACHE = 60  # seconds Telegram may answer the same inline query from its cache
# Inline mode asks at nearly every keystroke ("b", "ba", "ban", ...), and a word no
# post holds reads as far as the search may: the newest posts only (weeks of news).
INLINE_SCAN = 2_000


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


async def find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cari kata: the newest stored posts holding every word, listed as /terbaru lists."""
    s = services(context)
    given = " ".join(context.args or []).strip()
    if not given:
        await _reply(update, alert_messages.SEARCH_FORM)
        return
    try:
        words = parse_query(given)
    except ValueError:
        await _reply(update, "Kata yang dicari tidak bisa dipakai. " + alert_messages.SEARCH_FORM)
        return
    found = await search(s.store, words, DEFAULT_COUNT)
    if not found:
        await _reply(update, alert_messages.NOT_FOUND.format(query=escape(given[:100])))
        return
    heading = f"Hasil pencarian: {given[:100]}"
    await _reply(update, messages.recent_posts(found, datetime.now(UTC), heading))


async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "@bot kata" in any chat: matching posts (the newest with no words) to share."""
    s = services(context)
    text = update.inline_query.query.strip()
    if not text:
        found = await s.store.list(None, limit=INLINE_RESULTS)
    else:
        try:
            words = parse_query(text)
        except ValueError:
            words = None  # not plain words: nothing matches
        found = await search(s.store, words, INLINE_RESULTS, max_scan=INLINE_SCAN) if words else []
    results = [alert_messages.inline_result(article) for article in found]
    await update.inline_query.answer(results, cache_time=INLINE_CACHE)


def add_inline(application: Application) -> None:
    application.add_handler(InlineQueryHandler(inline))


COMMANDS = [
    (("senyap", "quiet"), quiet),
    (("cari", "search"), find),
]
