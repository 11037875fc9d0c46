"""The fake Bot API's bookkeeping methods: webhooks, the command menu, inline answers,
getChatMember and the calls PTB makes that need only an ok.

A part of tests/fakes/telegram_api.py's FakeTelegram, kept apart so its main module
stays readable.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.fakes.telegram_html import check_text
from tests.fakes.telegram_wire import _error, _ok


class AdminMethods:
    """Mixed into FakeTelegram: relies on its `updates`, `webhook`, `my_commands`,
    `inline_answers`, `group_owners`, `_wake` and `_changed`."""

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The bot commands setMyCommands set for a scope (default scope if None)."""
        return self.my_commands.get(self._commands_key(scope, language_code), [])

    @staticmethod
    def _commands_key(scope: dict | None, language_code: str | None) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    async def _m_setwebhook(self, params: dict) -> web.Response:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = params
        return _ok(True)

    async def _m_deletewebhook(self, params: dict) -> web.Response:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = None
        return _ok(True)

    async def _m_getwebhookinfo(self, params: dict) -> web.Response:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook:
            for key in ("max_connections", "allowed_updates", "ip_address"):
                if key in self.webhook:
                    info[key] = self.webhook[key]
        return _ok(info)

    async def _m_setmycommands(self, params: dict) -> web.Response:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.my_commands[key] = params.get("commands") or []
        return _ok(True)

    async def _m_getmycommands(self, params: dict) -> web.Response:
        return _ok(self.commands(params.get("scope"), params.get("language_code") or ""))

    async def _m_deletemycommands(self, params: dict) -> web.Response:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self.my_commands.pop(key, None)
        return _ok(True)

    async def _m_close(self, params: dict) -> web.Response:
        return _ok(True)

    async def _m_logout(self, params: dict) -> web.Response:
        return _ok(True)

    async def _m_answerinlinequery(self, params: dict) -> web.Response:
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            return _error(400, "Bad Request: RESULTS_TOO_MUCH")
        for result in results:
            content = result.get("input_message_content") or {}
            problem = check_text(content.get("message_text", ""), content.get("parse_mode"))
            if not result.get("id") or not result.get("title") or problem:
                return _error(400, f"Bad Request: a result is not valid ({problem or 'id'})")
        self.inline_answers[params["inline_query_id"]] = params
        self._wake()
        return _ok(True)

    async def _m_answercallbackquery(self, params: dict) -> web.Response:
        return _ok(True)

    async def _m_getchatmember(self, params: dict) -> web.Response:
        user = {"id": params["user_id"], "is_bot": False, "first_name": "Tester"}
        if self.group_owners.get(params["chat_id"]) == params["user_id"]:
            return _ok({"status": "creator", "user": user, "is_anonymous": False})
        return _ok({"status": "member", "user": user})

    async def wait_inline_answer(self, query_id: str, timeout: float = 5.0) -> dict:  # noqa: ASYNC109
        """The bot's answerInlineQuery for that query: its results (decoded) and options."""
        async with asyncio.timeout(timeout):
            while query_id not in self.inline_answers:
                await self._changed.wait()
        return self.inline_answers[query_id]
