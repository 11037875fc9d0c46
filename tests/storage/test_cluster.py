"""Redis Cluster specifics: which keys share a slot, and the cluster client itself."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from bot.ratelimit import RedisRateLimiter
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url


def slot(key: str) -> int:
    return key_slot(key.encode())


def test_every_script_and_multi_key_command_stays_in_one_slot() -> None:
    """The upsert script, the rate limiter, the schedule and fan-out each touch one slot."""
    news = [
        keys.article("a1"), keys.link("l1"), keys.category("kaltara"), keys.category(None),
        keys.CATEGORY_NAMES, keys.VERSIONS, keys.EVENTS,
    ]  # fmt: skip
    telegram = [
        keys.subscribers("kaltara"), keys.subscribers("all"), keys.chat_subscriptions(-1001),
        keys.sent("a1"), keys.rate("all"), keys.rate(42), keys.rate("@kanal"),
        keys.TELEGRAM_PAUSE, keys.TELEGRAM_POLLER,
    ]  # fmt: skip
    schedule = [keys.SCHEDULE_DUE, keys.SCHEDULE_OWNER]
    source = [keys.source_status("jurnal"), keys.source_seen("jurnal")]
    for group in (news, telegram, schedule, source):
        assert len({slot(k) for k in group}) == 1, group
    # Sources spread: each has its own tag.
    assert slot(keys.source_status("jurnal")) != slot(keys.source_status("antara"))


def test_a_cluster_url_may_name_several_startup_nodes() -> None:
    client = client_from_url("redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3")
    assert isinstance(client, RedisCluster)
    names = {node.name for node in client.startup_nodes}
    assert names == {"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:6379"}
    assert all(n.connection_kwargs["password"] == "s3cret" for n in client.startup_nodes)


async def test_a_fresh_cluster_client_takes_concurrent_scripts(cluster_redis_url: str) -> None:
    """The first commands of a new client are redirected (MOVED) while it learns the slots;
    many at once must still all succeed (redis-py used to close in-use connections)."""
    for _ in range(10):
        first, second = client_from_url(cluster_redis_url), client_from_url(cluster_redis_url)
        try:
            limiters = [RedisRateLimiter(c, max_rate=1000) for c in (first, second)]
            waits = await asyncio.gather(
                *(limiters[i % 2].try_acquire(5000 + i) for i in range(20))
            )
        finally:
            await first.aclose()
            await second.aclose()
        assert len(waits) == 20


@pytest.mark.parametrize("redis_backend", ["cluster"], indirect=True)
async def test_the_session_cluster_has_three_masters(redis: RedisCluster) -> None:
    primaries = redis.get_primaries()
    assert len(primaries) == 3
    info = await redis.cluster_info()
    assert info["cluster_state"] == "ok" and int(info["cluster_slots_ok"]) == 16384
