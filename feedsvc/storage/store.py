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
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from feedsvc.models import DEFAULT_CATEGORY, Article, identity_key, short_hash, slugify
from feedsvc.storage import events, keys

log = logging.getLogger(__name__)

_SEP = "\x1f"

# Which stored article an incoming one is (shared by the upsert and published_of).
# Within one source an article is its identity (guid, else link): two entries of a
# source are never merged. Across sources, an article of another source is joined
# when it has the same identity and link, or (an html page and a feed item of one
# post) the same canonical link; a `c:<source>` field on it records which entry
# of each source joined, so a second entry of that source never joins as well.
# A different post of another source that happens to share the identity (guid
# "1" on two sites) gets an id of its own, `alt_id`.
_RESOLVE = """
local function resolve(art_prefix, link_prefix, id, alt_id, link_key, source)
  local function joins(tkey, link_match)
    local claim = redis.call('HGET', tkey, 'c:' .. source)
    if claim then return claim == id end
    return link_match
  end
  local key = art_prefix .. id
  if redis.call('EXISTS', art_prefix .. alt_id) == 1 then
    return alt_id, nil
  end
  if redis.call('EXISTS', key) == 1 then
    local owner = redis.call('HGET', key, 'src')
    if owner == source or source == 'api' then return id, nil end
    local same_link = link_key ~= '' and redis.call('HGET', key, 'l') == link_key
    if joins(key, same_link) then return id, id end
    return alt_id, nil
  end
  if link_key ~= '' then
    local other = redis.call('GET', link_prefix .. link_key)
    if other then
      local okey = art_prefix .. other
      if redis.call('EXISTS', okey) == 1 and redis.call('HGET', okey, 'src') ~= source
          and joins(okey, true) then
        return other, id
      end
    end
  end
  return id, nil
end
"""

# Lua: no cjson encoding anywhere (Redis's cjson turns [] into {}); list fields are
# joined with \31 instead. Categories new to the store are refused once it holds
# `max_categories`; an article left with none gets the fallback category.
_UPSERT = (
    events.LUA_APPEND
    + _RESOLVE
    + """
local all, names_key, versions, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local art_prefix, cat_prefix, link_prefix = ARGV[1], ARGV[2], ARGV[3]
local id, link_key, doc, hash = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local score, source, pushable = tonumber(ARGV[8]), ARGV[9], ARGV[10]
local retention, maxlen, alt_id = tonumber(ARGV[11]), ARGV[12], ARGV[13]
local max_categories, fallback_name, fallback_slug = tonumber(ARGV[14]), ARGV[15], ARGV[16]
local ncat = tonumber(ARGV[17])
local CAT = 17

local function split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^\\31]+') do out[#out + 1] = part end end
  return out
end

local claim_as
id, claim_as = resolve(art_prefix, link_prefix, id, alt_id, link_key, source)
local key = art_prefix .. id

local old = redis.call('HMGET', key, 'h', 'n', 'k', 'src', 's')
local names, slugs = split(old[2]), split(old[3])
local have = {}
for _, s in ipairs(slugs) do have[s] = true end
local grew = false
local room = max_categories - redis.call('HLEN', names_key)
local refused = {}
local function add(name, slug)
  if have[slug] then return end
  if redis.call('HEXISTS', names_key, slug) == 0 then
    if room <= 0 then refused[#refused + 1] = slug return end
    room = room - 1
  end
  have[slug] = true
  names[#names + 1] = name
  slugs[#slugs + 1] = slug
  grew = true
end
for i = 1, ncat do add(ARGV[CAT + i], ARGV[CAT + ncat + i]) end
if #slugs == 0 then
  have[fallback_slug] = true
  names[1], slugs[1], grew = fallback_name, fallback_slug, true
end
local refused_text = table.concat(refused, ',')

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
  if not keep then return {id, 'old', refused_text} end
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
    -- Written once, so the next entry of this source with that link stays its own.
    if claim_as then redis.call('HSETNX', key, 'c:' .. source, claim_as) end
    return {id, 'unchanged', refused_text}
  end
end
redis.call('HSET', key, 'n', table.concat(names, '\\31'), 'k', table.concat(slugs, '\\31'))
if claim_as then redis.call('HSET', key, 'c:' .. source, claim_as) end
if link_key ~= '' then
  -- The link index names the first article stored with that link, while it lives.
  local lkey = link_prefix .. link_key
  local current = redis.call('GET', lkey)
  if not current or redis.call('EXISTS', art_prefix .. current) == 0 then
    redis.call('SET', lkey, id)
  end
end

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
return {id, status, refused_text}
"""
)

# The sort score of the article an incoming one resolves to, if it is stored.
_PUBLISHED = (
    _RESOLVE
    + """
local id = resolve(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return redis.call('HGET', ARGV[1] .. id, 's')
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
    id: str  # may differ from the article's id when it joined another source's article
    status: UpsertStatus
    refused: tuple[str, ...] = ()  # category slugs left off: store.max_categories reached


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
    """Articles in Redis. `retention` is the newest N kept per category.

    At most `max_categories` categories are created; an article whose categories
    are all refused gets the `fallback` category its upsert names.
    """

    def __init__(self, redis: Redis, retention: int = 1000, max_categories: int = 200) -> None:
        self.redis = redis
        self.retention = retention
        self.max_categories = max_categories
        self._upsert = redis.register_script(_UPSERT)
        self._list = redis.register_script(_LIST)
        self._published = redis.register_script(_PUBLISHED)
        self._told_full = False

    async def upsert(
        self, article: Article, *, pushable: bool = False, fallback: str = DEFAULT_CATEGORY
    ) -> Upserted:
        """Insert or update; a new article also appends an event (pushable or not)."""
        result = await self._upsert(**self._upsert_call(article, pushable, fallback))
        return self._upserted(result)

    async def upsert_many(
        self, articles: list[tuple[Article, bool]], *, fallback: str = DEFAULT_CATEGORY
    ) -> list[Upserted]:
        """Upsert (article, pushable) pairs in one round trip; each stays atomic."""
        if not articles:
            return []
        calls = [self._upsert_call(article, pushable, fallback) for article, pushable in articles]
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
        return [self._upserted(result) for result in results]

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

    def _upserted(self, result: list[str]) -> Upserted:
        article_id, status, refused = result
        if refused and not self._told_full:
            self._told_full = True  # once per process: the store stays full
            log.warning(
                "store.max_categories=%d reached: new categories (first: %s) are left off "
                "and articles without another fall back to their source's category",
                self.max_categories, refused.split(",")[0],
            )  # fmt: skip
        return Upserted(article_id, UpsertStatus(status), tuple(filter(None, refused.split(","))))

    def _upsert_call(self, article: Article, pushable: bool, fallback: str) -> dict[str, list[Any]]:
        args = [
            *self._key_args(article),
            _encode(article),
            article.content_hash,
            _score(article.published),
            article.source,
            "1" if pushable else "0",
            self.retention,
            events.MAXLEN,
            _alt_id(article),
            self.max_categories,
            fallback,
            slugify(fallback),
            len(article.categories),
            *article.categories,
            *article.slugs,
        ]
        return {
            "keys": [keys.ALL_INDEX, keys.CATEGORY_NAMES, keys.VERSIONS, keys.EVENTS],
            "args": args,
        }

    def _key_args(self, article: Article) -> list[Any]:
        return [
            keys.ARTICLE_PREFIX,
            keys.CATEGORY_PREFIX,
            keys.LINK_PREFIX,
            article.id,
            _link_key(article.link) if article.link else "",
        ]

    async def published_of(self, article: Article) -> datetime | None:
        """When the stored article this one would be stored as was published."""
        link_key = _link_key(article.link) if article.link else ""
        args = [keys.ARTICLE_PREFIX, keys.LINK_PREFIX, article.id, _alt_id(article), link_key]
        # The key names only the slot: every article key shares it.
        score = await self._published(keys=[keys.article(article.id)], args=[*args, article.source])
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


def _alt_id(article: Article) -> str:
    """The id of this source's own copy when another source's post has the same identity."""
    return short_hash(f"{article.source}\x1f{article.id}")


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
