"""A worker SIGKILLed mid-poll: its claim holds for the lease, then another takes over."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from feedsvc.storage import keys
from feedsvc.storage.store import Store
from tests.fakes.site import Item, Page, rss
from tests.faults.harness import Fleet, assert_logs_clean, config_text, until

NOW = datetime.now(UTC)
LEASE = 4.0  # poll.lease; poll.timeout 0.5 keeps it at that (8 x 0.5)


async def test_a_worker_killed_mid_poll_hands_over_after_the_lease(
    site, redis: Redis, redis_url: str, fleet: Fleet
) -> None:
    news = [Item(f"Berita {i}", f"{site.base}/a/{i}/", NOW - timedelta(hours=i)) for i in range(4)]
    site.routes["/feed/"] = Page(rss(news), delay=3600)  # the first poll never ends
    fleet.config.write_text(
        config_text(
            redis_url,
            {"lambat": site.url("/feed/")},
            poll=f"timeout = 0.5\nlease = {LEASE}\n",
        )
    )
    await fleet.start("a", "worker")
    assert await until(lambda: bool(site.hits_for("/feed/")), 60), "worker a never polled"
    claimed = time.monotonic()
    owner = await redis.hget(keys.SCHEDULE_OWNER, "lambat")
    assert owner, "the poll in flight holds no claim"
    site.routes["/feed/"] = Page(rss(news))  # answers at once from now on
    assert await fleet.stop("a", signal.SIGKILL) == -signal.SIGKILL

    await fleet.start("b", "worker")
    assert await until(lambda: len(site.hits_for("/feed/")) >= 2, 60), "nobody took over"
    took_over = time.monotonic() - claimed
    # Not before the lease ran out (the claim was taken a little before the hit),
    # and not much after: b looks every second.
    assert LEASE - 0.5 <= took_over <= LEASE + 20, took_over
    assert await until(lambda: _count_is(redis, len(news)), 30)
    assert await redis.hget(keys.SCHEDULE_OWNER, "lambat") != owner

    stored = [a.link for a in await Store(redis).list(None, limit=100)]
    assert sorted(stored) == sorted(i.link for i in news), "lost or doubled"
    assert await fleet.stop("b") == 0
    assert_logs_clean(fleet.lines())


async def _count_is(redis: Redis, n: int) -> bool:
    return await Store(redis).count() == n
