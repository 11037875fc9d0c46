"""Which chats get pushes of which categories, kept in Redis (keys: feedsvc/storage/keys.py).

Two views of the same facts are written together in one transaction: per category
the chats (what a push fans out to) and per chat the categories (what /status shows
and what a chat that blocked the bot leaves behind).
"""

from __future__ import annotations

from redis.asyncio import Redis

from feedsvc.storage import keys

ALL = "all"  # the subscription to every category ("/langganan semua")


class Subscriptions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, chat_id: int | str, slugs: list[str]) -> list[str]:
        """Subscribe; returns the slugs that were new for this chat."""
        have = await self.of_chat(chat_id)
        new = [s for s in dict.fromkeys(slugs) if s not in have]
        if new:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(keys.chat_subscriptions(chat_id), *new)
                for slug in new:
                    pipe.sadd(keys.subscribers(slug), str(chat_id))
                await pipe.execute()
        return new

    async def remove(self, chat_id: int | str, slugs: list[str] | None = None) -> list[str]:
        """Unsubscribe from `slugs` (every category when None); returns what was removed."""
        have = await self.of_chat(chat_id)
        gone = sorted(have) if slugs is None else [s for s in dict.fromkeys(slugs) if s in have]
        if gone:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.srem(keys.chat_subscriptions(chat_id), *gone)
                for slug in gone:
                    pipe.srem(keys.subscribers(slug), str(chat_id))
                await pipe.execute()
        return gone

    async def of_chat(self, chat_id: int | str) -> set[str]:
        return set(await self.redis.smembers(keys.chat_subscriptions(chat_id)))

    async def chats_for(self, slugs: list[str]) -> set[str]:
        """Every chat subscribed to any of `slugs` or to every category."""
        return set(await self.redis.sunion([keys.subscribers(s) for s in [*slugs, ALL]]))

    async def move(self, old_chat: int | str, new_chat: int | str) -> list[str]:
        """A group became a supergroup with a new id: its subscriptions follow it."""
        slugs = await self.remove(old_chat)
        if slugs:
            await self.add(new_chat, slugs)
        return slugs

    async def counts(self) -> dict[str, int]:
        """Subscribed chats per category slug, for the admins' /statistik."""
        found: dict[str, int] = {}
        async for key in self.redis.scan_iter(match=keys.subscribers("*"), count=500):
            found[key.rsplit(":", 1)[1]] = await self.redis.scard(key)
        return found
