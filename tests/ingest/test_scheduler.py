from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis

from feedsvc.ingest.poller import SYNC_EVERY, Poller, Schedule, due_text
from feedsvc.ingest.schedule import (
    MAX_BACKOFF,
    first_poll,
    next_poll_after_failure,
    next_poll_after_success,
)
from feedsvc.models import Source, SourceStatus
from feedsvc.storage import keys

NOW = 1_800_000_000.0


def test_success_uses_interval_with_jitter() -> None:
    assert next_poll_after_success(NOW, 300, 0.5) == NOW + 300
    assert next_poll_after_success(NOW, 300, 0.0) == pytest.approx(NOW + 270)
    assert next_poll_after_success(NOW, 300, 1.0) == pytest.approx(NOW + 330)


def test_server_hints_are_floors_but_capped_at_a_day() -> None:
    assert next_poll_after_success(NOW, 300, 0.5, lower_bound=3600) == NOW + 3600
    assert next_poll_after_success(NOW, 300, 0.5, lower_bound=60) == NOW + 300
    assert next_poll_after_success(NOW, 300, 0.5, lower_bound=10**9) == NOW + MAX_BACKOFF


def test_failures_back_off_exponentially_to_a_day() -> None:
    delays = [next_poll_after_failure(NOW, 300, n, 0.5) - NOW for n in range(1, 12)]
    assert delays[:5] == [300, 600, 1200, 2400, 4800]
    assert delays[-1] == MAX_BACKOFF
    assert next_poll_after_failure(NOW, 300, 1, 0.5, retry_after=7200) == NOW + 7200


@given(
    interval=st.floats(0.001, 10 * MAX_BACKOFF),
    failures=st.integers(1, 10_000),
    rand=st.floats(0, 1),
)
def test_backoff_never_exceeds_the_cap_nor_stops(
    interval: float, failures: int, rand: float
) -> None:
    delay = next_poll_after_failure(NOW, interval, failures, rand) - NOW
    assert 0 < delay <= MAX_BACKOFF


def test_first_polls_spread_over_at_most_thirty_seconds() -> None:
    assert first_poll(NOW, 300, 1.0) == NOW + 30
    assert first_poll(NOW, 5, 1.0) == NOW + 5


def sources(n: int) -> list[Source]:
    return [Source(f"s{i}", f"https://x{i}.example/feed/", interval=300) for i in range(n)]


async def test_two_workers_never_claim_the_same_source(redis: Redis) -> None:
    a, b = Schedule(redis), Schedule(redis)
    await a.sync(sources(200), NOW - 100, lambda: 0.0)
    claims = await asyncio.gather(*(w.claim(NOW, 300, 7) for w in (a, b) for _ in range(20)))
    claimed = [name for batch in claims for name in batch]
    assert len(claimed) == len(set(claimed)) == 200
    # Once claimed, nothing is due until the lease runs out.
    assert await a.claim(NOW + 299, 300, 1000) == []
    assert len(await b.claim(NOW + 301, 300, 1000)) == 200


async def test_only_the_claimant_sets_the_next_poll(redis: Redis) -> None:
    a, b = Schedule(redis), Schedule(redis)
    await a.sync(sources(1), NOW - 1, lambda: 0.0)
    assert await a.claim(NOW, 300, 10) == ["s0"]
    assert not await b.finish("s0", NOW + 5)
    assert await a.finish("s0", NOW + 600)
    assert await redis.zscore(keys.SCHEDULE_DUE, "s0") == NOW + 600


async def test_schedule_survives_restart_and_forgets_removed_sources(redis: Redis) -> None:
    first = Schedule(redis)
    await first.sync(sources(3), NOW, lambda: 0.0)
    await first.claim(NOW, 300, 10)
    for name in ("s0", "s1", "s2"):
        await first.finish(name, NOW + 1000)
    restarted = Schedule(redis)
    await restarted.sync(sources(2), NOW + 10, lambda: 0.0)
    due = dict(await redis.zrange(keys.SCHEDULE_DUE, 0, -1, withscores=True))
    assert due == {"s0": NOW + 1000, "s1": NOW + 1000}


async def test_poller_polls_due_sources_and_reschedules(redis: Redis) -> None:
    clock = [NOW]
    polled: list[str] = []

    async def poll(source: Source, status: SourceStatus) -> SourceStatus:
        polled.append(source.name)
        return SourceStatus(source.name, next_poll=clock[0] + source.interval)

    async def list_sources() -> list[Source]:
        return sources(5)

    async def load(name: str) -> SourceStatus:
        return SourceStatus(name)

    poller = Poller(
        Schedule(redis),
        list_sources,
        poll,
        load,
        timeout=5,
        clock=lambda: clock[0],
        rand=lambda: 0.0,
    )
    task = asyncio.create_task(poller.run())
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(polled) == 5:
            break
    assert sorted(polled) == [f"s{i}" for i in range(5)]
    await asyncio.sleep(0.1)
    assert len(polled) == 5  # nothing is due again before its interval
    clock[0] += 301
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(polled) == 10:
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert len(polled) == 10


async def test_a_crashing_poll_hands_its_claim_back_with_the_failure_backoff(
    redis: Redis, caplog
) -> None:
    calls = 0
    saved: list[SourceStatus] = []

    async def poll(source: Source, status: SourceStatus) -> SourceStatus:
        nonlocal calls
        calls += 1
        raise RuntimeError("bug")

    async def list_sources() -> list[Source]:
        return sources(2)

    async def load(name: str) -> SourceStatus:
        return SourceStatus(name, failures=2)

    async def save(status: SourceStatus) -> None:
        saved.append(status)

    clock = [NOW]
    poller = Poller(
        Schedule(redis), list_sources, poll, load, timeout=5, save_status=save,
        clock=lambda: clock[0], rand=lambda: 0.0,
    )  # fmt: skip
    task = asyncio.create_task(poller.run())
    for _ in range(100):
        await asyncio.sleep(0.02)
        # Saved, then handed back: wait for both, or the cancel hands the claims back.
        if len(saved) == 2 and not await redis.hlen(keys.SCHEDULE_OWNER):
            break
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert calls == 2
    # Third failure in a row: 4 x the 300 s interval, x 0.75 with rand 0; not the lease.
    due = dict(await redis.zrange(keys.SCHEDULE_DUE, 0, -1, withscores=True))
    assert due == {"s0": NOW + 900, "s1": NOW + 900}
    assert not await redis.hgetall(keys.SCHEDULE_OWNER)
    assert {(s.name, s.failures, s.next_poll) for s in saved} == {
        ("s0", 3, NOW + 900),
        ("s1", 3, NOW + 900),
    }
    assert saved[0].last_error == "poll crashed: RuntimeError: bug"
    crashes = [r for r in caplog.records if "poll crashed" in r.getMessage()]
    assert sorted(r.source for r in crashes) == ["s0", "s1"]
    for record in crashes:
        assert record.getMessage().startswith(f"source {record.source}: poll crashed")
        assert record.exc_info and "RuntimeError: bug" in caplog.text


async def test_stop_lets_quick_polls_finish_and_hands_slow_ones_back(redis: Redis) -> None:
    started: set[str] = set()

    async def poll(source: Source, status: SourceStatus) -> SourceStatus:
        started.add(source.name)
        await asyncio.sleep(0.1 if source.name == "s0" else 3600)
        return SourceStatus(source.name, next_poll=NOW + 300)

    async def list_sources() -> list[Source]:
        return sources(2)

    async def load(name: str) -> SourceStatus:
        return SourceStatus(name)

    clock = [NOW]
    poller = Poller(
        Schedule(redis), list_sources, poll, load, timeout=5,
        clock=lambda: clock[0], rand=lambda: 0.0,
    )  # fmt: skip
    task = asyncio.create_task(poller.run())
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(started) == 2:
            break
    poller.stop()
    await asyncio.wait_for(task, 2)
    clock[0] += 1
    await asyncio.wait_for(poller.drain(grace=1.0), 3)
    due = dict(await redis.zrange(keys.SCHEDULE_DUE, 0, -1, withscores=True))
    assert due == {"s0": NOW + 300, "s1": NOW + 1}  # s1 due at once, not after the lease
    assert not await redis.hgetall(keys.SCHEDULE_OWNER)
    assert not poller.tasks


async def test_a_cancelled_poller_hands_its_claims_back(redis: Redis) -> None:
    async def poll(source: Source, status: SourceStatus) -> SourceStatus:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def list_sources() -> list[Source]:
        return sources(3)

    async def load(name: str) -> SourceStatus:
        return SourceStatus(name)

    poller = Poller(
        Schedule(redis), list_sources, poll, load, timeout=5,
        clock=lambda: NOW, rand=lambda: 0.0,
    )  # fmt: skip
    task = asyncio.create_task(poller.run())
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(poller.tasks) == 3:
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    due = dict(await redis.zrange(keys.SCHEDULE_DUE, 0, -1, withscores=True))
    assert due == {"s0": NOW, "s1": NOW, "s2": NOW}
    assert not await redis.hgetall(keys.SCHEDULE_OWNER)


def test_due_text_names_the_source_and_the_wita_time() -> None:
    # NOW is 2027-01-15 08:00:00 UTC, 16:00 WITA.
    assert due_text("antara", NOW + 250, NOW) == "antara at 16:04:10 WITA (in 4.2m)"
    assert due_text("antara", NOW - 5, NOW) == "antara now"


async def test_the_poller_says_once_what_it_will_poll_and_when(redis: Redis, caplog) -> None:
    clock = [NOW]
    polled: list[str] = []

    async def poll(source: Source, status: SourceStatus) -> SourceStatus:
        polled.append(source.name)
        return SourceStatus(source.name, next_poll=clock[0] + source.interval)

    async def list_sources() -> list[Source]:
        return sources(3)

    async def load(name: str) -> SourceStatus:
        return SourceStatus(name)

    rands = iter([0.5, 0.2, 0.9] + [0.0] * 100)
    poller = Poller(
        Schedule(redis), list_sources, poll, load, timeout=5,
        clock=lambda: clock[0], rand=lambda: next(rands),
    )  # fmt: skip
    caplog.set_level("INFO", logger="feedsvc.ingest.poller")
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.1)
    clock[0] += SYNC_EVERY + 30  # every source due, and a second sync of the list
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(polled) == 3:
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert sorted(polled) == ["s0", "s1", "s2"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("polling ")]
    # s1 is first: 0.2 x 30 s after the start, 16:00:06 WITA.
    assert lines == ["polling 3 sources; first due: s1 at 16:00:06 WITA (in 6s)"]
