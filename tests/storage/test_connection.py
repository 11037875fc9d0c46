"""The service's Redis clients: a command that timed out is not sent a second time."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from feedsvc.storage.connection import client_from_url

# Holds the server for `ms` milliseconds, then counts one run.
SLOW_INCR = """
local start = redis.call('TIME')
local function ms(t) return t[1] * 1000 + math.floor(t[2] / 1000) end
while ms(redis.call('TIME')) - ms(start) < tonumber(ARGV[1]) do end
return redis.call('INCR', KEYS[1])
"""


async def test_a_command_that_timed_out_runs_once(redis_url: str) -> None:
    client = client_from_url(redis_url, timeout=0.2)
    try:
        await client.delete("{news}:test:runs")
        started = asyncio.get_running_loop().time()
        with pytest.raises(RedisTimeoutError):
            await client.eval(SLOW_INCR, 1, "{news}:test:runs", 600)
        waited = asyncio.get_running_loop().time() - started
        await asyncio.sleep(1.0)  # a resent script would have run by now
        assert await client.get("{news}:test:runs") == "1"
        assert waited < 0.5  # one timeout, not one per retry
    finally:
        await client.aclose()
