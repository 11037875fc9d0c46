"""Every Redis key feedsvc uses, in one place.

All keys start with `feedsvc:`. The article store lives under one hash tag,
`{news}`, because an upsert touches the article, its link index, every category
index, the version counters and the event stream in one atomic script; on a Redis
Cluster those keys must share a slot. Per-source keys carry the source name as
their own tag, so sources spread over a cluster.

| key | type | holds |
|---|---|---|
| `feedsvc:{news}:article:<id>` | hash | see below |
| `feedsvc:{news}:link:<hash>` | string | article id for a canonical link |
| `feedsvc:{news}:cat:<slug>` | zset | article ids of a category, score = published ms |
| `feedsvc:{news}:all` | zset | every article id, score = published ms |
| `feedsvc:{news}:categories` | hash | slug -> display name |
| `feedsvc:{news}:versions` | hash | slug (or `*` for all) -> change counter |
| `feedsvc:{news}:events` | stream | one entry per new or removed article (fields: events.py) |
| `feedsvc:{news}:removed` | hash | removed id -> removal ms; `l:<link hash>` -> its source |
| `feedsvc:{news}:removed_at` | hash | slug (or `*`) -> ms of the last removal from that feed |
| `feedsvc:{news}:declared` | set | slugs the config or a source names: listed even when empty |
| `feedsvc:{news}:started` | string | first start of the store (Unix ms): date of empty feeds |

Sources and polling:

| key | type | holds |
|---|---|---|
| `feedsvc:sources` | hash | name -> JSON definition of a source added at run time |
| `feedsvc:source:{<name>}:status` | hash | poll state and status of one source |
| `feedsvc:source:{<name>}:seen` | zset | article page URLs an html source has fetched |
| `feedsvc:source:{<name>}:posted` | zset | its newest article ids, score = published ms |
| `feedsvc:{sched}:due` | zset | source name -> next poll time (s); claims push it ahead |
| `feedsvc:{sched}:owner` | hash | source name -> token of the worker polling it now |
| `feedsvc:service:config` | string | config file the service last started with ("" for defaults) |

Telegram (all under one hash tag, `{tg}`: the rate limiter's script reads the
overall and the per-chat keys at once, and fan-out unions subscriber sets). A
"chat" here is a recipient: a chat id, an "@channel", or "chat/thread" for a
forum topic:

| key | type | holds |
|---|---|---|
| `feedsvc:{tg}:subs:<slug>` | set | chat ids subscribed to a category |
| `feedsvc:{tg}:chat:<chat id>` | set | category slugs one chat subscribes to |
| `feedsvc:{tg}:words:<slug>` | hash | chat -> its keywords for that category |
| `feedsvc:{tg}:words-version` | hash | slug -> counter moved by every keyword change there |
| `feedsvc:{tg}:quiet` | hash | chat -> its quiet hours in WITA, "22-6" |
| `feedsvc:{tg}:topics:<chat id>` | set | subscribed forum topics of a group ("chat/thread") |
| `feedsvc:{tg}:sent:<article id>` | hash | delivery ledger: chat -> claim or outcome (a week) |
| `feedsvc:{tg}:consumer:<name>` | string | lease of an event-reading bot process |
| `feedsvc:{tg}:rate:<scope>` | string | rate limiter state of `all` or of one chat |
| `feedsvc:{tg}:poller` | string | token of the bot process that long-polls Telegram (a lease) |
| `feedsvc:{tg}:pause` | string | set while Telegram has asked us to wait (a 429); expires with it |
| `feedsvc:{tg}:digest` | hash | chat -> "hour since" of a chat taking a daily digest (/ringkasan) |
| `feedsvc:{tg}:digest-lock:<chat>` | string | the bot process sending a chat's digest (a lease) |
| `feedsvc:{tg}:digest-done` | hash | chat -> WITA date (YYYYMMDD) of its last digest sent |
| `feedsvc:{tg}:alert:<source>` | hash | `told` (what admins heard), `at`, `first_failing` |
| `feedsvc:{tg}:alert-day:<source>` | string | set for a day by an alert: no other that day |

A digest part is in the delivery ledger like an article: `sent:digest-<WITA date>-<part>`.

The bot reads `feedsvc:{news}:events` through the consumer group `telegram`, so
several bot processes share the pushes and a crash leaves its events pending.

Article hash fields: `d` JSON body, `n` category display names and `k` their slugs
(both joined by \x1f), `h` content hash, `s` sort score, `src` owning source, `l`
link key, `w` the plain words of title and lead (space-separated; search reads
only these), `c:<source>` which entry of another source joined it.
"""

from __future__ import annotations

PREFIX = "feedsvc:"
NEWS = PREFIX + "{news}:"

ARTICLE_PREFIX = NEWS + "article:"
LINK_PREFIX = NEWS + "link:"
CATEGORY_PREFIX = NEWS + "cat:"
ALL_INDEX = NEWS + "all"
CATEGORY_NAMES = NEWS + "categories"
VERSIONS = NEWS + "versions"
EVENTS = NEWS + "events"
REMOVED = NEWS + "removed"
REMOVED_AT = NEWS + "removed_at"
DECLARED = NEWS + "declared"
STARTED = NEWS + "started"
ALL_VERSION_FIELD = "*"


def article(article_id: str) -> str:
    return ARTICLE_PREFIX + article_id


def link(link_key: str) -> str:
    return LINK_PREFIX + link_key


def category(slug: str | None) -> str:
    """Index of one category; `None` is the every-article index."""
    return ALL_INDEX if slug is None else CATEGORY_PREFIX + slug


SOURCES = PREFIX + "sources"
SCHEDULE_DUE = PREFIX + "{sched}:due"
SCHEDULE_OWNER = PREFIX + "{sched}:owner"
SERVICE_CONFIG = PREFIX + "service:config"


def source_status(name: str) -> str:
    return f"{PREFIX}source:{{{name}}}:status"


def source_seen(name: str) -> str:
    return f"{PREFIX}source:{{{name}}}:seen"


def source_posted(name: str) -> str:
    return f"{PREFIX}source:{{{name}}}:posted"


TELEGRAM = PREFIX + "{tg}:"
TELEGRAM_PAUSE = TELEGRAM + "pause"
TELEGRAM_POLLER = TELEGRAM + "poller"
TELEGRAM_GROUP = "telegram"  # consumer group on EVENTS
DIGESTS = TELEGRAM + "digest"
DIGEST_DONE = TELEGRAM + "digest-done"


def subscribers(slug: str) -> str:
    return f"{TELEGRAM}subs:{slug}"


def chat_subscriptions(chat_id: int | str) -> str:
    return f"{TELEGRAM}chat:{chat_id}"


def keywords(slug: str) -> str:
    return f"{TELEGRAM}words:{slug}"


KEYWORDS_VERSIONS = TELEGRAM + "words-version"
TELEGRAM_QUIET = TELEGRAM + "quiet"


def topics(chat_id: int | str) -> str:
    return f"{TELEGRAM}topics:{chat_id}"


def sent(article_id: str) -> str:
    return f"{TELEGRAM}sent:{article_id}"


def consumer_lease(name: str) -> str:
    return f"{TELEGRAM}consumer:{name}"


def rate(scope: int | str) -> str:
    return f"{TELEGRAM}rate:{scope}"


def digest_lock(chat_id: int | str) -> str:
    return f"{TELEGRAM}digest-lock:{chat_id}"


def source_alert(name: str) -> str:
    return f"{TELEGRAM}alert:{name}"


def source_alert_day(name: str) -> str:
    return f"{TELEGRAM}alert-day:{name}"
