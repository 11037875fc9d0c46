"""The article event stream: what the store appends, what delivery reads.

In: one entry per article the store keeps for the first time and one per change
of a stored article's title or lead, appended by the store's upsert script in the
same atomic step (so there is never an article without its event, nor an event
without its write), and one per article removed (storage/removal.py), appended by
the removal script. Out: those entries, read through consumer groups (the bot's is
`telegram`): each entry goes to one consumer of a group, stays pending until that
consumer acknowledges it, and can be claimed by another consumer when the first
one is gone.

The field contract (every value a string):

| field | holds |
|---|---|
| `event` | `new` (first stored), `updated` (title or lead changed), `removed`; none: `new` |
| `id` | the article id |
| `slugs` | its category slugs, joined by `,` (for `removed`: those it had) |
| `pushable` | `new` only: `1` when ingest decided the article may be pushed, else `0` |
| `mark` | `updated` only: the mark of the new title and lead (storage/codec.py `text_mark`) |
| `title` | `removed` only: the title it had |

A reader handles the kinds it knows and acknowledges every other entry unread
(`Entry.event` is None for those), so a new kind never blocks a consumer group.
An `updated` entry is appended whatever the article's pushability: the delivery
ledger (`sent:<id>`) says whether any chat got it; its `mark` tells a reader that
is late whether the article has changed again since (then a later entry says so).
A `removed` entry says the article is gone from every feed and listing and will
not be stored again from its source; the ledger still says which chats got it,
for whoever wants to edit or delete those messages.

Pushability is decided once, at ingest (a source's first poll and posts older
than the push window are not pushable), and carried here; readers obey it. The
entry id is the time of the append (ms), which tells a reader how late it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from feedsvc.storage import keys

MAXLEN = 100_000  # entries kept (approximately): far more than ever wait for delivery
EVENT, ID, SLUGS, PUSHABLE, MARK, TITLE = "event", "id", "slugs", "pushable", "mark", "title"
NEW, UPDATED, REMOVED = "new", "updated", "removed"

# Lua functions for scripts that append in the same atomic step as their writes:
# append_event(stream, maxlen, article id, joined slugs, "1"/"0") and
# append_updated(stream, maxlen, article id, joined slugs, mark) for the store's
# upsert, append_removed(stream, maxlen, article id, joined slugs, title) for a removal.
LUA_APPEND = f"""
local function append_event(stream, maxlen, id, slugs, pushable)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
    '{EVENT}', '{NEW}', '{ID}', id, '{SLUGS}', slugs, '{PUSHABLE}', pushable)
end
local function append_updated(stream, maxlen, id, slugs, mark)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
    '{EVENT}', '{UPDATED}', '{ID}', id, '{SLUGS}', slugs, '{MARK}', mark)
end
local function append_removed(stream, maxlen, id, slugs, title)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
    '{EVENT}', '{REMOVED}', '{ID}', id, '{SLUGS}', slugs, '{TITLE}', title)
end
"""


@dataclass(frozen=True, slots=True)
class NewArticle:
    """One event: an article stored for the first time."""

    id: str
    slugs: tuple[str, ...]
    pushable: bool

    def fields(self) -> dict[str, str]:
        return {
            EVENT: NEW,
            ID: self.id,
            SLUGS: ",".join(self.slugs),
            PUSHABLE: "1" if self.pushable else "0",
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str] | None) -> NewArticle | None:
        """The event, or None for an entry that is not one (trimmed away, malformed,
        or another kind)."""
        if not fields or not fields.get(ID) or fields.get(EVENT, NEW) != NEW:
            return None
        return cls(fields[ID], _slugs(fields), fields.get(PUSHABLE) == "1")


@dataclass(frozen=True, slots=True)
class ArticleUpdated:
    """One event: a stored article's title or lead changed (a source's update, the API)."""

    id: str
    slugs: tuple[str, ...]
    mark: str  # of the title and lead it changed to

    def fields(self) -> dict[str, str]:
        return {EVENT: UPDATED, ID: self.id, SLUGS: ",".join(self.slugs), MARK: self.mark}

    @classmethod
    def from_fields(cls, fields: dict[str, str] | None) -> ArticleUpdated | None:
        if not fields or not fields.get(ID) or fields.get(EVENT) != UPDATED:
            return None
        return cls(fields[ID], _slugs(fields), fields.get(MARK, ""))


@dataclass(frozen=True, slots=True)
class ArticleRemoved:
    """One event: an article removed by hand (`feedsvc articles remove`, the API)."""

    id: str
    slugs: tuple[str, ...]
    title: str = ""  # none on entries from before it was kept

    def fields(self) -> dict[str, str]:
        return {EVENT: REMOVED, ID: self.id, SLUGS: ",".join(self.slugs), TITLE: self.title}

    @classmethod
    def from_fields(cls, fields: dict[str, str] | None) -> ArticleRemoved | None:
        if not fields or not fields.get(ID) or fields.get(EVENT) != REMOVED:
            return None
        return cls(fields[ID], _slugs(fields), fields.get(TITLE, ""))


Event = NewArticle | ArticleUpdated | ArticleRemoved


def parse_event(fields: dict[str, str] | None) -> Event | None:
    """The event an entry holds; None for a kind this version does not know."""
    return (
        NewArticle.from_fields(fields)
        or ArticleUpdated.from_fields(fields)
        or ArticleRemoved.from_fields(fields)
    )


def _slugs(fields: dict[str, str]) -> tuple[str, ...]:
    return tuple(s for s in fields.get(SLUGS, "").split(",") if s)


@dataclass(frozen=True, slots=True)
class Entry:
    """A stream entry as a consumer sees it; `event` is None when it is not one."""

    entry_id: str
    event: Event | None

    @property
    def appended(self) -> datetime:
        return appended_at(self.entry_id)


def appended_at(entry_id: str) -> datetime:
    """When an entry was appended, from its id ("<ms>-<seq>")."""
    return datetime.fromtimestamp(int(entry_id.split("-", 1)[0]) / 1000, UTC)


def entry_id_at(when: datetime) -> str:
    """The smallest entry id appended at or after `when`."""
    return f"{int(when.timestamp() * 1000)}-0"


def entry_id_before(when: datetime) -> str:
    """The largest entry id appended before `when`: a group created there reads every
    entry from `when` on (one at exactly `entry_id_at(when)` included)."""
    return f"{int(when.timestamp() * 1000) - 1}-{2**64 - 1}"


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    pending: int
    idle_ms: int


class EventStream:
    """The stream as one consumer group sees it."""

    def __init__(self, redis: Redis, group: str, stream: str = keys.EVENTS) -> None:
        self.redis = redis
        self.group = group
        self.stream = stream

    async def append(self, event: Event) -> str:
        """Append outside a script (tools, tests, benchmarks); returns the entry id."""
        return await self.redis.xadd(self.stream, event.fields(), maxlen=MAXLEN, approximate=True)

    async def ensure_group(self, start: datetime) -> None:
        """Create the group (and the stream) unless it exists; it reads from `start` on."""
        try:
            await self.redis.xgroup_create(
                self.stream, self.group, id=entry_id_before(start), mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_new(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        """Entries no consumer of the group has had yet; they become `consumer`'s."""
        found = await self.redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return _entries(found[0][1]) if found else []

    async def read_own(self, consumer: str, count: int) -> list[Entry]:
        """Entries already `consumer`'s and not acknowledged (a reply lost to a failure)."""
        found = await self.redis.xreadgroup(self.group, consumer, {self.stream: "0"}, count=count)
        return _entries(found[0][1]) if found else []

    async def consumers(self) -> list[Consumer]:
        found = await self.redis.xinfo_consumers(self.stream, self.group)
        return [Consumer(c["name"], int(c["pending"]), int(c["idle"])) for c in found]

    async def pending_of(self, consumer: str, count: int) -> list[str]:
        """Ids of entries pending for `consumer`, oldest first."""
        found = await self.redis.xpending_range(
            self.stream, self.group, "-", "+", count, consumername=consumer
        )
        return [p["message_id"] for p in found]

    async def claim(self, consumer: str, entry_ids: list[str], min_idle_ms: int) -> list[Entry]:
        """Take entries over for `consumer`, those idle at least `min_idle_ms` (so of two
        consumers claiming at once only the first gets them)."""
        if not entry_ids:
            return []
        found = await self.redis.xclaim(self.stream, self.group, consumer, min_idle_ms, entry_ids)
        return _entries(found)

    async def hand_back(self, consumer: str, entry_ids: list[str], idle_ms: int) -> None:
        """Mark `consumer`'s entries idle for `idle_ms`, so another consumer claims them now."""
        if entry_ids:
            await self.redis.xclaim(
                self.stream, self.group, consumer, 0, entry_ids, idle=idle_ms, justid=True
            )

    async def ack(self, entry_ids: Iterable[str]) -> None:
        entry_ids = list(entry_ids)
        if entry_ids:
            await self.redis.xack(self.stream, self.group, *entry_ids)

    async def forget_consumer(self, consumer: str) -> None:
        """Remove a consumer that has nothing pending (its pending entries would be lost)."""
        await self.redis.xgroup_delconsumer(self.stream, self.group, consumer)

    async def pending_count(self) -> int:
        """Entries read by a consumer and not yet acknowledged; 0 before the group exists."""
        try:
            summary = await self.redis.xpending(self.stream, self.group)
        except ResponseError:  # no stream or no group yet
            return 0
        return int(summary["pending"])


def _entries(raw: list[Any]) -> list[Entry]:
    return [Entry(entry_id, parse_event(fields)) for entry_id, fields in raw]
