"""Push delivery: every new post of a subscribed category to every chat, at most once.

New articles arrive as entries of the store's event stream (feedsvc/storage/keys.py). The
bot processes read it through one consumer group, so each event goes to one of
them; an event is acknowledged only when every recipient was handled, and a
process that dies leaves its events pending for another to claim.

Each (article, chat) pair is claimed in Redis right before its message is sent,
once the rate limiter has given it a slot (so a crash leaves unclaimed every
message still waiting its turn). Claims survive restarts, so an event handled
twice (a crash between sending and the acknowledgement) never sends a message
twice. A send whose outcome is unknown (a timeout after the request left) keeps
its claim: a lost alert is better than a duplicate. A send that certainly did not
happen (a 429 past our retries, a refused connection) drops its claim and the
event is tried again later.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot import messages
from bot.ratelimit import RESERVED, RedisRateLimiter, parse_chat
from bot.subscriptions import Subscriptions
from feedsvc.config import TelegramSettings
from feedsvc.ingest.pipeline import is_pushable
from feedsvc.models import Article, slugify
from feedsvc.storage import keys
from feedsvc.storage.store import Store

log = logging.getLogger(__name__)

CLAIM_TTL = int(timedelta(days=7).total_seconds())  # longer than any event stays pending
BATCH = 20
BLOCK_MS = 1_000  # well under the client's socket_timeout (5 s), or reads time out
RECLAIM_IDLE_MS = 60_000  # an event pending this long belongs to a dead (or stuck) process
CONCURRENT_SENDS = 32  # the rate limiter sets the pace; this bounds open requests
REDIS_RETRY = 2.0


class TryLater(Exception):
    """A message was certainly not sent and may be sent later."""


class Pusher:
    def __init__(
        self,
        redis: Redis,
        store: Store,
        subscriptions: Subscriptions,
        bot: ExtBot,
        telegram: TelegramSettings,
        consumer: str = "",
        count: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self.redis = redis
        self.store = store
        self.subscriptions = subscriptions
        self.bot = bot
        self.limiter: RedisRateLimiter = bot.rate_limiter
        self.channels = [str(c) for c in telegram.channels]
        self.channel_slugs = {slugify(name) for name in telegram.push_categories}
        self.max_age_hours = telegram.max_push_age_hours
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._sends = asyncio.Semaphore(CONCURRENT_SENDS)
        self.count = count  # each send's outcome, for /metrics

    async def run(self) -> None:
        """Deliver events until cancelled; a Redis outage pauses it, said once."""
        down_since: float | None = None
        needs_group = True
        while True:
            _reraise_cancellation()
            try:
                if needs_group:
                    await self.ensure_group()
                    needs_group = False
                await self.step()
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                needs_group = True  # the stream went away (a flushed or new Redis)
                continue
            except RedisError as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("pushes paused, Redis unavailable: %s", exc)
                await asyncio.sleep(REDIS_RETRY)
                continue
            if down_since is not None:
                log.info("pushes resumed after %.0f s", time.monotonic() - down_since)
                down_since = None

    async def ensure_group(self) -> None:
        # Starting the group at the push window's edge: events older than that
        # would never be pushed anyway, and a new deployment reads no backlog.
        edge = datetime.now(UTC) - timedelta(hours=self.max_age_hours)
        start = int(edge.timestamp() * 1000)
        try:
            await self.redis.xgroup_create(
                keys.EVENTS, keys.TELEGRAM_GROUP, id=f"{start}-0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def step(self, block_ms: int = BLOCK_MS) -> int:
        """Handle one batch: stale pending events first, then new ones. Returns how many."""
        entries = await self._stale_pending()
        if not entries:
            found = await self.redis.xreadgroup(
                keys.TELEGRAM_GROUP,
                self.consumer,
                {keys.EVENTS: ">"},
                count=BATCH,
                block=block_ms,
            )
            entries = found[0][1] if found else []
        for entry_id, fields in entries:
            if not fields or await self.handle(fields):
                await self.redis.xack(keys.EVENTS, keys.TELEGRAM_GROUP, entry_id)
        return len(entries)

    async def _stale_pending(self) -> list[tuple[str, dict[str, str] | None]]:
        claimed = await self.redis.xautoclaim(
            keys.EVENTS, keys.TELEGRAM_GROUP, self.consumer, RECLAIM_IDLE_MS, count=BATCH
        )
        return claimed[1]

    async def handle(self, event: dict[str, str]) -> bool:
        """Push one event; False when some chat should be tried again later."""
        if event.get("pushable") != "1":
            return True
        article = await self.store.get(event["id"])
        if article is None:  # trimmed by retention before we got to it
            return True
        if not is_pushable(article, True, datetime.now(UTC), self.max_age_hours):
            log.info("not pushing %s: older than the push window", article.link)
            return True
        chats = await self.recipients(article.slugs)
        results = await asyncio.gather(
            *(self._deliver_limited(article, chat) for chat in chats), return_exceptions=True
        )
        retry = False
        for chat, result in zip(chats, results, strict=True):
            if isinstance(result, TryLater):
                retry = True
            elif isinstance(result, Exception):
                log.error("push of %s to chat %s failed: %r", article.id, chat, result)
        return not retry

    async def recipients(self, slugs: Iterable[str]) -> list[str]:
        slugs = list(slugs)
        chats = await self.subscriptions.chats_for(slugs)
        if self.channel_slugs.intersection(slugs):
            chats.update(self.channels)
        return sorted(chats)

    async def _deliver_limited(self, article: Article, chat: str) -> None:
        async with self._sends:
            await self.deliver(article, chat)

    async def deliver(self, article: Article, chat: str) -> None:
        """Send `article` to `chat` unless it was sent (or attempted) before."""
        claims = keys.sent(article.id)
        if await self.redis.hexists(claims, chat):
            return
        # The claim is taken only once the rate limiter gives this send its slot, so a
        # crash leaves unsent only the messages whose requests were on the wire.
        await self.limiter.acquire(parse_chat(chat))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(claims, chat, "sending")
            pipe.expire(claims, CLAIM_TTL)
            claimed, _ = await pipe.execute()
        if not claimed:
            return
        outcome = await self._send(article, chat)
        self.count(outcome or "retry")
        if outcome is None:
            await self.redis.hdel(claims, chat)
            raise TryLater(chat)
        await self.redis.hset(claims, chat, outcome)

    async def _send(self, article: Article, chat: str) -> str | None:
        """The claim's final state, or None when nothing was sent and a retry is due."""
        try:
            await self.bot.send_message(
                parse_chat(chat),
                messages.push(article),
                parse_mode=ParseMode.HTML,
                rate_limit_args=RESERVED,
            )
        except RetryAfter as exc:  # the rate limiter already waited and retried
            log.warning("chat %s: Telegram still asks to wait (%s); will retry", chat, exc)
            return None
        except Forbidden as exc:
            gone = await self.subscriptions.remove(chat)
            log.info("chat %s refuses messages (%s); unsubscribed from %s", chat, exc, gone)
            return "refused"
        except ChatMigrated as exc:
            await self._follow(chat, exc.new_chat_id, article)
            return "moved"
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                gone = await self.subscriptions.remove(chat)
                log.info("chat %s no longer exists; unsubscribed from %s", chat, gone)
                return "gone"
            log.error("chat %s: Telegram refused the push of %s: %s", chat, article.id, exc)
            return "failed"
        except TimedOut:
            log.warning("chat %s: push of %s timed out; not resent", chat, article.id)
            return "unknown"
        except NetworkError as exc:
            if isinstance(exc.__cause__, httpx.ConnectError):
                log.warning("chat %s: cannot reach Telegram (%s); will retry", chat, exc)
                return None
            log.warning(
                "chat %s: push of %s may have failed (%s); not resent", chat, article.id, exc
            )
            return "unknown"
        return "sent"

    async def _follow(self, old: str, new: int, article: Article) -> None:
        """A group became a supergroup: move its subscriptions and send there."""
        if old in self.channels:
            log.warning("telegram.channels: %s is now chat %s; update the config", old, new)
        else:
            await self.subscriptions.move(old, new)
            log.info("chat %s moved to %s; its subscriptions follow", old, new)
        await self.deliver(article, str(new))


def _reraise_cancellation() -> None:
    # redis-py (8.1) can swallow the cancellation of a blocking read and return
    # nothing, which would keep this loop running after it was told to stop.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
