"""Long-lived resources as aiohttp cleanup contexts, and the process runner.

Each resource gets its own context, registered in start order by `make_app`;
aiohttp cleans up only what started, in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import socket
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor

from aiohttp import web
from redis.asyncio import Redis

from bot.app import build_application, run_bot
from feedsvc import appkeys
from feedsvc.config import Settings
from feedsvc.ingest.fetch import Fetcher, new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import Poller, Schedule
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.publish.websub import WebSubPinger
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url, redact_url, unix_client
from feedsvc.storage.embedded import EmbeddedRedis, EmbeddedRedisError
from feedsvc.storage.store import Store

log = logging.getLogger(__name__)
REDIS_CONNECT_TIMEOUT = 10.0


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the user."""


@contextlib.asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    """A checked Redis client and its mode; starts (or attaches to) the embedded server.

    CLI commands use this directly; the web app through `redis_ctx`.
    """
    server = None
    if settings.redis.url:
        client, mode = client_from_url(settings.redis.url), "external"
        where = redact_url(settings.redis.url)
    else:
        server = EmbeddedRedis(settings.redis.data_dir)
        try:
            await server.start()
        except EmbeddedRedisError as exc:
            raise StartupError(str(exc)) from None
        client, where, mode = unix_client(str(server.socket_path)), server.url, "embedded"
    try:
        await _check_reachable(client, where)
        yield client, mode
    finally:
        await client.aclose()
        if server is not None:
            await server.stop()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The embedded server (when no URL is set), then the client and the store."""
    settings = app[appkeys.SETTINGS]
    async with open_redis(settings) as (client, mode):
        app[appkeys.REDIS] = client
        app[appkeys.REDIS_MODE] = mode
        app[appkeys.STORE] = Store(client, retention=settings.store.retention)
        yield


async def _check_reachable(client: Redis, where: str) -> None:
    try:
        async with asyncio.timeout(REDIS_CONNECT_TIMEOUT):
            await client.ping()
    except TimeoutError:
        why = f"did not answer within {REDIS_CONNECT_TIMEOUT:.0f}s"
        raise StartupError(f"Redis at {where} {why}") from None
    except Exception as exc:
        raise StartupError(f"cannot reach Redis at {where}: {exc}") from None


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
    registry = SourceRegistry(redis, settings)
    fetcher = Fetcher(
        app[appkeys.HTTP], timeout=settings.poll.timeout, max_bytes=settings.poll.max_bytes
    )
    pool = parse_pool(settings.poll.parse_processes)
    ingestor = Ingestor(
        store, registry, fetcher, settings, on_change=changed_callback(app), parse_pool=pool
    )
    poller = Poller(
        Schedule(redis), registry.all, ingestor.poll_and_record, registry.status,
        timeout=settings.poll.timeout,
    )  # fmt: skip
    if not settings.sources and not await redis.hlen(keys.SOURCES):
        log.warning("no sources yet: add some to the config or with `feedsvc sources add`")
    task = asyncio.create_task(poller.run(), name="poller")
    app[appkeys.POLLER] = task
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def parse_pool(processes: int) -> ProcessPoolExecutor | None:
    """Processes for parsing large feeds: every core, and no event-loop stalls.

    Workers start on first use, so a service whose feeds are all small never
    starts one.
    """
    if processes <= 0:
        return None
    context = multiprocessing.get_context("spawn")  # no forked copy of our loop and sockets
    return ProcessPoolExecutor(processes, mp_context=context, initializer=_ignore_sigint)


def _ignore_sigint() -> None:
    # A Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def bot_ctx(app: web.Application) -> AsyncIterator[None]:
    """The Telegram bot and its pushes, when a token is configured (said once if not)."""
    settings = app[appkeys.SETTINGS]
    if not settings.telegram.token:
        log.info("Telegram bot disabled: no telegram.token (or TELEGRAM_BOT_TOKEN) set")
        yield
        return
    application = build_application(settings, app[appkeys.REDIS], app[appkeys.STORE])
    app[appkeys.BOT] = application
    metrics = app[appkeys.METRICS]
    task = asyncio.create_task(run_bot(application, settings, app[appkeys.REDIS], metrics))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def serve(app: web.Application, host: str | None, port: int | None) -> None:
    """Start everything, listen when `host` is given, stop on SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, handle_signals=False)
    try:
        await runner.setup()
        if host is not None:
            await _listen(runner, host, port or 0)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _listen(runner: web.AppRunner, host: str, port: int) -> None:
    # reuse_port: several `feedsvc web` processes can share one port (the kernel balances).
    site = web.TCPSite(runner, host, port, reuse_port=hasattr(socket, "SO_REUSEPORT"))
    try:
        await site.start()
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    log.info("listening on http://%s:%d", host, port)
