"""The store's Lua scripts: the atomic upsert, the stored-date lookup, the listing, the
search's first pass, and creating the configured categories.

Each runs in one round trip; the store registers them (store.py). Key layout: keys.py.
"""

from __future__ import annotations

from feedsvc.storage import events
from feedsvc.storage.removal import LUA_REMOVED_CHECK

# Which stored article an incoming one is (shared by the upsert and published_of).
# Within one source an article is its identity (guid, else link): two entries of a
# source are never merged. Across sources, an article of another source is joined
# when it has the same identity and link, or (an html page and a feed item of one
# post) the same canonical link; a `c:<source>` field on it records which entry
# of each source joined, so a second entry of that source never joins as well.
# A different post of another source that happens to share the identity (guid
# "1" on two sites) gets an id of its own, `alt_id`.
RESOLVE = """
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
UPSERT = (
    events.LUA_APPEND
    + LUA_REMOVED_CHECK
    + RESOLVE
    + """
local all, names_key, versions, events, removed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local art_prefix, cat_prefix, link_prefix = ARGV[1], ARGV[2], ARGV[3]
local id, link_key, doc, hash = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local score, source, pushable = tonumber(ARGV[8]), ARGV[9], ARGV[10]
local retention, maxlen, alt_id = tonumber(ARGV[11]), ARGV[12], ARGV[13]
local max_categories, fallback_name, fallback_slug = tonumber(ARGV[14]), ARGV[15], ARGV[16]
local mark, words, ncat = ARGV[17], ARGV[18], tonumber(ARGV[19])
local CAT = 19
-- An optional last argument: a deadline on Redis's clock, in ms. A call that
-- reaches Redis after it (its client gave up, the server was frozen) writes nothing.
local deadline = tonumber(ARGV[CAT + 2 * ncat + 1])
if deadline then
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline then
    return redis.error_reply('LATE the deadline of this write had passed')
  end
end

local function split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^\\31]+') do out[#out + 1] = part end end
  return out
end

local claim_as
id, claim_as = resolve(art_prefix, link_prefix, id, alt_id, link_key, source)
local key = art_prefix .. id

local old = redis.call('HMGET', key, 'h', 'n', 'k', 'src', 's', 't')
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

-- Did the title or lead change? `t` is their mark; an article stored before marks
-- were kept has none, and its documents are compared once instead.
local function text_changed()
  if old[6] then return old[6] ~= mark end
  local ok_old, before = pcall(cjson.decode, redis.call('HGET', key, 'd'))
  local ok_new, after = pcall(cjson.decode, doc)
  if not (ok_old and ok_new) then return false end
  return before.title ~= after.title or before.summary ~= after.summary
end

local status
local changed = false
if not old[1] then
  if refused_as_removed(removed, id, link_key, source) then return {id, 'removed', ''} end
  local keep = false
  for _, slug in ipairs(slugs) do
    if kept_by(slug) then keep = true break end
  end
  if not keep then return {id, 'old', refused_text} end
  status = 'new'
  redis.call('HSET', key, 'd', doc, 'h', hash, 's', score, 'src', source, 'l', link_key,
    't', mark, 'w', words)
else
  local owns = old[4] == source or source == 'api'
  if owns and old[1] ~= hash then
    status = 'updated'
    changed = text_changed()
    redis.call('HSET', key, 'd', doc, 'h', hash, 's', score, 't', mark, 'w', words)
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
elseif changed then
  append_updated(events, maxlen, id, table.concat(slugs, ','), mark)
end
return {id, status, refused_text}
"""
)

# The sort score of the article an incoming one resolves to, if it is stored.
PUBLISHED = (
    RESOLVE
    + """
local id = resolve(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return redis.call('HGET', ARGV[1] .. id, 's')
"""
)

# Lua: the ids of `index` newest first, from the start (cursor_score '': after skipping
# `offset`) or strictly older than the cursor (score, id), at most `limit`.
LUA_PAGE = """
local function page(index, limit, cursor_score, cursor_id, offset)
  local ids = {}
  if cursor_score == '' then
    return redis.call('ZREVRANGE', index, offset, offset + limit - 1)
  end
  for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', index, cursor_score, cursor_score)) do
    if m < cursor_id and #ids < limit then ids[#ids + 1] = m end
  end
  if #ids < limit then
    local rest = redis.call('ZREVRANGEBYSCORE', index, '(' .. cursor_score, '-inf',
      'LIMIT', 0, limit - #ids)
    for _, m in ipairs(rest) do ids[#ids + 1] = m end
  end
  return ids
end
"""

LIST = (
    LUA_PAGE
    + """
local index, art_prefix, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local ids = page(index, limit, ARGV[3], ARGV[4], tonumber(ARGV[5]))
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
)

# Search's first pass, in Redis so that no article body leaves it: up to `scan` ids
# of the index after the cursor, and of those the ones whose words (`w`: the plain
# words of title and lead, written with the body) hold every needle as a substring,
# at most `want`. The caller checks those exactly (whole words, root words): a
# needle is what any form matching a query word must contain. An article stored
# before `w` existed is a candidate with no words (false). Returns the ids looked at,
# the last one and its score (where to go on), then candidate id, words pairs.
SEARCH = (
    LUA_PAGE
    + """
local index, art_prefix, scan, want = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = page(index, scan, ARGV[4], ARGV[5], 0)
local out = {0, '', ''}
local looked, found = 0, 0
for _, id in ipairs(ids) do
  looked = looked + 1
  local w = redis.call('HGET', art_prefix .. id, 'w')
  local holds = true
  if w then
    for i = 6, #ARGV do
      if not string.find(w, ARGV[i], 1, true) then holds = false break end
    end
  end
  if holds then
    out[#out + 1] = id
    out[#out + 1] = w
    found = found + 1
  end
  out[2] = id
  if found >= want then break end
end
if looked > 0 then out[3] = redis.call('ZSCORE', index, out[2]) or '' end
out[1] = looked
return out
"""
)

# Words of an article stored before they were kept with it; not if it is gone.
KEEP_WORDS = """
if redis.call('HEXISTS', KEYS[1], 'd') == 1 then
  return redis.call('HSETNX', KEYS[1], 'w', ARGV[1])
end
return 0
"""

# When the store began (set once) and the named categories, created empty: their
# name, a change counter (which makes their feeds exist) and a place among the
# categories listed even with no article. ARGV: the time in ms, then name, slug pairs.
DECLARE = """
local names_key, versions, declared, started = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
redis.call('SET', started, ARGV[1], 'NX')
for i = 2, #ARGV, 2 do
  local name, slug = ARGV[i], ARGV[i + 1]
  redis.call('HSETNX', names_key, slug, name)
  redis.call('HSETNX', versions, slug, 0)
  redis.call('SADD', declared, slug)
end
return redis.call('GET', started)
"""
