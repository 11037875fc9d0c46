"""The delivery ledger: which chat got which article, kept in Redis across restarts.

One hash per article (`keys.sent`), one field per chat. A chat's field is
written once, when its request is about to leave (`claim`: "sending" and the
claimer's token), and then holds the outcome (`record`): `sent <message id> <kind>
<unix time>` (kind `text` or `photo`; older records have the id alone),
`refused`, `gone`, `topic_gone` (a closed forum topic), `moved <new chat id>`,
`failed` or `in_doubt`. A claim whose
process died before recording stays "sending": that request was on the wire, so
it counts as in doubt and is never sent again. A send that certainly did not
happen gives its claim back (`release`) and may be claimed again.

The message id, kind and time kept with `sent` are what later edits of the message
need: which method edits it (editMessageText or editMessageCaption), and whether it
is recent enough to correct.
Records expire a week after the article's last claim, longer than any event
stays pending.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from feedsvc.storage import keys

TTL_MS = int(timedelta(days=7).total_seconds() * 1000)
SENDING = "sending"

# KEYS[1]: the article's hash; ARGV: chat, claim value, ttl ms. Sets the field
# unless it exists; returns what the field holds afterwards.
_CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return ARGV[2]
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""

# KEYS[1]: the article's hash; ARGV: chat, the claim value that may be removed.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Record:
    """One chat's line in the ledger."""

    state: str  # "sending", "sent", "refused", "gone", "moved", "failed", "in_doubt"
    detail: str = ""  # the message id of "sent", the new chat of "moved", the claimer's token

    @classmethod
    def parse(cls, value: str) -> Record:
        state, _, detail = value.partition(" ")
        return cls(state, detail)

    def __str__(self) -> str:
        return f"{self.state} {self.detail}" if self.detail else self.state

    @classmethod
    def sent(cls, message_id: object, photo: bool, at: datetime) -> Record:
        kind = "photo" if photo else "text"
        return cls("sent", f"{message_id} {kind} {int(at.timestamp())}")

    @property
    def message_id(self) -> int | None:
        first = self.detail.split(" ", 1)[0]
        return int(first) if self.state == "sent" and first.isdigit() else None

    @property
    def photo(self) -> bool:
        """A photo with a caption (edited with editMessageCaption), not a text message."""
        return self.detail.split(" ")[1:2] == ["photo"]

    @property
    def sent_at(self) -> datetime | None:
        """When the message was sent; None on records from before times were kept."""
        parts = self.detail.split(" ")
        if self.state != "sent" or len(parts) < 3 or not parts[2].isdigit():
            return None
        return datetime.fromtimestamp(int(parts[2]), UTC)


class Ledger:
    """Claims and outcomes; `owner` tells this process's claims from others'."""

    def __init__(self, redis: Redis, owner: str) -> None:
        self.redis = redis
        self.owner = owner
        self._tokens = itertools.count(1)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    def new_claim(self) -> Record:
        """A claim of this process, not yet taken; each is different."""
        return Record(SENDING, f"{self.owner}:{next(self._tokens)}")

    async def get(self, article_id: str, chat: str) -> Record | None:
        """The chat's record for this article (claimed, or an outcome), None if none."""
        value = await self.redis.hget(keys.sent(article_id), chat)
        return Record.parse(value) if value is not None else None

    async def claim(self, article_id: str, chat: str, mine: Record) -> bool:
        """Take the chat right before its request leaves; False when it was taken before.

        Safe to repeat after a lost reply: a claim already ours is still ours.
        """
        now = await self._claim(keys=[keys.sent(article_id)], args=[chat, str(mine), TTL_MS])
        return now == str(mine)

    async def record(self, article_id: str, chat: str, outcome: Record) -> None:
        await self.redis.hset(keys.sent(article_id), chat, str(outcome))

    async def release(self, article_id: str, chat: str, claim: Record) -> None:
        """Give a claim back: its message was certainly not sent."""
        await self._release(keys=[keys.sent(article_id)], args=[chat, str(claim)])

    async def records(self, article_id: str) -> dict[str, Record]:
        found = await self.redis.hgetall(keys.sent(article_id))
        return {chat: Record.parse(value) for chat, value in found.items()}

    async def message_ids(self, article_id: str) -> dict[str, int]:
        """The message each chat got for this article, by chat (for edits)."""
        return {
            chat: record.message_id
            for chat, record in (await self.records(article_id)).items()
            if record.message_id is not None
        }
