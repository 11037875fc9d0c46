"""Long polling by one bot process at a time.

Telegram answers a second concurrent getUpdates with 409 Conflict, yet several
bot processes may run (they share the pushes). A lease in Redis picks the one
that polls; the others take over when it stops renewing (a crash) or lets go
(a clean stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from feedsvc.storage import keys
from feedsvc.storage.connection import raise_if_cancelled

log = logging.getLogger(__name__)

LEASE_MS = 30_000
RENEW_EVERY = 10.0  # seconds; three chances to renew before the lease runs out
POLL_TIMEOUT = timedelta(seconds=30)  # one open getUpdates at a time, answered on news
# Between two getUpdates: nothing against Telegram, which holds each call open, but
# a Bot API server that answers at once is then asked 10 times a second, not 1,000.
POLL_PAUSE = 0.1

_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PollingLease:
    def __init__(self, redis: Redis) -> None:
        self.token = secrets.token_hex(8)
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)

    async def hold(self) -> bool:
        """Take the lease, or renew it when it is ours; False when another has it."""
        return bool(await self._hold(keys=[keys.TELEGRAM_POLLER], args=[self.token, LEASE_MS]))

    async def release(self) -> None:
        await self._release(keys=[keys.TELEGRAM_POLLER], args=[self.token])


async def poll_while_leading(application: Application, redis: Redis) -> None:
    """Poll Telegram whenever this process holds the lease; runs until cancelled."""
    lease, updater = PollingLease(redis), application.updater
    try:
        while True:
            try:
                leading = await lease.hold()
            except RedisError:
                leading = updater.running  # keep doing what we do until Redis answers
            raise_if_cancelled()
            try:
                await _follow(application, leading)
            except TelegramError as exc:
                log.warning("cannot start polling Telegram (%s); trying again", exc)
            await asyncio.sleep(RENEW_EVERY)
    finally:
        if updater.running:
            await updater.stop()
        with contextlib.suppress(RedisError):
            await lease.release()


async def _follow(application: Application, leading: bool) -> None:
    updater = application.updater
    if leading and not updater.running:
        try:
            await application.bot.delete_webhook()  # getUpdates is refused while one is set
        except TelegramError as exc:
            log.warning("could not remove a webhook before polling: %s", exc)
        await updater.start_polling(
            poll_interval=POLL_PAUSE,
            timeout=POLL_TIMEOUT,
            allowed_updates=Update.ALL_TYPES,
            error_callback=_poll_error,
        )
        log.info("this process polls Telegram for updates")
    elif not leading and updater.running:
        await updater.stop()
        log.info("another bot process polls Telegram now")


def _poll_error(exc: TelegramError) -> None:
    log.warning("Telegram getUpdates failed: %s", exc)
