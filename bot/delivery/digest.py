"""Sending the daily digests: every bot process looks which chats are due (a pure
decision, bot/digests.py) and sends each due chat its digest through the push send
path: the same rate limiter, the same ledger.

- Once per chat and day, across restarts and bot processes: each part of a digest is
  a ledger entry (`digest-<WITA date>-<part>`, a field per chat) claimed right before
  its request leaves, exactly as a push is.
- One process per chat at a time: a lease per chat (`keys.digest_lock`) keeps a
  second process from queueing for the same chat's slots; it runs out, so a process
  that died leaves the chat to the next one, which sends the parts not yet claimed.
- Done is remembered (`keys.DIGEST_DONE`: chat -> date) so later looks that day cost
  one read; the ledger, not this, is what makes it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import digests
from bot.delivery.push import Message, Pusher
from bot.ratelimit import parse_chat
from bot.subscriptions import ALL, Subscriptions, wanted
from feedsvc.models import Article
from feedsvc.storage import keys
from feedsvc.storage.store import Cursor, Store
from feedsvc.words import FilterIndex, article_words

log = logging.getLogger(__name__)

LOOK_EVERY = 30.0  # seconds between looks for due digests
LOCK_MS = 300_000  # a chat's digest lease; far longer than one digest takes
CONCURRENT_CHATS = 64  # digests under way at once: more than max_rate keeps busy
FETCH = digests.MAX_POSTS + 1  # per category: enough to fill a digest and know there are more

# KEYS[1]: a lease; ARGV[1]: its holder. Deletes it only if it is still theirs.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class DigestSender:
    def __init__(
        self,
        redis: Redis,
        store: Store,
        subscriptions: Subscriptions,
        pusher: Pusher,
        *,
        owner: str,
        stop: asyncio.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.redis = redis
        self.store = store
        self.subscriptions = subscriptions
        self.pusher = pusher
        self.digests = digests.Digests(redis)
        self.owner = owner
        self.stop = stop or asyncio.Event()
        self.clock = clock
        self._release = redis.register_script(_RELEASE)

    async def run(self) -> None:
        """Look for due digests until `stop` is set; Redis away is waited out."""
        while not self.stop.is_set():
            try:
                await self.send_due(self.clock())
            except RedisError as exc:
                log.warning("digests wait for Redis: %s", exc)
            except Exception:  # a bug here must not stop the pushes beside it
                log.exception("digests failed; looking again in %.0f s", LOOK_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), LOOK_EVERY)

    async def send_due(self, now: datetime) -> int:
        """Send every digest due at `now` not sent yet; returns how many chats' digests
        this look finished (sent now, or found sent in the ledger)."""
        chosen = await self.digests.all()
        done = await self.redis.hgetall(keys.DIGEST_DONE)
        due = []
        for chat, setting in chosen.items():
            slot = digests.due(setting, now)
            if slot is not None and done.get(chat) != digests.day_of(slot):
                due.append((chat, slot))
        posts: dict[tuple[frozenset[str], datetime], asyncio.Future[list[Article]]] = {}
        turns = asyncio.Semaphore(CONCURRENT_CHATS)

        async def send(chat: str, slot: datetime) -> bool:
            async with turns:
                return await self._send(chat, slot, now, posts)

        return sum(await asyncio.gather(*(send(chat, slot) for chat, slot in due)))

    async def _send(self, chat: str, slot: datetime, now: datetime, posts: dict) -> bool:
        lock = keys.digest_lock(chat)
        if not await self.redis.set(lock, self.owner, nx=True, px=LOCK_MS):
            return False  # another process is on it
        try:
            slugs = await self._slugs(chat)
            if (slugs, slot) not in posts:  # chats with the same subscriptions share one read
                posts[slugs, slot] = asyncio.ensure_future(self._posts(slugs, slot))
            found = await self._matching(chat, await posts[slugs, slot])
            texts = digests.parts(found, slot, now) if found else []
            for number, text in enumerate(texts):
                message = Message(digests.ledger_id(slot, number), text)
                if not await self.pusher.fan_out(message, [chat]):
                    return False  # stopping: the rest is the next process's
            await self.redis.hset(keys.DIGEST_DONE, chat, digests.day_of(slot))
            if texts:
                log.info("chat %s: digest of %d post(s) sent", chat, len(found),
                         extra={"chat_id": parse_chat(chat)})  # fmt: skip
            return bool(texts)
        finally:
            with contextlib.suppress(RedisError):
                await self._release(keys=[lock], args=[self.owner])

    async def _slugs(self, chat: str) -> frozenset[str]:
        slugs = set(await self.subscriptions.of_chat(chat))
        if chat in self.pusher.channels:
            slugs |= set(self.pusher.telegram.push_slugs)
        return frozenset(slugs)

    async def _matching(self, chat: str, found: list[Article]) -> list[Article]:
        """The posts this chat's keywords let through, as its pushes would be."""
        chosen = await self.subscriptions.settings_of(chat)
        if not chosen.keywords:
            return found
        kept = []
        for article in found:
            scopes = [s for s in chosen.slugs if s == ALL or s in article.slugs]
            members = {s: {chat} for s in scopes}
            filters = {s: FilterIndex.build({chat: w}) for s, w in chosen.keywords.items()}
            words = await asyncio.to_thread(article_words, article)  # Sastrawi: off the loop
            if chat in wanted(members, filters, words):
                kept.append(article)
        return kept

    async def _posts(self, slugs: frozenset[str], slot: datetime) -> list[Article]:
        """The posts of these categories in the 24 hours before `slot`, newest first."""
        before = Cursor(Cursor.at(slot).score + 1)  # published at `slot` or before
        indexes = [None] if ALL in slugs else sorted(slugs)
        found: dict[str, Article] = {}
        for slug in indexes:
            for article in await self.store.list(slug, limit=FETCH, before=before):
                if digests.in_window(article, slot):
                    found.setdefault(article.id, article)
        return sorted(found.values(), key=lambda a: a.published, reverse=True)
