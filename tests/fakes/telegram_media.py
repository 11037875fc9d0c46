"""The fake Bot API's photos and edits (a part of tests/fakes/telegram_api.py's FakeTelegram).

- `sendPhoto`: the photo (a URL, a file id or an upload) and its caption, checked as
  Telegram does (HTML, at most 1024 UTF-16 units); recorded in `sent` like a message,
  with `method` "sendPhoto". `refuse_photo(url, kind)` makes Telegram refuse that photo
  the ways it refuses a bad URL, a too big or a wrong-typed image.
- `editMessageText` / `editMessageCaption`: edit a message the fake sent, by chat and
  message id; "message to edit not found" for others, "message is not modified" for the
  same content, as Telegram answers. Every accepted edit is in `edits`.

Kept apart so the fake's main module stays readable; the methods use its helpers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.telegram_html import _TelegramHTML, check_text
from tests.fakes.telegram_wire import SentMessage, _chat_key, _error, _ok

MAX_CAPTION = 1024  # UTF-16 units

# Telegram's answers to photos it cannot use (their real wording).
PHOTO_REFUSALS = {
    "file_id": "Bad Request: wrong file identifier/HTTP URL specified",
    "http_url": "Bad Request: failed to get HTTP URL content",
    "dimensions": "Bad Request: PHOTO_INVALID_DIMENSIONS",
    "web_page": "Bad Request: wrong type of the web page content",
}


@dataclass
class Edit:
    chat_id: int | str
    message_id: int
    method: str  # "editMessageText" or "editMessageCaption"
    text: str  # the new text or caption
    parse_mode: str | None
    at: float


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class MediaMethods:
    """Mixed into FakeTelegram: relies on its `sent`, `_chat`, `_failure_response`, `_wake`."""

    def _init_media(self) -> None:
        self.photo_refusals: dict[str, str] = {}  # photo URL -> kind of PHOTO_REFUSALS
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}  # what edits find
        self.edits: list[Edit] = []

    def refuse_photo(self, url: str, kind: str = "http_url") -> None:
        """Refuse every sendPhoto of `url` the way `kind` says (a key of PHOTO_REFUSALS)."""
        if kind not in PHOTO_REFUSALS:
            raise ValueError(f"unknown refusal {kind!r}, expected one of {sorted(PHOTO_REFUSALS)}")
        self.photo_refusals[url] = kind

    def photos_sent(self) -> list[Any]:
        return [m for m in self.sent if m.method == "sendPhoto"]  # type: ignore[attr-defined]

    def edits_of(self, chat_id: int | str, message_id: int) -> list[Edit]:
        return [e for e in self.edits if (e.chat_id, e.message_id) == (chat_id, message_id)]

    def _remember(self, chat_id: int | str, message: dict[str, Any]) -> None:
        self.messages[(chat_id, message["message_id"])] = message

    async def _m_sendphoto(self, params: dict) -> web.Response:

        received = time.monotonic()
        if params.get("chat_id") in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        chat_id = _chat_key(params["chat_id"])
        photo = params.get("photo")
        if not photo:
            return _error(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption") or ""
        if problem := check_text(caption, params.get("parse_mode")) if caption else "":
            return _error(400, f"Bad Request: {problem}")
        if utf16_units(_visible(caption, params.get("parse_mode"))) > MAX_CAPTION:
            return _error(400, "Bad Request: message caption is too long")
        if isinstance(photo, str) and photo in self.photo_refusals:
            return _error(400, PHOTO_REFUSALS[self.photo_refusals[photo]])
        thread_id = params.get("message_thread_id")
        failed = self._failure_response(chat_id, thread_id)  # type: ignore[attr-defined]
        if failed is not None:
            return failed
        rest = {k: v for k, v in params.items() if k not in ("chat_id", "caption", "parse_mode")}
        self.sent.append(  # type: ignore[attr-defined]
            SentMessage(chat_id, caption, params.get("parse_mode"), rest, received, "sendPhoto")
        )
        self._wake()  # type: ignore[attr-defined]
        message = self._new_message(chat_id) | {  # type: ignore[attr-defined]
            "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 800, "height": 600}],
            "caption": caption,
        }
        self._remember(chat_id, message)
        return _ok(message)

    async def _m_editmessagetext(self, params: dict) -> web.Response:
        return self._edit(params, "text", "editMessageText")

    async def _m_editmessagecaption(self, params: dict) -> web.Response:
        return self._edit(params, "caption", "editMessageCaption")

    def _edit(self, params: dict, field: str, method: str) -> web.Response:

        chat_id = _chat_key(params.get("chat_id"))
        message = self.messages.get((chat_id, params.get("message_id")))  # type: ignore[arg-type]
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if field not in message:
            return _error(400, "Bad Request: there is no " + field + " in the message to edit")
        new = params.get(field) or ""
        if not new:
            return _error(400, f"Bad Request: message {field} is empty")
        if problem := check_text(new, params.get("parse_mode")):
            return _error(400, f"Bad Request: {problem}")
        if field == "caption" and utf16_units(_visible(new, params.get("parse_mode"))) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        if message[field] == new:
            return _error(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message[field] = new
        edit = Edit(chat_id, message["message_id"], method, new, params.get("parse_mode"), 0.0)
        edit.at = time.monotonic()
        self.edits.append(edit)
        self._wake()  # type: ignore[attr-defined]
        return _ok(message | {"edit_date": int(time.time())})


def _visible(text: str, parse_mode: str | None) -> str:

    if parse_mode != "HTML":
        return text
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    return "".join(parser.text)
