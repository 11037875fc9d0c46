"""Corrections: when a pushed article changes or is removed, the messages already sent
of it are edited in place.

In: the store's `updated` events (its title or lead changed: a source's update, a
POST through the API) and `removed` events (`feedsvc articles remove`, DELETE
/api/articles/{id}); every other event goes on to the pusher. Out: one edit per
message the delivery ledger says was sent of that article (chats, topics and
channels alike): `editMessageText` for a text push, `editMessageCaption` for a
photo's.

- Which messages: a change edits those sent within the last 48 hours (`WINDOW`);
  a removal edits every one the ledger still knows (it keeps a week).
- What they say: a change, the push as it would be sent now; a removal, the title
  struck through and "Berita ini dicabut oleh redaksi.".
- Once per change: each event's edits are ledger entries of their own
  (`<article id>.<entry id>`, a field per chat) claimed right before the request
  leaves, through the same send path and rate limiter as pushes (push.py), so an
  event handled again (a restart, another bot process taking it over) edits
  nothing twice. An `updated` event whose mark is no longer the stored article's
  is skipped: the article changed again, and that later event edits it.
- Not covered: a change landing while another bot process is still sending the
  article's first push edits only the messages sent by then; digests are not
  edited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import ClassVar

from telegram.constants import ParseMode

from bot import messages
from bot.delivery.ledger import Record
from bot.delivery.push import Outgoing, Pusher
from bot.ratelimit import parse_chat
from bot.subscriptions import split
from feedsvc.storage.codec import text_mark
from feedsvc.storage.events import ArticleRemoved, ArticleUpdated, Entry
from feedsvc.storage.store import Store

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)  # a change corrects the messages sent this recently
REMOVED_NOTE = "Berita ini dicabut oleh redaksi."
REMOVED_TITLE_UNITS = 900  # of a struck title: the note and a caption's 1024 fit


@dataclass(frozen=True, slots=True)
class Edit:
    """One correction as the send path takes it: the ledger keeps it under `id`, one
    field per chat; each chat's message and kind are in `targets`."""

    id: str
    targets: dict[str, Record]
    text: str  # a text message's new text
    caption: str  # a photo's new caption
    follows_moves: ClassVar[bool] = False  # a migrated group's old message stays put

    def compose(self, chat: str) -> Outgoing:
        record = self.targets[chat]
        kwargs = {
            "chat_id": parse_chat(split(chat)[0]),
            "message_id": record.message_id,
            "parse_mode": ParseMode.HTML,
        }
        if record.photo:
            return Outgoing("edit_message_caption", kwargs | {"caption": self.caption})
        return Outgoing("edit_message_text", kwargs | {"text": self.text})


def to_correct(
    records: dict[str, Record], now: datetime, window: timedelta | None
) -> dict[str, Record]:
    """The sent messages an event edits: those with an id, sent within `window` of
    `now` (None: all; a record from before send times were kept counts as recent)."""
    found = {}
    for chat, record in records.items():
        if record.message_id is None:
            continue  # not sent, or in doubt: no message to edit
        sent = record.sent_at
        if window is not None and sent is not None and now - sent > window:
            continue
        found[chat] = record
    return found


def removed_text(title: str) -> str:
    """What a removed article's messages say instead."""
    if not title.strip():
        return REMOVED_NOTE
    return f"<s>{escape(messages.cut_utf16(title, REMOVED_TITLE_UNITS))}</s>\n\n{REMOVED_NOTE}"


class Corrections:
    """The event handler of push delivery: corrections here, the rest to the pusher."""

    def __init__(
        self,
        pusher: Pusher,
        store: Store,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pusher = pusher
        self.store = store
        self.clock = clock

    async def handle(self, entry: Entry) -> bool:
        """Handle one event; False when stopped before every message was done."""
        event = entry.event
        if isinstance(event, ArticleUpdated):
            return await self.updated(event, entry.entry_id)
        if isinstance(event, ArticleRemoved):
            return await self.removed(event, entry.entry_id)
        return await self.pusher.handle(entry)

    async def updated(self, event: ArticleUpdated, entry_id: str) -> bool:
        article = await self.store.get(event.id)
        if article is None or text_mark(article) != event.mark:
            return True  # removed since, or changed again: a later event says so
        targets = await self._targets(event.id, WINDOW)
        if not targets:
            return True
        edit = Edit(
            f"{event.id}.{entry_id}",
            targets,
            messages.push(article),
            messages.push(article, messages.MAX_CAPTION),
        )
        return await self._send(edit, article.id, "corrected")

    async def removed(self, event: ArticleRemoved, entry_id: str) -> bool:
        targets = await self._targets(event.id, None)
        if not targets:
            return True
        note = removed_text(event.title)
        return await self._send(Edit(f"{event.id}.{entry_id}", targets, note, note), event.id,
                                "marked as removed")  # fmt: skip

    async def _targets(self, article_id: str, window: timedelta | None) -> dict[str, Record]:
        records = await self.pusher.ledger.records(article_id)
        return to_correct(records, self.clock(), window)

    async def _send(self, edit: Edit, article_id: str, what: str) -> bool:
        done = await self.pusher.fan_out(edit, sorted(edit.targets))
        if done:
            log.info("%s: %d message(s) %s", article_id, len(edit.targets), what)
        return done
