"""Removing an article by hand: gone from every feed and listing at once, for good.

One Lua script deletes the article and its index entries, bumps the change
counters of its feeds (so every cached render and ETag changes), notes the time
of the removal per feed (so a feed's Last-Modified never goes back), remembers
the article as removed and appends a `removed` event with its title (events.py),
in one atomic step.

What is remembered: the article id, and its link for entries of *other* sources
(a feed item that had joined an html page of the same post has an id of its
own). Within the article's own source another guid with the same link stays a
distinct article, as it always is. The store's upsert refuses what is remembered
(status `removed`), except from the API: a deliberate re-post brings it back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from feedsvc.models import is_slug
from feedsvc.storage import events, keys

# For the store's upsert, called when an article would be new:
# refused_as_removed(removed hash, id, link key, source) -> true to refuse it.
LUA_REMOVED_CHECK = """
local function refused_as_removed(removed, id, link_key, source)
  if source == 'api' then
    redis.call('HDEL', removed, id)
    if link_key ~= '' then redis.call('HDEL', removed, 'l:' .. link_key) end
    return false
  end
  if redis.call('HEXISTS', removed, id) == 1 then return true end
  if link_key == '' then return false end
  local owner = redis.call('HGET', removed, 'l:' .. link_key)
  return owner ~= false and owner ~= source
end
"""

_REMOVE = (
    events.LUA_APPEND
    + """
local all, versions, stream, removed, removed_at = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local art_prefix, cat_prefix, link_prefix = ARGV[1], ARGV[2], ARGV[3]
local id, now_ms, maxlen = ARGV[4], ARGV[5], ARGV[6]
local key = art_prefix .. id
local vals = redis.call('HMGET', key, 'k', 'l', 'src', 'd')
if not vals[1] then return false end
local slugs = {}
for part in string.gmatch(vals[1], '[^\\31]+') do slugs[#slugs + 1] = part end
redis.call('DEL', key)
redis.call('ZREM', all, id)
for _, slug in ipairs(slugs) do
  redis.call('ZREM', cat_prefix .. slug, id)
  redis.call('HINCRBY', versions, slug, 1)
  redis.call('HSET', removed_at, slug, now_ms)
end
redis.call('HINCRBY', versions, '*', 1)
redis.call('HSET', removed_at, '*', now_ms)
redis.call('HSET', removed, id, now_ms)
local link_key = vals[2]
if link_key and link_key ~= '' then
  local lkey = link_prefix .. link_key
  if redis.call('GET', lkey) == id then redis.call('DEL', lkey) end
  redis.call('HSET', removed, 'l:' .. link_key, vals[3] or '')
end
local joined = table.concat(slugs, ',')
-- The title goes with the event: whoever corrects a message sent of it has no other.
local ok, doc = pcall(cjson.decode, vals[4])
local title = ok and type(doc) == 'table' and type(doc.title) == 'string' and doc.title or ''
append_removed(stream, maxlen, id, joined, title)
return joined
"""
)


class Removals:
    """Remove articles; say when a feed last lost one."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._remove = redis.register_script(_REMOVE)

    async def remove(self, article_id: str, now: datetime) -> tuple[str, ...] | None:
        """Remove a stored article; its category slugs, or None when it is not stored."""
        joined = await self._remove(
            keys=[keys.ALL_INDEX, keys.VERSIONS, keys.EVENTS, keys.REMOVED, keys.REMOVED_AT],
            args=[
                keys.ARTICLE_PREFIX,
                keys.CATEGORY_PREFIX,
                keys.LINK_PREFIX,
                article_id,
                int(now.timestamp() * 1000),
                events.MAXLEN,
            ],
        )
        if joined is None:
            return None
        return tuple(s for s in joined.split(",") if s)

    async def is_removed(self, article_id: str) -> bool:
        return bool(await self.redis.hexists(keys.REMOVED, article_id))

    async def last_removal(self, slug: str | None) -> datetime | None:
        """When an article was last removed from a feed (`None`: the all-articles feed)."""
        if slug is not None and not is_slug(slug):
            raise ValueError(f"not a category slug: {slug!r}")
        ms = await self.redis.hget(keys.REMOVED_AT, slug or keys.ALL_VERSION_FIELD)
        return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None
