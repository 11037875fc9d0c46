"""The fake Bot API's wire pieces: field decoding, ok/error bodies, message records, limits."""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Fields that are always strings: never JSON-decode these, so a text of "42" or "true" stays text.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "ip_address",
        "callback_query_id",
        "inline_query_id",
        "language_code",
        "business_connection_id",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "emoji",
        "message_effect_id",
    }
)

_ERRORS = {
    "flood": (429, "Too Many Requests: retry after {retry_after}"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "migrated": (400, "Bad Request: group chat was upgraded to a supergroup chat"),
    "not_found": (400, "Bad Request: chat not found"),
}

EVERY_KINDS = ("bad_gateway", "reset")
# What Telegram's front end answers in an incident: an nginx page, not the Bot API's JSON.
BAD_GATEWAY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@dataclass
class SentMessage:
    chat_id: int | str  # int when numeric, else the "@channel" string as given
    text: str
    parse_mode: str | None
    params: dict  # everything else decoded (reply_markup, link_preview_options, ...)
    at: float  # time.monotonic() when the server received it
    method: str = "sendMessage"  # or "sendPhoto" (then `text` is the caption)

    @property
    def thread_id(self) -> int | None:
        """message_thread_id: the forum topic it went to (None: the chat itself)."""
        return self.params.get("message_thread_id")

    @property
    def silent(self) -> bool:
        """Sent with disable_notification: it arrives without sound."""
        return bool(self.params.get("disable_notification"))


@dataclass
class Limits:
    """Telegram's limits as the fake enforces them, counting accepted messages by arrival."""

    per_second: int = 30  # messages in any 1 s, every chat together
    chat_interval: float = 1.0  # seconds between two messages to one chat
    group_per_minute: int = 20  # messages in any 60 s to one group, supergroup or channel


@dataclass
class _Every:
    """Every `n`th sending call fails as `kind` ("bad_gateway" or "reset")."""

    n: int
    kind: str
    seen: int = 0


@dataclass
class _Arrivals:
    """Accepted messages by arrival time, for the limits."""

    overall: collections.deque[float] = field(default_factory=collections.deque)
    by_chat: dict[int | str, collections.deque[float]] = field(default_factory=dict)


@dataclass
class _Failure:
    error: str
    times: int  # -1: forever
    retry_after: int
    migrate_to: int | None


def _decode(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a plain string such as "@channel" or "HTML"


def _chat_key(chat_id: Any) -> int | str:
    """Chat ids as PTB may send them: 42, "42" or "@channel"."""
    if isinstance(chat_id, str):
        with contextlib.suppress(ValueError):
            return int(chat_id)
    return chat_id


def _is_sending(method: str) -> bool:
    # Edits count against the limits as sends do, and take the same faults.
    method = method.lower()
    return (method.startswith("send") and method != "sendchataction") or method.startswith("edit")


def _is_group(chat_id: int | str) -> bool:
    return isinstance(chat_id, str) or chat_id < 0


def _reset(request: web.Request) -> None:
    """Close the connection with a TCP reset, as a front end that gave up does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
