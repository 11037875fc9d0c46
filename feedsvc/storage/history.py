"""Each source's recent publishing dates, for telling a silent source from a quiet one.

The store notes the published time of every article a source adds (a sorted set per
source, `keys.source_posted`, the newest `KEPT` only) right after its upsert. It is a
record for the admins' alerts, not part of the article's atomic write: a note lost to
a failure in between costs one date of history, never an article.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from redis.asyncio import Redis

from feedsvc.storage import keys

KEPT = 50  # dates per source: enough for a usual gap, small enough to read at once


async def note_posted(redis: Redis, posts: Iterable[tuple[str, str, int]]) -> None:
    """Note (source, article id, published ms) triples of newly stored articles."""
    by_source: dict[str, dict[str, int]] = {}
    for source, article_id, score in posts:
        by_source.setdefault(source, {})[article_id] = score
    if not by_source:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for source, scores in by_source.items():
            pipe.zadd(keys.source_posted(source), scores)
            pipe.zremrangebyrank(keys.source_posted(source), 0, -KEPT - 1)
        await pipe.execute()


async def posted(redis: Redis, source: str) -> list[datetime]:
    """The source's newest publishing dates, oldest first."""
    found = await redis.zrange(keys.source_posted(source), 0, -1, withscores=True)
    return [datetime.fromtimestamp(score / 1000, UTC) for _, score in found]
