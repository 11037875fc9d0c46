"""A fake Telegram Bot API server on loopback, so tests run the real PTB code over HTTP.

Point PTB at it with ``ApplicationBuilder().token(fake.token).base_url(fake.base_url)`` or
``telegram.Bot(fake.token, base_url=fake.base_url)``. Tests queue updates (`command`,
`add_update`), inject send failures (`fail` for one chat; `fail_every` for a front end in
trouble: a 502 or a connection reset on every Nth send), switch on Telegram's limits
counted by arrival time (`limits`: 30/s overall, 1/s per chat, 20/min per group, a 429
past them), and look at what the bot did (`calls`, `sent`, `counts`, `floods`). Photos
and edits (sendPhoto, refused photos, editMessageText/Caption) are in telegram_media.py.
`in_thread()` runs one on a loop of its own, for tests that drive a bot subprocess.

Wire format (PTB v22, telegram/request/_requestparameter.py and _httpxrequest.py): every call
is a POST of form fields, multipart when files are attached. String values go as they are and
everything else is JSON-encoded, so the string "123" and the int 123 look the same on the wire;
we JSON-decode each field except the ones the Bot API documents as strings (_STRING_PARAMS).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import math
import time
from typing import Any, Self

from aiohttp import web

from tests.fakes.telegram_admin import AdminMethods
from tests.fakes.telegram_html import check_text
from tests.fakes.telegram_media import MediaMethods
from tests.fakes.telegram_updates import UpdateBuilders
from tests.fakes.telegram_wire import (
    _ERRORS,
    BAD_GATEWAY_PAGE,
    EVERY_KINDS,
    Limits,
    SentMessage,
    _Arrivals,
    _chat_key,
    _decode,
    _error,
    _Every,
    _Failure,
    _is_group,
    _is_sending,
    _ok,
    _reset,
)

LONG_POLL_CAP = 1.0  # seconds; real Telegram holds getUpdates up to `timeout`, tests can't wait


class FakeTelegram(UpdateBuilders, AdminMethods, MediaMethods):
    def __init__(
        self, token: str = "123456:TEST-token", bot_username: str = "kaltara_test_bot"
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.base_url = ""
        self.calls: list[tuple[str, dict]] = []
        self.sent: list[SentMessage] = []
        self.webhook: dict | None = None
        self.my_commands: dict[tuple[str, str], list[dict]] = {}  # (scope json, language)
        self.updates: list[dict] = []  # queued, not yet confirmed via getUpdates' offset
        self._failures: dict[int | str, list[_Failure]] = {}
        self._next_update_id = itertools.count(1)
        self._next_message_id = itertools.count(1)
        self._next_query_id = itertools.count(1)
        self._channel_ids: dict[str, int] = {}
        self.limits: Limits | None = None  # None: no limits (set Limits() to enforce them)
        self.floods: list[tuple[int | str, float]] = []  # 429s the limits answered: chat, when
        self.faults: list[tuple[str, str, float]] = []  # (kind, method, when) of fail_every
        self._every: list[_Every] = []
        self._arrivals = _Arrivals()
        self.group_owners: dict[int, int] = {}  # chat id -> the user getChatMember calls owner
        self.closed_topics: dict[tuple[int, int], str] = {}  # (chat, thread) -> Telegram's error
        self.inline_answers: dict[str, dict] = {}  # inline query id -> answerInlineQuery params
        # Broadcast wake-up: waiters grab the current event; _wake() sets it and makes a new one.
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._init_media()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: when PTB drops a long poll (updater.stop) the handler goes too.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def close(self) -> None:
        self._closing = True
        self._wake()  # release pending long polls so cleanup doesn't wait for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- what tests feed in ---------------------------------------------------------------

    @property
    def bot_id(self) -> int:
        head = self.token.split(":", 1)[0]
        return int(head) if head.isdigit() else 1

    def fail(
        self,
        chat_id: int | str,
        error: str,
        *,
        times: int = 1,
        retry_after: int = 1,
        migrate_to: int | None = None,
    ) -> None:
        """Make the next `times` sendMessage or sendPhoto calls to chat_id fail (times=-1: forever).

        error is one of "flood", "blocked", "migrated", "not_found". Failures queued for the
        same chat are used up in order.
        """
        if error not in _ERRORS:
            raise ValueError(f"unknown error {error!r}, expected one of {sorted(_ERRORS)}")
        failure = _Failure(error, times, retry_after, migrate_to)
        self._failures.setdefault(_chat_key(chat_id), []).append(failure)

    def close_topic(self, chat_id: int, thread_id: int, deleted: bool = False) -> None:
        """A forum topic closed (or deleted): sends to it are refused as Telegram does."""
        why = "message thread not found" if deleted else "TOPIC_CLOSED"
        self.closed_topics[(chat_id, thread_id)] = f"Bad Request: {why}"

    def fail_every(self, n: int, kind: str = "bad_gateway") -> None:
        """Make every `n`th sending call fail: "bad_gateway" answers 502 with a front end's
        HTML page, "reset" reads the request and resets the connection without an answer.
        Neither counts as a message sent."""
        if kind not in EVERY_KINDS or n < 1:
            raise ValueError(f"fail_every: n >= 1 and kind one of {EVERY_KINDS}")
        self._every.append(_Every(n, kind))

    # -- what tests look at ---------------------------------------------------------------

    def sent_to(self, chat_id: int | str) -> list[SentMessage]:
        key = _chat_key(chat_id)
        return [m for m in self.sent if m.chat_id == key]

    def counts(self) -> collections.Counter[int | str]:
        """Messages accepted per chat."""
        return collections.Counter(m.chat_id for m in self.sent)

    def busiest_second(self) -> int:
        """The most messages accepted in any 1 s window, by arrival."""
        times = sorted(m.at for m in self.sent)
        most, first = 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def calls_to(self, method: str) -> list[dict]:
        """Params of every call of `method` (case-insensitive), in order."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    async def wait_sent(self, count: int, timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109
        """Wait until at least `count` messages were sent; AssertionError on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.sent) < count:
                    await self._changed.wait()
        except TimeoutError:
            got = [(m.chat_id, m.text) for m in self.sent]
            raise AssertionError(
                f"expected {count} sent messages within {timeout}s, got {len(got)}: {got}"
            ) from None
        return list(self.sent)

    # -- the server -----------------------------------------------------------------------

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        # PTB's URL: f"{base_url}{token}/{method}", i.e. /bot<token>/<method>
        prefix, _, method = request.path.rpartition("/")
        if prefix != f"/bot{self.token}" or not method:
            return _error(404, "Not Found")
        params = await self._params(request)
        self.calls.append((method, params))
        self._wake()
        handler = getattr(self, f"_m_{method.lower()}", None)  # Telegram ignores method case
        if handler is None:
            return _ok(True)
        if not _is_sending(method):
            return await handler(params)
        fault = self._fault(method)
        if fault == "reset":
            _reset(request)
            raise asyncio.CancelledError  # aiohttp drops the handler; nothing is answered
        if fault == "bad_gateway":
            return web.Response(status=502, body=BAD_GATEWAY_PAGE, content_type="text/html")
        chat_id = _chat_key(params.get("chat_id"))
        wait = self._over_limits(chat_id, time.monotonic())
        if wait > 0:
            self.floods.append((chat_id, time.monotonic()))
            retry_after = max(1, math.ceil(wait))
            description = _ERRORS["flood"][1].format(retry_after=retry_after)
            return _error(429, description, retry_after=retry_after)
        response = await handler(params)
        if response.status == 200:
            self._arrived(chat_id, time.monotonic())
        return response

    def _fault(self, method: str) -> str:
        for every in self._every:
            every.seen += 1
            if every.seen % every.n == 0:
                self.faults.append((every.kind, method, time.monotonic()))
                return every.kind
        return ""

    def _over_limits(self, chat_id: int | str, now: float) -> float:
        """Seconds until a message to `chat_id` would be within the limits (0: it is)."""
        limits = self.limits
        if limits is None:
            return 0.0
        overall = self._arrivals.overall
        while overall and now - overall[0] >= 1.0:
            overall.popleft()
        waits = [0.0]
        if len(overall) >= limits.per_second:
            waits.append(overall[-limits.per_second] + 1.0 - now)
        chat = self._arrivals.by_chat.get(chat_id, collections.deque())
        if chat:
            waits.append(chat[-1] + limits.chat_interval - now)
        if _is_group(chat_id) and len(chat) >= limits.group_per_minute:
            waits.append(chat[-limits.group_per_minute] + 60.0 - now)
        return max(waits)

    def _arrived(self, chat_id: int | str, now: float) -> None:
        self._arrivals.overall.append(now)
        chat = self._arrivals.by_chat.setdefault(chat_id, collections.deque())
        chat.append(now)
        while chat and now - chat[0] >= 60.0:
            chat.popleft()

    async def _params(self, request: web.Request) -> dict:
        params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":  # PTB doesn't, other clients do
            params.update(await request.json())
            return params
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):  # multipart upload
                params[name] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "data": value.file.read(),
                }
            else:
                params[name] = _decode(name, value)
        return params

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Kaltara Test Bot",
            "username": self.bot_username,
        }

    def _chat(self, chat_id: int | str) -> dict:
        # Telegram's conventions: users positive, groups negative, channels by "@name".
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@")
            cid = self._channel_ids.setdefault(name, -1001000000000 - len(self._channel_ids))
            return {"id": cid, "type": "channel", "username": name, "title": name}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Tester"}
        return {"id": chat_id, "type": "supergroup", "title": "Test group"}

    def _take_failure(self, chat_id: int | str) -> _Failure | None:
        queue = self._failures.get(chat_id)
        if not queue:
            return None
        failure = queue[0]
        if failure.times > 0:
            failure.times -= 1
            if failure.times == 0:
                queue.pop(0)
        return failure

    # -- methods --------------------------------------------------------------------------

    async def _m_getme(self, params: dict) -> web.Response:
        return _ok(
            self._bot_user()
            | {
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": True,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    async def _m_getupdates(self, params: dict) -> web.Response:
        if self.webhook is not None:
            return _error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        # The offset confirms (and forgets) every update below it; negative counts from the end.
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
        if not self.updates and timeout > 0 and not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while not self.updates and not self._closing:
                        await self._changed.wait()
        return _ok(self.updates[:limit])

    async def _m_sendmessage(self, params: dict) -> web.Response:
        received = time.monotonic()
        if params.get("chat_id") in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        chat_id = _chat_key(params["chat_id"])
        text = params.get("text")
        if not text:
            return _error(400, "Bad Request: message text is empty")
        problem = check_text(text, params.get("parse_mode"))
        if problem:
            return _error(400, f"Bad Request: {problem}")
        thread_id = params.get("message_thread_id")
        failed = self._failure_response(chat_id, thread_id)
        if failed is not None:
            return failed
        rest = {k: v for k, v in params.items() if k not in ("chat_id", "text", "parse_mode")}
        sent = SentMessage(chat_id, text, params.get("parse_mode"), rest, received)
        self.sent.append(sent)
        self._wake()
        message = self._new_message(chat_id) | {"text": text}
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:  # only these are echoed
            message["reply_markup"] = markup
        self._remember(chat_id, message)
        return _ok(message)

    def _failure_response(
        self, chat_id: int | str, thread_id: int | None = None
    ) -> web.Response | None:
        """The answer of a failure queued by `fail` for this chat (or a closed topic)."""
        if (chat_id, thread_id) in self.closed_topics:
            return _error(400, self.closed_topics[(chat_id, thread_id)])
        failure = self._take_failure(chat_id)
        if failure is None:
            return None
        status, description = _ERRORS[failure.error]
        description = description.format(retry_after=failure.retry_after)
        if failure.error == "flood":
            return _error(status, description, retry_after=failure.retry_after)
        if failure.error == "migrated":
            # By default the supergroup id is the old group id with "-100" in front.
            old = chat_id if isinstance(chat_id, int) else 1
            new_id = failure.migrate_to or int(f"-100{abs(old)}")
            return _error(status, description, migrate_to_chat_id=new_id)
        return _error(status, description)

    def _new_message(self, chat_id: int | str) -> dict[str, Any]:
        return {
            "message_id": next(self._next_message_id),
            "from": self._bot_user(),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
        }
