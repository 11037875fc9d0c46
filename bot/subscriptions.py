"""Which chats get pushes of which categories, with their keywords and quiet hours,
kept in Redis (keys: feedsvc/storage/keys.py).

A "chat" here is a recipient: a chat id, an "@channel", or "chat/thread" for one
topic of a forum supergroup (`recipient`, `split`); each has subscriptions of its
own, and the ledger counts each once.

Two views of the same facts are written together in one transaction: per category
the chats (what a push fans out to) and per chat the categories (what /status shows
and what a chat that blocked the bot leaves behind). A subscription's keywords are
kept per category (chat -> keywords) with a version per category; each process
keeps the category's filters inverted (`FilterIndex`), rebuilt when the version
moves, so a push reads the subscriber sets and one version hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from redis.asyncio import Redis

from feedsvc.storage import keys
from feedsvc.words import FilterIndex

ALL = "all"  # the subscription to every category ("/langganan semua")
TOPIC = "/"  # between a chat id and a forum topic's thread id


def recipient(chat_id: int | str, thread_id: int | None = None) -> str:
    """The recipient of a chat, or of one topic of it."""
    return f"{chat_id}{TOPIC}{thread_id}" if thread_id else str(chat_id)


def split(chat: str) -> tuple[str, int | None]:
    """A recipient's chat and topic thread id (None: the whole chat)."""
    base, _, thread = str(chat).partition(TOPIC)
    return base, int(thread) if thread.isdigit() else None


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """One recipient as `/status` and `feedsvc subscriptions list` show it."""

    chat: str
    slugs: tuple[str, ...]
    keywords: dict[str, str] = field(default_factory=dict)  # slug -> stored keywords
    quiet: str = ""  # "22-6", WITA hours; "" for none


def wanted(
    members: Mapping[str, set[str]], indexes: Mapping[str, FilterIndex], words: frozenset[str]
) -> set[str]:
    """The chats a post reaches: a subscriber of one of its categories whose keywords
    for that category (if any) match the post's words. Pure."""
    chats: set[str] = set()
    for slug, chats_of_slug in members.items():
        index = indexes.get(slug)
        if index is None:
            chats |= chats_of_slug
            continue
        chats |= chats_of_slug - index.filtered
        chats |= index.passing(words) & chats_of_slug
    return chats


class Subscriptions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        # Per category: the keyword version the index was built at, and the index.
        self._indexes: dict[str, tuple[str, FilterIndex]] = {}

    async def add(
        self, chat_id: int | str, slugs: list[str], keywords: str | None = None
    ) -> list[str]:
        """Subscribe; returns the slugs that were new for this chat. With `keywords`
        (stored form, "" to clear), those slugs' keywords are set too."""
        chat = str(chat_id)
        have = await self.of_chat(chat)
        new = [s for s in dict.fromkeys(slugs) if s not in have]
        async with self.redis.pipeline(transaction=True) as pipe:
            if new:
                pipe.sadd(keys.chat_subscriptions(chat), *new)
                for slug in new:
                    pipe.sadd(keys.subscribers(slug), chat)
            if keywords is not None:
                for slug in dict.fromkeys(slugs):
                    if keywords:
                        pipe.hset(keys.keywords(slug), chat, keywords)
                    else:
                        pipe.hdel(keys.keywords(slug), chat)
                    pipe.hincrby(keys.KEYWORDS_VERSIONS, slug)
            base, thread = split(chat)
            if thread is not None:
                pipe.sadd(keys.topics(base), chat)
            await pipe.execute()
        return new

    async def remove(self, chat_id: int | str, slugs: list[str] | None = None) -> list[str]:
        """Unsubscribe from `slugs` (every category when None); returns what was removed."""
        chat = str(chat_id)
        have = await self.of_chat(chat)
        gone = sorted(have) if slugs is None else [s for s in dict.fromkeys(slugs) if s in have]
        if gone:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.srem(keys.chat_subscriptions(chat), *gone)
                for slug in gone:
                    pipe.srem(keys.subscribers(slug), chat)
                    pipe.hdel(keys.keywords(slug), chat)
                    pipe.hincrby(keys.KEYWORDS_VERSIONS, slug)
                if len(gone) == len(have):
                    pipe.hdel(keys.TELEGRAM_QUIET, chat)
                    base, thread = split(chat)
                    if thread is not None:
                        pipe.srem(keys.topics(base), chat)
                await pipe.execute()
        return gone

    async def remove_chat(self, chat_id: int | str) -> list[str]:
        """The chat is gone (blocked the bot, left, deleted): it and all its topics."""
        base, _ = split(str(chat_id))
        topics = await self.redis.smembers(keys.topics(base))
        gone: set[str] = set()
        for chat in [base, *sorted(topics)]:
            gone.update(await self.remove(chat))
        await self.redis.delete(keys.topics(base))
        return sorted(gone)

    async def of_chat(self, chat_id: int | str) -> set[str]:
        return set(await self.redis.smembers(keys.chat_subscriptions(chat_id)))

    async def settings_of(self, chat_id: int | str) -> ChatSettings:
        chat = str(chat_id)
        slugs = sorted(await self.of_chat(chat))
        async with self.redis.pipeline(transaction=False) as pipe:
            for slug in slugs:
                pipe.hget(keys.keywords(slug), chat)
            pipe.hget(keys.TELEGRAM_QUIET, chat)
            *words, quiet = await pipe.execute()
        found = {slug: w for slug, w in zip(slugs, words, strict=True) if w}
        return ChatSettings(chat, tuple(slugs), found, quiet or "")

    async def set_quiet(self, chat_id: int | str, window: str) -> None:
        """Quiet hours ("22-6"), or none for ""."""
        if window:
            await self.redis.hset(keys.TELEGRAM_QUIET, str(chat_id), window)
        else:
            await self.redis.hdel(keys.TELEGRAM_QUIET, str(chat_id))

    async def quiet_of(self, chat_id: int | str) -> str:
        return await self.redis.hget(keys.TELEGRAM_QUIET, str(chat_id)) or ""

    async def chats_for(self, slugs: list[str]) -> set[str]:
        """Every chat subscribed to any of `slugs` or to every category."""
        return set(await self.redis.sunion([keys.subscribers(s) for s in [*slugs, ALL]]))

    async def chats_for_post(self, slugs: list[str], words: frozenset[str]) -> set[str]:
        """The chats a post of `slugs` whose title and lead hold `words` reaches."""
        scopes = list(dict.fromkeys([*slugs, ALL]))
        async with self.redis.pipeline(transaction=False) as pipe:
            for slug in scopes:
                pipe.smembers(keys.subscribers(slug))
            pipe.hmget(keys.KEYWORDS_VERSIONS, scopes)
            *found, versions = await pipe.execute()
        members = {slug: set(chats) for slug, chats in zip(scopes, found, strict=True)}
        indexes = {}
        for slug, version in zip(scopes, versions, strict=True):
            if version is not None:
                indexes[slug] = await self._index(slug, version)
        return wanted(members, indexes, words)

    async def _index(self, slug: str, version: str) -> FilterIndex:
        """A category's keyword index, rebuilt only when its keywords changed."""
        cached = self._indexes.get(slug)
        if cached is not None and cached[0] == version:
            return cached[1]
        # Read after the version: at worst newer than it, and rebuilt once more then.
        index = FilterIndex.build(await self.redis.hgetall(keys.keywords(slug)))
        self._indexes[slug] = (version, index)
        return index

    async def move(self, old_chat: int | str, new_chat: int | str) -> list[str]:
        """A group became a supergroup with a new id: its subscriptions follow it."""
        before = await self.settings_of(old_chat)
        slugs = await self.remove(old_chat)
        for slug in slugs:
            await self.add(new_chat, [slug], before.keywords.get(slug, ""))
        if before.quiet and slugs:
            await self.set_quiet(new_chat, before.quiet)
        return slugs

    async def counts(self) -> dict[str, int]:
        """Subscribed chats per category slug, for the admins' /statistik."""
        found: dict[str, int] = {}
        async for key in self.redis.scan_iter(match=keys.subscribers("*"), count=500):
            found[key.rsplit(":", 1)[1]] = await self.redis.scard(key)
        return found

    async def listing(self) -> list[ChatSettings]:
        """Every recipient with its categories, keywords and quiet hours (for the CLI)."""
        chats: set[str] = set()
        async for key in self.redis.scan_iter(match=keys.chat_subscriptions("*"), count=500):
            chats.add(key.removeprefix(keys.chat_subscriptions("")))
        return [await self.settings_of(chat) for chat in sorted(chats)]
