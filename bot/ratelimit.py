"""A Telegram rate limiter whose state lives in Redis, so every bot process shares it.

Telegram allows about 30 messages/s overall, 1/s per chat and 20/min per group, and
answers 429 (`RetryAfter`) past that. We keep strictly below: 28/s overall by default
(`telegram.max_rate`), and between two messages to one chat 1 s (private) or 3 s
(group, supergroup, channel) plus a margin. Telegram counts by arrival time, and a
request can reach it later than its slot (a busy machine, a slow connect) and so
closer to the next one than the slots were; the margin absorbs that.

Each scope (`all`, and the chat of the message) is a GCRA with no burst: its Redis key
holds the time from which it is free again. The overall scope keeps its grid: a slot
taken late by up to GRID_CARRY of an interval (a sleep's overshoot, a Redis round
trip, a busy loop) counts from when it was due, so a fan-out keeps `max_rate`
instead of adding that lateness to every slot (it ran at 0.89 of max_rate). Two
grants are then at least half an interval apart, and any 1 s still holds at most
round(max_rate) + 1 grants (strict spacing: int(max_rate) + 1). Later than that, and
in a chat's scope always, the next slot counts from now.
One Lua script checks the overall and the chat scope together and either reserves
both or neither, using Redis's clock so bot processes with skewed clocks agree; a
slot is only ever granted for now, never for later. A 429 sets a pause key that
every process obeys. Within one process, senders take turns asking (a lock), so a
fan-out asks Redis about once per slot, not once per waiting sender.

Every send enters the limiter once: commands through python-telegram-bot (this is
its `BaseRateLimiter`), pushes through `acquire` right before their request leaves.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.outcomes import retry_seconds
from feedsvc.storage import keys

log = logging.getLogger(__name__)

JITTER_MARGIN = 0.15  # share of a chat's interval kept free for late arrivals
PRIVATE_INTERVAL = 1.0 * (1 + JITTER_MARGIN)  # seconds between messages to one private chat
GROUP_INTERVAL = 3.0 * (1 + JITTER_MARGIN)  # groups, supergroups and channels: 20 a minute
KEY_SLACK_MS = 1000  # a rate key outlives its state by this much, then goes away
GRID_CARRY = 0.5  # share of the overall interval a late slot may still count from its due time

# Methods that put something into a chat. Everything else (getUpdates, getMe,
# answerCallbackQuery, ...) passes straight through.
SENDING_PREFIXES = ("send", "copyMessage", "forwardMessage", "editMessage")
UNLIMITED = frozenset({"sendChatAction"})  # a typing indicator is no message

# KEYS[1]: the pause key; KEYS[2..n]: one rate key per scope, holding the time (ms)
# from which that scope is free; KEYS[2] is the overall scope. ARGV[i]: the interval
# (ms) of KEYS[i + 1]; ARGV[n]: how long a key outlives its state (ms); ARGV[n + 1]:
# how late (ms) the overall scope's slot may be and still count from its due time.
# Returns {0, 0} when a slot was reserved in every scope, else the ms to wait for the
# overall scope (or a pause) and for the chat's.
_ACQUIRE = """
local pause = redis.call('PTTL', KEYS[1])
if pause > 0 then return {pause, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local waits = {0, 0}
local frees = {}
for i = 2, #KEYS do
  frees[i - 1] = tonumber(redis.call('GET', KEYS[i]) or 0)
  waits[i - 1] = math.max(0, math.ceil(frees[i - 1] - now))
end
if waits[1] > 0 or waits[2] > 0 then return waits end
local slack = tonumber(ARGV[#KEYS])
local carry = tonumber(ARGV[#KEYS + 1])
for i = 2, #KEYS do
  local interval = tonumber(ARGV[i - 1])
  local from = now
  if i == 2 and now - frees[1] <= carry then from = frees[1] end
  local ttl = math.ceil(from + interval + slack - now)
  redis.call('SET', KEYS[i], string.format('%.3f', from + interval), 'PX', ttl)
end
return {0, 0}
"""

# Pause for ARGV[1] ms from now, unless a pause already lasts longer.
_PAUSE = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""

Result = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Result]]
ChatId = int | str


class RedisRateLimiter(BaseRateLimiter[int]):
    """Throttles sending methods across processes.

    `rate_limit_args` overrides max_retries for one call.
    """

    def __init__(self, redis: Redis, *, max_rate: float = 28, max_retries: int = 3) -> None:
        if max_rate <= 0:
            raise ValueError("max_rate must be positive")
        self.redis = redis
        self.interval = 1 / max_rate
        self.max_retries = max_retries
        self._acquire = redis.register_script(_ACQUIRE)
        self._pause = redis.register_script(_PAUSE)
        self._turn = asyncio.Lock()  # one sender of this process asks Redis at a time

    async def initialize(self) -> None:
        """Nothing to do: the caller owns the Redis client."""

    async def shutdown(self) -> None:
        """Nothing to do: the caller owns the Redis client."""

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        if not is_sending(endpoint):
            return await callback(*args, **kwargs)
        chat_id = parse_chat(data.get("chat_id"))
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            await self.acquire(chat_id)  # also waits out a pause
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= retries:
                    raise
                attempt += 1
                wait = retry_seconds(exc)
                log.warning("Telegram asked to wait %.1f s (chat %s); pausing sends", wait,
                            chat_id, extra={"chat_id": chat_id})  # fmt: skip
                await self.pause(wait)

    async def acquire(self, chat_id: ChatId | None, stop: asyncio.Event | None = None) -> bool:
        """Wait until one message to `chat_id` may go out now, and reserve its slot.

        False, with nothing reserved, when `stop` was set first.
        """
        while stop is None or not stop.is_set():
            async with self._turn:
                wait_all, wait_chat = await self._try(chat_id)
                if wait_all <= 0 and wait_chat <= 0:
                    return True
                # The overall scope (or a pause) holds every sender of this process
                # alike: wait for it in turn. A busy chat holds only its own sender.
                if wait_all >= wait_chat:
                    if not await _sleep(wait_all, stop):
                        return False
                    continue
            if not await _sleep(wait_chat, stop):
                return False
        return False

    async def try_acquire(self, chat_id: ChatId | None) -> float:
        """Reserve a slot now and return 0, or reserve nothing and return seconds to wait."""
        return max(await self._try(chat_id))

    async def _try(self, chat_id: ChatId | None) -> tuple[float, float]:
        scopes = [(keys.rate("all"), self.interval)]
        if chat_id is not None:
            scopes.append((keys.rate(chat_id), chat_interval(chat_id)))
        script_keys = [keys.TELEGRAM_PAUSE, *(key for key, _ in scopes)]
        carry_ms = self.interval * 1000 * GRID_CARRY
        args = [*(interval * 1000 for _, interval in scopes), KEY_SLACK_MS, carry_ms]
        wait_all, wait_chat = await self._acquire(keys=script_keys, args=args)
        return int(wait_all) / 1000, int(wait_chat) / 1000

    async def pause(self, seconds: float) -> None:
        """Make every process hold its sends for `seconds`, unless a longer pause is on."""
        ms = math.ceil(seconds * 1000)
        if ms > 0:
            await self._pause(keys=[keys.TELEGRAM_PAUSE], args=[ms])


def is_sending(endpoint: str) -> bool:
    return endpoint.startswith(SENDING_PREFIXES) and endpoint not in UNLIMITED


def parse_chat(value: object) -> ChatId | None:
    """An int for numeric ids (also given as strings), else the "@name" string."""
    if value is None:
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


def chat_interval(chat_id: ChatId) -> float:
    # Private chats have positive ids; groups and channels negative ids or "@name".
    is_private = isinstance(chat_id, int) and chat_id > 0
    return PRIVATE_INTERVAL if is_private else GROUP_INTERVAL


async def _sleep(seconds: float, stop: asyncio.Event | None) -> bool:
    """Sleep, or return False as soon as `stop` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return True
    if stop.is_set():
        return False
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return True
    return False
