"""The fake Bot API's incoming side: messages, commands, button presses and inline queries.

A part of tests/fakes/telegram_api.py's FakeTelegram, kept apart so its main module
stays readable.
"""

from __future__ import annotations

import itertools
import time
from typing import Any


class UpdateBuilders:
    """Mixed into FakeTelegram: relies on its `updates`, `_wake`, `_chat`, `_bot_user` and
    id counters."""

    def add_update(self, update: dict) -> None:
        """Queue a raw Update dict; update_id is assigned if missing."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = next(self._next_update_id)
        else:  # keep later automatic ids above explicit ones, as Telegram's are increasing
            start = max(update["update_id"] + 1, next(self._next_update_id))
            self._next_update_id = itertools.count(start)
        self.updates.append(update)
        self._wake()

    def message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
        entities: list[dict] | None = None,
        thread_id: int | None = None,
    ) -> None:
        """Queue an incoming text message (a channel_post for chat_type "channel"); with
        `thread_id`, written in that topic of a forum supergroup."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Tester"
        else:
            chat["title"] = title or "Test chat"
        msg: dict[str, Any] = {
            "message_id": next(self._next_message_id),
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        if thread_id is not None:
            chat["is_forum"] = True
            msg.update(message_thread_id=thread_id, is_topic_message=True)
        if entities:
            msg["entities"] = entities
        if chat_type == "channel":  # channel posts have no sender
            self.add_update({"channel_post": msg})
            return
        uid = user_id if user_id is not None else chat_id
        msg["from"] = {"id": uid, "is_bot": False, "first_name": "Tester", "language_code": "id"}
        self.add_update({"message": msg})

    def command(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
        thread_id: int | None = None,
    ) -> None:
        """Queue a message starting with a bot command, e.g. "/terbaru kaltara 3"."""
        if not text.startswith("/"):
            raise ValueError(f"a command starts with '/': {text!r}")
        # The entity covers the "@botname" suffix too, as Telegram's does.
        entity = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        self.message(
            chat_id,
            text,
            user_id=user_id,
            chat_type=chat_type,
            title=title,
            entities=[entity],
            thread_id=thread_id,
        )

    def callback(
        self, chat_id: int, data: str, *, user_id: int | None = None, message_id: int = 1
    ) -> str:
        """Queue a press on an inline button of the bot's message; returns the query id."""
        query_id = f"cbq{next(self._next_query_id)}"
        uid = user_id if user_id is not None else chat_id
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            "text": "...",
        }
        self.add_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": {"id": uid, "is_bot": False, "first_name": "Tester"},
                    "chat_instance": str(chat_id),
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(self, user_id: int, query: str) -> str:
        """Queue an inline query ("@bot query" typed in some chat); returns its id."""
        query_id = f"iq{next(self._next_query_id)}"
        sender = {"id": user_id, "is_bot": False, "first_name": "Tester"}
        self.add_update(
            {"inline_query": {"id": query_id, "from": sender, "query": query, "offset": ""}}
        )
        return query_id
