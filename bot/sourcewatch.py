"""Telling the admins about sources in trouble: the I/O around bot/source_alerts.py.

Every bot process looks every few minutes at each source's status and publishing
dates, decides (source_alerts.py, pure) and tells each of `telegram.admins` through the push
send path (the same limiter, and a ledger entry per message, so an admin gets each
message once). State in Redis, shared by the bot processes:
- `keys.source_alert(name)`: the trouble the admins were told of (and when), and
  when a source that never succeeded was first seen failing;
- `keys.source_alert_day(name)`: set for a day by an alert; while it is there no
  other alert of that source is sent (one a day at most, even for a flapping source).
  The recovery follows its alert once: the process that clears the told trouble sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import source_alerts as alerts
from bot.delivery.push import Message, Pusher
from bot.source_alerts import Tell
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import SourceStatus
from feedsvc.storage import history, keys

log = logging.getLogger(__name__)

LOOK_EVERY = 300.0  # seconds between looks
DAY_S = 86_400

# KEYS[1]: a source's alert-day key; ARGV: now (s), a day (s). Takes the day when the
# last alert (the value) is a day old or none is there; 1 when taken. The time is the
# caller's, so decisions follow the clock they are made on; the key expires after two.
_ONCE_A_DAY = """
local last = tonumber(redis.call('GET', KEYS[1]) or '')
if last and tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', 2 * tonumber(ARGV[2]))
return 1
"""


class SourceWatch:
    def __init__(
        self,
        redis: Redis,
        sources: SourceRegistry,
        pusher: Pusher,
        admins: tuple[int, ...],
        alert_after_hours: float,
        *,
        stop: asyncio.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.redis = redis
        self.sources = sources
        self.pusher = pusher
        self.admins = [str(a) for a in admins]
        self.after = alert_after_hours
        self.stop = stop or asyncio.Event()
        self.clock = clock
        self._once_a_day = redis.register_script(_ONCE_A_DAY)

    async def run(self) -> None:
        """Look until `stop` is set; nothing to do without admins."""
        if not self.admins:
            return
        while not self.stop.is_set():
            try:
                await self.look(self.clock())
            except RedisError as exc:
                log.warning("source alerts wait for Redis: %s", exc)
            except Exception:  # a bug here must not stop the pushes beside it
                log.exception("source alerts failed; looking again in %.0f s", LOOK_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), LOOK_EVERY)

    async def look(self, now: datetime) -> list[tuple[str, Tell]]:
        """Decide for every source and tell the admins; returns what was told."""
        names = [s.name for s in await self.sources.all()]
        told = []
        for status in await self.sources.statuses(names):
            if status.last_poll is None:
                continue  # never polled: nothing to judge
            tell = await self._look_at(status, now)
            if tell is not Tell.NOTHING:
                told.append((status.name, tell))
        return told

    async def _look_at(self, status: SourceStatus, now: datetime) -> Tell:
        key = keys.source_alert(status.name)
        state = await self.redis.hgetall(key)
        first_seen = _time(state.get("first_failing"))
        if status.failures and status.last_success is None and first_seen is None:
            await self.redis.hsetnx(key, "first_failing", str(now.timestamp()))
            first_seen = now
        elif not status.failures and "first_failing" in state:
            await self.redis.hdel(key, "first_failing")
        since = alerts.failing_since(status, first_seen)
        posted = await history.posted(self.redis, status.name)
        health = alerts.health(status, posted, now, self.after, since)
        tell = alerts.what_to_tell(health, state.get("told"))
        if tell is Tell.ALERT:
            day = keys.source_alert_day(status.name)
            if not await self._once_a_day(keys=[day], args=[int(now.timestamp()), DAY_S]):
                return Tell.NOTHING  # told of this source within a day already
            await self.redis.hset(
                key, mapping={"told": health.state, "at": str(int(now.timestamp()))}
            )
            text = alerts.alert_text(status.name, health, status)
            await self._tell(f"alert-{status.name}-{int(now.timestamp())}", text)
            log.warning("source %s is %s; admins told", status.name, health.state)
        elif tell is Tell.RECOVERED:
            told, at = state["told"], state.get("at", "0")
            if not await self.redis.hdel(key, "told"):
                return Tell.NOTHING  # another process got there first
            await self._tell(
                f"recovered-{status.name}-{at}", alerts.recovered_text(status.name, told)
            )
            log.info("source %s recovered; admins told", status.name)
        return tell

    async def _tell(self, ledger_id: str, text: str) -> None:
        await self.pusher.fan_out(Message(ledger_id, text), self.admins)


def _time(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value else None
