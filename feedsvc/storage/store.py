"""The article store: the only module that talks to Redis about articles.

Writes go through one Lua script, so an upsert is atomic however many workers
write at once: it decides new / updated / unchanged, merges categories, keeps the
indexes, bumps the per-category versions the feed cache keys on, trims each
category to `retention` articles (deleting bodies no category holds any more),
and appends the new-article event (its fields: events.py), all in one round
trip. Key layout: keys.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from feedsvc.models import Article, identity_key, short_hash, slugify
from feedsvc.storage import events, keys

_SEP = "\x1f"

# Lua: no cjson encoding anywhere (Redis's cjson turns [] into {}); list fields are
# joined with \31 instead.
_UPSERT = (
    events.LUA_APPEND
    + """
local all, names_key, versions, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local art_prefix, cat_prefix, link_prefix = ARGV[1], ARGV[2], ARGV[3]
local id, link_key, doc, hash = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local score, source, pushable = tonumber(ARGV[8]), ARGV[9], ARGV[10]
local retention, maxlen, ncat = tonumber(ARGV[11]), ARGV[12], tonumber(ARGV[13])

local function split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^\\31]+') do out[#out + 1] = part end end
  return out
end

local key = art_prefix .. id
if link_key ~= '' and redis.call('EXISTS', key) == 0 then
  local other = redis.call('GET', link_prefix .. link_key)
  if other and redis.call('EXISTS', art_prefix .. other) == 1 then
    id = other
    key = art_prefix .. id
  end
end

local old = redis.call('HMGET', key, 'h', 'n', 'k', 'src', 's')
local names, slugs = split(old[2]), split(old[3])
local have = {}
for _, s in ipairs(slugs) do have[s] = true end
local grew = false
for i = 1, ncat do
  local slug = ARGV[13 + ncat + i]
  if not have[slug] then
    have[slug] = true
    names[#names + 1] = ARGV[13 + i]
    slugs[#slugs + 1] = slug
    grew = true
  end
end

local function kept_by(slug)
  local ckey = cat_prefix .. slug
  if redis.call('ZCARD', ckey) < retention then return true end
  local low = redis.call('ZRANGE', ckey, 0, 0, 'WITHSCORES')
  local low_score = tonumber(low[2])
  return score > low_score or (score == low_score and id > low[1])
end

local status
if not old[1] then
  local keep = false
  for _, slug in ipairs(slugs) do
    if kept_by(slug) then keep = true break end
  end
  if not keep then return {id, 'old'} end
  status = 'new'
  redis.call('HSET', key, 'd', doc, 'h', hash, 's', score, 'src', source, 'l', link_key)
else
  local owns = old[4] == source or source == 'api'
  if owns and old[1] ~= hash then
    status = 'updated'
    redis.call('HSET', key, 'd', doc, 'h', hash, 's', score)
  elseif grew then
    status = 'updated'
    score = tonumber(old[5])
  else
    return {id, 'unchanged'}
  end
end
redis.call('HSET', key, 'n', table.concat(names, '\\31'), 'k', table.concat(slugs, '\\31'))
if link_key ~= '' then redis.call('SET', link_prefix .. link_key, id) end

redis.call('ZADD', all, score, id)
for i, slug in ipairs(slugs) do
  redis.call('ZADD', cat_prefix .. slug, score, id)
  redis.call('HSETNX', names_key, slug, names[i])
  redis.call('HINCRBY', versions, slug, 1)
end
redis.call('HINCRBY', versions, '*', 1)

local function drop_if_orphan(victim)
  local vkey = art_prefix .. victim
  local vals = redis.call('HMGET', vkey, 'k', 'l')
  for _, s in ipairs(split(vals[1])) do
    if redis.call('ZSCORE', cat_prefix .. s, victim) then return end
  end
  redis.call('DEL', vkey)
  redis.call('ZREM', all, victim)
  if vals[2] and vals[2] ~= '' then
    local lkey = link_prefix .. vals[2]
    if redis.call('GET', lkey) == victim then redis.call('DEL', lkey) end
  end
end

for _, slug in ipairs(slugs) do
  local ckey = cat_prefix .. slug
  local excess = redis.call('ZCARD', ckey) - retention
  if excess > 0 then
    local victims = redis.call('ZRANGE', ckey, 0, excess - 1)
    redis.call('ZREMRANGEBYRANK', ckey, 0, excess - 1)
    for _, victim in ipairs(victims) do drop_if_orphan(victim) end
  end
end

if status == 'new' then
  append_event(events, maxlen, id, table.concat(slugs, ','), pushable)
end
return {id, status}
"""
)

_LIST = """
local index, art_prefix, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local ids = {}
if ARGV[3] == '' then
  local offset = tonumber(ARGV[5])
  ids = redis.call('ZREVRANGE', index, offset, offset + limit - 1)
else
  local score, cursor_id = ARGV[3], ARGV[4]
  for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', index, score, score)) do
    if m < cursor_id and #ids < limit then ids[#ids + 1] = m end
  end
  if #ids < limit then
    local rest = redis.call('ZREVRANGEBYSCORE', index, '(' .. score, '-inf',
      'LIMIT', 0, limit - #ids)
    for _, m in ipairs(rest) do ids[#ids + 1] = m end
  end
end
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', art_prefix .. id, 'd', 'n')
  if v[1] then
    out[#out + 1] = id
    out[#out + 1] = v[1]
    out[#out + 1] = v[2]
  end
end
return out
"""


class UpsertStatus(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    OLD = "old"  # older than every category's retention window: not stored


@dataclass(frozen=True, slots=True)
class Upserted:
    id: str  # may differ from the article's id when its canonical link matched
    status: UpsertStatus


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a newest-first listing: strictly older than (score, id)."""

    score: int
    id: str = ""

    @classmethod
    def at(cls, when: datetime) -> Cursor:
        return cls(_score(when), "")


def _score(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class Store:
    """Articles in Redis. `retention` is the newest N kept per category."""

    def __init__(self, redis: Redis, retention: int = 1000) -> None:
        self.redis = redis
        self.retention = retention
        self._upsert = redis.register_script(_UPSERT)
        self._list = redis.register_script(_LIST)

    async def upsert(self, article: Article, *, pushable: bool = False) -> Upserted:
        """Insert or update; a new article also appends an event (pushable or not)."""
        article_id, status = await self._upsert(**self._upsert_call(article, pushable))
        return Upserted(article_id, UpsertStatus(status))

    async def upsert_many(self, articles: list[tuple[Article, bool]]) -> list[Upserted]:
        """Upsert (article, pushable) pairs in one round trip; each stays atomic."""
        if not articles:
            return []
        calls = [self._upsert_call(article, pushable) for article, pushable in articles]
        results = await self._upsert_batch(calls)
        if any(isinstance(r, NoScriptError) for r in results):
            # A fresh, restarted or failed-over Redis: load the script, redo what failed.
            await self.redis.script_load(_UPSERT)
            again = [c for c, r in zip(calls, results, strict=True) if isinstance(r, NoScriptError)]
            redone = iter(await self._upsert_batch(again))
            results = [next(redone) if isinstance(r, NoScriptError) else r for r in results]
        for result in results:
            if isinstance(result, Exception):
                raise result
        return [Upserted(article_id, UpsertStatus(status)) for article_id, status in results]

    async def _upsert_batch(self, calls: list[dict[str, list[Any]]]) -> list[Any]:
        # Plain EVALSHA commands, not Script objects: a cluster pipeline refuses those.
        # Every key is under {news}, so on a cluster, too, the batch goes to one node
        # in one round trip.
        sha = self._upsert.sha
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command(
                    "EVALSHA", sha, len(call["keys"]), *call["keys"], *call["args"]
                )
            return await pipe.execute(raise_on_error=False)

    def _upsert_call(self, article: Article, pushable: bool) -> dict[str, list[Any]]:
        args = [
            keys.ARTICLE_PREFIX,
            keys.CATEGORY_PREFIX,
            keys.LINK_PREFIX,
            article.id,
            _link_key(article.link) if article.link else "",
            _encode(article),
            article.content_hash,
            _score(article.published),
            article.source,
            "1" if pushable else "0",
            self.retention,
            events.MAXLEN,
            len(article.categories),
            *article.categories,
            *article.slugs,
        ]
        return {
            "keys": [keys.ALL_INDEX, keys.CATEGORY_NAMES, keys.VERSIONS, keys.EVENTS],
            "args": args,
        }

    async def published_of(self, article_id: str, link: str) -> datetime | None:
        """When a stored article (by id, else by canonical link) was published."""
        score = await self.redis.hget(keys.article(article_id), "s")
        if score is None and link:
            other = await self.redis.get(keys.link(_link_key(link)))
            score = await self.redis.hget(keys.article(other), "s") if other else None
        return datetime.fromtimestamp(float(score) / 1000, UTC) if score else None

    async def get(self, article_id: str) -> Article | None:
        doc, names = await self.redis.hmget(keys.article(article_id), ["d", "n"])
        return _decode(article_id, doc, names) if doc else None

    async def list(
        self,
        category: str | None = None,
        limit: int = 20,
        before: Cursor | None = None,
        offset: int = 0,
    ) -> list[Article]:
        """Newest first; `category` is a slug, None for every category.

        `before` continues after a cursor; `offset` skips that many (pages of a feed).
        """
        index = keys.category(_checked_slug(category))
        cursor = [str(before.score), before.id] if before else ["", ""]
        args = [keys.ARTICLE_PREFIX, limit, *cursor, offset]
        flat = await self._list(keys=[index], args=args)
        return [_decode(*flat[i : i + 3]) for i in range(0, len(flat), 3)]

    async def cursor_after(self, article_id: str) -> Cursor | None:
        """The cursor just past `article_id`, or None if it is not stored."""
        score = await self.redis.hget(keys.article(article_id), "s")
        return Cursor(int(float(score)), article_id) if score is not None else None

    async def categories(self) -> list[Category]:
        """Every category with its article count, largest first."""
        names = await self.redis.hgetall(keys.CATEGORY_NAMES)
        slugs = sorted(names)
        async with self.redis.pipeline(transaction=False) as pipe:
            for slug in slugs:
                pipe.zcard(keys.category(slug))
            counts = await pipe.execute()
        found = [Category(s, names[s], n) for s, n in zip(slugs, counts, strict=True) if n]
        return sorted(found, key=lambda c: (-c.count, c.slug))

    async def category(self, slug: str) -> Category | None:
        name = await self.redis.hget(keys.CATEGORY_NAMES, _checked_slug(slug))
        if name is None:
            return None
        return Category(slug, name, await self.redis.zcard(keys.category(slug)))

    async def count(self, category: str | None = None) -> int:
        return await self.redis.zcard(keys.category(_checked_slug(category)))

    async def feed_versions(self, slugs: list[str | None]) -> list[int | None]:
        """Change counters in one read; None for a category that does not exist.

        The upsert script creates a category's name and counter together and
        nothing deletes them, so a counter is also proof that the category exists.
        """
        fields = [keys.ALL_VERSION_FIELD if s is None else _checked_slug(s) for s in slugs]
        values = await self.redis.hmget(keys.VERSIONS, fields)
        return [
            0 if v is None and s is None else (int(v) if v is not None else None)
            for s, v in zip(slugs, values, strict=True)
        ]

    async def versions(self, slugs: list[str | None]) -> list[int]:
        """Change counters; any store change touching a category bumps its counter."""
        fields = [keys.ALL_VERSION_FIELD if s is None else _checked_slug(s) for s in slugs]
        values = await self.redis.hmget(keys.VERSIONS, fields)
        return [int(v or 0) for v in values]


def _checked_slug(slug: str | None) -> str | None:
    # Never build a key from unchecked input.
    if slug is not None and slugify(slug) != slug:
        raise ValueError(f"not a category slug: {slug!r}")
    return slug


def _link_key(link: str) -> str:
    return short_hash(identity_key(link))


def _encode(article: Article) -> bytes:
    return orjson.dumps(
        {
            "title": article.title,
            "link": article.link,
            "published": article.published.isoformat(),
            "updated": article.updated.isoformat() if article.updated else None,
            "author": article.author,
            "summary": article.summary,
            "content": article.content,
            "source": article.source,
            "guid": article.guid,
            "image": article.image,
            "hash": article.content_hash,
        }
    )


def _decode(article_id: str, doc: str | bytes, names: str) -> Article:
    d: dict[str, Any] = orjson.loads(doc)
    updated = d.get("updated")
    return Article(
        id=article_id,
        title=d["title"],
        link=d["link"],
        categories=tuple(names.split(_SEP)),
        published=datetime.fromisoformat(d["published"]).astimezone(UTC),
        updated=datetime.fromisoformat(updated) if updated else None,
        author=d.get("author", ""),
        summary=d.get("summary", ""),
        content=d.get("content", ""),
        source=d.get("source", ""),
        guid=d.get("guid", ""),
        image=d.get("image", ""),
        content_hash=d.get("hash", ""),
    )
