"""RedisRateLimiter against the real test Redis; timings are lower bounds with slack."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import warnings
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from telegram.error import NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.ratelimit import GRID_CARRY, GROUP_INTERVAL, PRIVATE_INTERVAL, RedisRateLimiter
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url


class Recorder:
    """A fake Bot API call: records when it ran and raises the queued errors first."""

    def __init__(self, *errors: BaseException, always: BaseException | None = None) -> None:
        self.times: list[float] = []
        self.errors = list(errors)
        self.always = always
        self.called = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> bool:
        self.times.append(time.monotonic())
        self.called.set()
        if self.always is not None:
            raise self.always
        if self.errors:
            raise self.errors.pop(0)
        return True


def flood(retry_after: int | timedelta) -> RetryAfter:
    # RetryAfter's own constructor reads its deprecated `retry_after`; that warning is PTB's.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(retry_after)


async def send(
    limiter: RedisRateLimiter,
    callback: Recorder,
    chat_id: int | str | None,
    endpoint: str = "sendMessage",
    rate_limit_args: int | None = None,
) -> Any:
    data = {"text": "hi"} if chat_id is None else {"chat_id": chat_id, "text": "hi"}
    return await limiter.process_request(callback, (), {}, endpoint, data, rate_limit_args)


@pytest.fixture
async def other_redis(redis_url: str, redis: Redis):
    """A second client, as another bot process would have (after `redis` flushed)."""
    client = client_from_url(redis_url)
    yield client
    await client.aclose()


async def test_private_chat_is_spaced_one_second(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    calls = Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(limiter, calls, 42) for _ in range(3)))
    times = sorted(calls.times)
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))
    assert 1.9 <= times[-1] - start < 5


async def test_other_chats_are_not_held_up(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    calls = Recorder()
    start = time.monotonic()
    await send(limiter, calls, 42)
    await send(limiter, calls, "43")
    await send(limiter, calls, -100500)
    # Held up per chat, the three would take 2 s; the slack is for a loaded CI machine.
    assert time.monotonic() - start < 1.5


async def test_intervals_per_chat_kind(redis: Redis) -> None:
    # Read the wait the script returns instead of sleeping through 3 s intervals.
    limiter = RedisRateLimiter(redis, max_rate=1000)
    private, group = PRIVATE_INTERVAL, GROUP_INTERVAL
    assert 1.0 < private < 1.5 and 3.0 < group < 4.5  # Telegram's 1 s and 3 s, and a margin
    kinds = [(42, private), (-100123, group), ("@kaltara_news", group), (-77, group)]
    for chat_id, interval in kinds:
        assert await limiter.try_acquire(chat_id) == 0
        await asyncio.sleep(0.01)  # past the overall interval of 1 ms
        wait = await limiter.try_acquire(chat_id)
        assert interval - 0.5 < wait <= interval + 0.001  # apart; slack for load
        ttl = await redis.pttl(keys.rate(chat_id))
        assert interval * 1000 < ttl <= interval * 1000 + 1000  # idle chats leave no key
    # A numeric string is the same chat as the int.
    assert await limiter.try_acquire("-100123") > 2.5


async def test_a_slot_taken_a_little_late_keeps_the_overall_grid(redis: Redis) -> None:
    """A fan-out keeps max_rate: lateness up to GRID_CARRY of an interval (a sleep's
    overshoot, a round trip) is not added to every slot; more than that counts from now."""
    limiter = RedisRateLimiter(redis, max_rate=1)  # 1 s apart; a slot may be 500 ms late
    assert GRID_CARRY == 0.5
    assert await limiter.try_acquire(1) == 0
    first = float(await redis.get(keys.rate("all")))
    await asyncio.sleep(await limiter.try_acquire(2) + 0.02)  # late by 20 ms and the sleep's
    assert await limiter.try_acquire(2) == 0
    second = float(await redis.get(keys.rate("all")))
    assert second == pytest.approx(first + 1000, abs=0.01)  # from when it was due

    await asyncio.sleep(await limiter.try_acquire(3) + 0.7)  # late by more than 500 ms
    assert await limiter.try_acquire(3) == 0
    third = float(await redis.get(keys.rate("all")))
    assert third >= second + 1700  # from now: no burst after a pause
    # The chat scope counts from now: chat 2's slot came 20 ms or more after it was due.
    chat = float(await redis.get(keys.rate(2)))
    assert chat >= first + 19 + 1000 * PRIVATE_INTERVAL


async def test_refused_acquire_reserves_nothing(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis, max_rate=1)
    assert await limiter.try_acquire(42) == 0
    assert await limiter.try_acquire(43) > 0.8  # overall scope is busy for 1 s
    assert not await redis.exists(keys.rate(43))


async def test_overall_rate_is_shared_by_processes(redis: Redis, other_redis: Redis) -> None:
    first = RedisRateLimiter(redis, max_rate=10)
    second = RedisRateLimiter(other_redis, max_rate=10)
    calls = Recorder()
    start = time.monotonic()
    await asyncio.gather(
        *(send(first, calls, 1000 + i) for i in range(10)),
        *(send(second, calls, 2000 + i) for i in range(10)),
    )
    times = sorted(calls.times)
    assert len(times) == 20
    # Grants keep the grid: at least half an interval apart, at most 11 in any 1 s.
    assert all(b - a >= 0.05 for a, b in itertools.pairwise(times))
    assert max(sum(1 for t in times if at <= t < at + 1.0) for at in times) <= 11
    assert 1.8 <= times[-1] - start < 8


async def test_retry_after_pauses_every_process(
    redis: Redis, other_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    first = RedisRateLimiter(redis)
    second = RedisRateLimiter(other_redis)
    flooded = Recorder(flood(1))
    bystander = Recorder()
    caplog.set_level(logging.WARNING, logger="bot.ratelimit")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the limiter reads retry_after without warnings
        task = asyncio.create_task(send(first, flooded, 42))
        await flooded.called.wait()
        await asyncio.sleep(0.05)  # let the 429 be recorded
        assert 0 < await redis.pttl(keys.TELEGRAM_PAUSE) <= 1000
        await send(second, bystander, 99)
        assert await task is True

    assert len(flooded.times) == 2  # one retry
    assert flooded.times[1] - flooded.times[0] >= 0.9
    assert bystander.times[0] - flooded.times[0] >= 0.9
    warning = [r for r in caplog.records if r.name == "bot.ratelimit"]
    assert len(warning) == 1
    assert "42" in warning[0].getMessage() and "1.0 s" in warning[0].getMessage()


async def test_pause_is_only_extended(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    await limiter.pause(2)
    await limiter.pause(0.5)
    assert await redis.pttl(keys.TELEGRAM_PAUSE) > 1500
    await limiter.pause(3)
    assert await redis.pttl(keys.TELEGRAM_PAUSE) > 2500
    assert await limiter.try_acquire(42) > 2.5


async def test_gives_up_after_max_retries(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis, max_retries=2)
    calls = Recorder(always=flood(timedelta(milliseconds=50)))
    with pytest.raises(RetryAfter):
        await send(limiter, calls, None)
    assert len(calls.times) == 3


async def test_rate_limit_args_override_max_retries(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis, max_retries=5)
    calls = Recorder(always=flood(timedelta(milliseconds=50)))
    with pytest.raises(RetryAfter):
        await send(limiter, calls, None, rate_limit_args=0)
    assert len(calls.times) == 1


async def test_non_sending_endpoints_pass_through(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    await limiter.pause(5)
    calls = Recorder()
    start = time.monotonic()
    for endpoint in ["getMe", "getUpdates", "getChat", "answerCallbackQuery", "sendChatAction"]:
        assert await send(limiter, calls, 42, endpoint=endpoint) is True
    assert time.monotonic() - start < 2  # the pause is 5 s
    assert not await redis.exists(keys.rate(42))


@pytest.mark.parametrize("error", [NetworkError("down"), ValueError("bad")])
async def test_other_errors_propagate(redis: Redis, error: Exception) -> None:
    limiter = RedisRateLimiter(redis)
    calls = Recorder(always=error)
    with pytest.raises(type(error)):
        await send(limiter, calls, 42)
    assert len(calls.times) == 1
    assert not await redis.exists(keys.TELEGRAM_PAUSE)


async def test_a_stop_ends_the_wait_and_reserves_nothing(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    assert await limiter.acquire(42)
    stop = asyncio.Event()
    waiting = asyncio.create_task(limiter.acquire(42, stop))  # the chat's next slot is 1 s off
    await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(waiting, 0.5) is False
    assert await limiter.acquire(43, stop) is False  # stopped: no slot even when one is free
    assert not await redis.exists(keys.rate(43))


async def test_senders_of_one_process_take_turns_asking_redis(redis: Redis) -> None:
    """A fan-out asks Redis about once per slot, not once per waiting sender per slot."""
    limiter = RedisRateLimiter(redis, max_rate=20)
    before = await _script_calls(redis)
    start = time.monotonic()
    await asyncio.gather(*(limiter.acquire(5000 + i) for i in range(20)))
    assert time.monotonic() - start >= 0.9  # 20 slots at 20/s
    asked = await _script_calls(redis) - before
    assert asked < 20 * 3, f"{asked} acquire scripts for 20 slots"


async def _script_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))
