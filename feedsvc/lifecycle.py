"""Long-lived resources as aiohttp cleanup contexts, and the process runner.

Each resource gets its own context, registered in start order by `make_app`;
aiohttp cleans up only what started, in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.app import build_application, run_bot
from feedsvc import appkeys
from feedsvc.config import Settings
from feedsvc.httpserver import server_options
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.parsepool import ParsePool
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import Poller, Schedule
from feedsvc.logs import AccessLog
from feedsvc.publish.categories import configured_names
from feedsvc.publish.websub import WebSubPinger
from feedsvc.shutdown import Shutdown
from feedsvc.storage import keys
from feedsvc.storage.connection import check_cluster, client_from_url, redact_url, unix_client
from feedsvc.storage.embedded import EmbeddedRedis, EmbeddedRedisError
from feedsvc.storage.store import Store

log = logging.getLogger(__name__)
REDIS_CONNECT_TIMEOUT = 10.0
DRAIN_RESERVE = 3.0  # seconds of the shutdown timeout kept for the parts stopped after the bot


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the user, `code` the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@contextlib.asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    """A checked Redis client and its mode; starts (or attaches to) the embedded server.

    CLI commands use this directly; the web app through `redis_ctx`.
    """
    server, supervisor = None, None
    if settings.redis.url:
        client, mode = client_from_url(settings.redis.url, settings.redis.timeout), "external"
        # Named with where it was set: a REDIS_URL left in the shell is easy to miss.
        where = f"{redact_url(settings.redis.url)} (from {settings.origin('redis.url')})"
    else:
        server = EmbeddedRedis(settings.redis.data_dir)
        try:
            await server.start()
        except EmbeddedRedisError as exc:
            raise StartupError(str(exc)) from None
        client = unix_client(str(server.socket_path), settings.redis.timeout)
        where, mode = server.url, "embedded"
        supervisor = asyncio.create_task(server.supervise(), name="embedded-redis")
    try:
        await _check_reachable(client, where)
        yield client, mode
    finally:
        await client.aclose()
        if server is not None:
            await server.stop()  # ends the supervisor's watch too
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The embedded server (when no URL is set), then the client and the store."""
    settings = app[appkeys.SETTINGS]
    async with open_redis(settings) as (client, mode):
        app[appkeys.REDIS] = client
        app[appkeys.REDIS_MODE] = mode
        app[appkeys.STORE] = Store.from_settings(client, settings.store)
        # Configured categories have their (empty) feeds before any article.
        await app[appkeys.STORE].declare(configured_names(settings))
        # One-shot commands run elsewhere point at this file when they use another.
        await client.set(keys.SERVICE_CONFIG, config_path(settings))
        yield


def config_path(settings: Settings) -> str:
    """The absolute path of the config file, "" for built-in defaults."""
    return str(Path(settings.path).resolve()) if settings.path else ""


async def _check_reachable(client: Redis, where: str) -> None:
    if isinstance(client, RedisCluster):
        await _check_cluster(client, where)
        return
    try:
        async with asyncio.timeout(REDIS_CONNECT_TIMEOUT):
            await client.ping()
    except TimeoutError:
        why = f"did not answer within {REDIS_CONNECT_TIMEOUT:.0f}s"
        raise StartupError(f"Redis at {where} {why}") from None
    except Exception as exc:
        raise StartupError(f"cannot reach Redis at {where}: {exc}") from None


async def _check_cluster(client: RedisCluster, where: str) -> None:
    # A cluster URL that cannot work (no node answers, slots not all served) is bad
    # input, exit 2; once it has worked, an outage is ridden out like any other.
    try:
        async with asyncio.timeout(REDIS_CONNECT_TIMEOUT):
            problem = await check_cluster(client)
    except TimeoutError:
        problem = f"no answer within {REDIS_CONNECT_TIMEOUT:.0f}s"
    except Exception as exc:
        problem = str(exc)
    if problem:
        raise StartupError(f"Redis Cluster at {where} cannot be used: {problem}", code=2)


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    """The one outgoing HTTP session of the process."""
    session = new_session(app[appkeys.SETTINGS].user_agent)
    app[appkeys.HTTP] = session
    try:
        yield
    finally:
        await session.close()


async def websub_ctx(app: web.Application) -> AsyncIterator[None]:
    """Publish pings to the configured WebSub hub, in the background."""
    settings = app[appkeys.SETTINGS]
    if not settings.feeds.websub_hub:
        yield
        return
    pinger = WebSubPinger(app[appkeys.HTTP], settings)
    app[appkeys.WEBSUB] = pinger
    task = asyncio.create_task(pinger.run(), name="websub")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def changed_callback(app: web.Application) -> Callable[[set[str | None]], None] | None:
    pinger = app.get(appkeys.WEBSUB)
    return pinger.notify if pinger is not None else None


async def poller_ctx(app: web.Application) -> AsyncIterator[None]:
    """Poll every source on its schedule until the process stops."""
    settings = app[appkeys.SETTINGS]
    redis, store = app[appkeys.REDIS], app[appkeys.STORE]
    pool = parse_pool(settings)
    ingestor = Ingestor.from_settings(
        settings, redis, app[appkeys.HTTP], store=store, on_change=changed_callback(app),
        parse_pool=pool,
    )  # fmt: skip
    registry = ingestor.registry
    poller = Poller(
        Schedule(redis), registry.all, ingestor.poll_and_record, registry.status,
        timeout=settings.poll.timeout, lease=settings.poll.lease,
        save_status=registry.save_status,
    )  # fmt: skip
    if not settings.sources and not await redis.hlen(keys.SOURCES):
        log.warning("no sources yet: add some to the config or with `feedsvc sources add`")
    shutdown = app[appkeys.SHUTDOWN]
    task = asyncio.create_task(poller.run(), name="poller")
    stop_on_shutdown = asyncio.create_task(_call_on(shutdown, poller.stop))
    app[appkeys.POLLER] = task
    try:
        yield
    finally:
        stop_on_shutdown.cancel()
        poller.stop()
        await asyncio.wait({task}, timeout=1.0)  # the loop ends once it sees the stop
        task.cancel()
        await asyncio.gather(task, stop_on_shutdown, return_exceptions=True)
        await poller.drain(min(POLL_GRACE, shutdown.time_left() / 4))
        if pool is not None:
            pool.shutdown(wait=False)


POLL_GRACE = 3.0  # seconds polls in flight may take to finish at a stop


async def _call_on(shutdown: Shutdown, stop: Callable[[], None]) -> None:
    await shutdown.wait()
    stop()


def parse_pool(settings: Settings) -> ParsePool | None:
    """Processes for parsing large feeds: every core, no event-loop stalls, bounded memory.

    Workers start on first use, so a service whose feeds are all small never
    starts one.
    """
    if settings.poll.parse_processes <= 0:
        return None
    return ParsePool(settings.poll.parse_processes, memory_mb=settings.poll.parse_memory_mb)


async def bot_ctx(app: web.Application) -> AsyncIterator[None]:
    """The Telegram bot and its pushes, when a token is configured (said once if not)."""
    settings = app[appkeys.SETTINGS]
    if not settings.telegram.token:
        log.info("Telegram bot disabled: no telegram.token (or TELEGRAM_BOT_TOKEN) set")
        yield
        return
    application = build_application(settings, app[appkeys.REDIS], app[appkeys.STORE])
    app[appkeys.BOT] = application
    metrics, shutdown = app[appkeys.METRICS], app[appkeys.SHUTDOWN]
    task = asyncio.create_task(
        run_bot(application, settings, app[appkeys.REDIS], metrics, stop=shutdown.event)
    )
    try:
        yield
    finally:
        # Pushes drain: sends on the wire finish, the rest is handed back to the next
        # process; what still runs when the budget is spent is cancelled.
        shutdown.begin()
        budget = max(0.0, shutdown.time_left() - min(DRAIN_RESERVE, shutdown.timeout / 4))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), budget)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def serve(
    app: web.Application, host: str | None, port: int | None, *, reuse_port: bool = False
) -> int:
    """Start everything, listen when `host` is given, stop on SIGINT/SIGTERM; the exit code.

    The first signal begins the orderly stop (`app[SHUTDOWN]`): no new connections,
    in-flight requests get a short grace, then every part stops in reverse start
    order, the embedded Redis last; 0 when done. The stop has
    `service.shutdown_timeout` in all: past it the process exits anyway with 1. A
    second signal exits at once with 128 + its number.
    """
    shutdown = app[appkeys.SHUTDOWN]
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, _first_signal, loop, sig, shutdown, signalled)
    grace = min(HTTP_GRACE, shutdown.timeout / 3)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        shutdown_timeout=grace,
        access_log_class=AccessLog,
        **server_options(app[appkeys.SETTINGS]),
    )
    try:
        await runner.setup()
        if host is not None:
            await _listen(runner, host, port or 0, reuse_port)
        await signalled.wait()
    finally:
        stopped = await _stop(runner, shutdown)
    return 0 if stopped else 1


SIGNALS = (signal.SIGINT, signal.SIGTERM)
HTTP_GRACE = 10.0  # seconds in-flight requests may take to finish at a stop
WATCHDOG_GRACE = 1.0  # past the timeout, a stop stuck on a blocked loop is cut here


def _first_signal(
    loop: asyncio.AbstractEventLoop, sig: int, shutdown: Shutdown, signalled: asyncio.Event
) -> None:
    log.info("%s: stopping (at most %gs)", signal.Signals(sig).name, shutdown.timeout)
    _begin_stop(shutdown)
    for other in SIGNALS:
        loop.remove_signal_handler(other)
        # A plain handler: it runs even when the loop is stuck.
        signal.signal(other, _second_signal)
    signalled.set()


def _begin_stop(shutdown: Shutdown) -> None:
    if shutdown.started:
        return
    shutdown.begin()
    watchdog = threading.Timer(shutdown.timeout + WATCHDOG_GRACE, _stuck, (shutdown.timeout,))
    watchdog.daemon = True
    watchdog.start()


def _second_signal(sig: int, _frame: object) -> None:
    log.warning("%s again: exiting now", signal.Signals(sig).name)
    _exit_now(128 + sig)


def _stuck(timeout: float) -> None:
    log.error("still not stopped %gs after the signal; exiting", timeout + WATCHDOG_GRACE)
    _exit_now(1)


def _exit_now(code: int) -> None:
    # Log handlers are flushed as the line is written; a stuck stderr must not
    # hold the exit up, so a second timer ends the process regardless.
    threading.Timer(1.0, os._exit, (code,)).start()
    os._exit(code)


async def _stop(runner: web.AppRunner, shutdown: Shutdown) -> bool:
    """Stop every part within the shutdown timeout; False when it ran out."""
    _begin_stop(shutdown)  # also when start-up failed or the loop is ending
    try:
        async with asyncio.timeout(shutdown.time_left()):
            await runner.cleanup()
    except TimeoutError:
        log.error(
            "did not stop within %gs (service.shutdown_timeout); exiting anyway",
            shutdown.timeout,
        )
        return False
    return True


async def _listen(runner: web.AppRunner, host: str, port: int, reuse_port: bool) -> None:
    # reuse_port only when asked (the benchmarks): otherwise a second process on a
    # port in use would share its traffic silently instead of failing.
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    try:
        await site.start()
    except OSError as exc:
        # Exit 2: the address or port given is the problem (in use, not allowed).
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise StartupError(f"cannot listen on {host}:{port}: {why}", 2) from None
    log.info("listening on http://%s:%d", host, port)
