"""The aiohttp application: `make_app(settings)`, its routes and its resources."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

from aiohttp import web

from bot import webhook
from bot.metrics import telegram_gauges
from feedsvc import __version__, appkeys, lifecycle, metrics, metrics_view
from feedsvc.config import Settings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.publish import api, api_sources, feeds, outage, pages, subscribe
from feedsvc.shutdown import Shutdown
from feedsvc.storage.connection import SLOTS, is_cluster, silent_primaries

ROLES = frozenset({"web", "worker", "bot"})


def make_app(settings: Settings, roles: Collection[str] = ("web",)) -> web.Application:
    """The application for one process; `roles` picks which parts run in it."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    redis_state = outage.Outage()
    guard = outage.redis_guard(redis_state, settings.redis.timeout)
    app = web.Application(
        client_max_size=api.MAX_BODY, middlewares=[metrics_view.count_requests, guard]
    )
    app[appkeys.SETTINGS] = settings
    app[appkeys.OUTAGE] = redis_state
    app[appkeys.METRICS] = metrics.Metrics()
    app[appkeys.METRICS].scrape_hooks.append(telegram_gauges)
    app[appkeys.SHUTDOWN] = Shutdown(settings.service.shutdown_timeout)
    app.cleanup_ctx.append(lifecycle.redis_ctx)
    app.cleanup_ctx.append(lifecycle.http_ctx)
    app.cleanup_ctx.append(lifecycle.websub_ctx)
    if "worker" in roles:
        app.cleanup_ctx.append(lifecycle.poller_ctx)
    if "bot" in roles:
        app.cleanup_ctx.append(lifecycle.bot_ctx)
        if receives_webhook(settings):
            webhook.add_route(app, settings.telegram.webhook_url)
    if "web" in roles:
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/metrics", metrics_view.metrics_view)
        api.add_routes(app)
        api_sources.add_routes(app)
        feeds.add_routes(app)
        pages.add_routes(app)
        subscribe.add_routes(app)
    return app


def receives_webhook(settings: Settings) -> bool:
    """Whether Telegram will POST updates to this process."""
    return bool(settings.telegram.token) and settings.telegram.mode == "webhook"


async def healthz(request: web.Request) -> web.Response:
    """200 with each component's status; 503 while Redis is unreachable."""
    app = request.app
    redis_status = await _redis_status(app)
    ok = redis_status["status"] == "ok"
    body = {"status": "ok" if ok else "error", "version": __version__, "redis": redis_status}
    if ok and (sources := await _sources_status(app)) is not None:
        body["sources"] = sources  # failing sources are reported, not a reason for a 503
    if (bot := app.get(appkeys.BOT)) is not None:  # the bot runs in this process
        body["telegram"] = {"status": "running" if bot.running else "starting"}
    return web.json_response(body, status=200 if ok else 503, headers={"Cache-Control": "no-store"})


async def _sources_status(app: web.Application) -> dict[str, Any] | None:
    registry = SourceRegistry(app[appkeys.REDIS], app[appkeys.SETTINGS])
    try:
        async with asyncio.timeout(_health_timeout(app)):
            total, failing = await registry.failing()
    except Exception:
        return None  # Redis went away in between: its status says so next time
    return {"status": "failing" if failing else "ok", "total": total, "failing": len(failing)}


def _health_timeout(app: web.Application) -> float:
    # Each of the two checks gets under half of redis.timeout, the whole request's
    # budget (outage.redis_guard), so /healthz answers with its own body.
    return app[appkeys.SETTINGS].redis.timeout * 0.45


async def _redis_status(app: web.Application) -> dict[str, Any]:
    mode = app[appkeys.REDIS_MODE]
    client = app[appkeys.REDIS]
    try:
        async with asyncio.timeout(timeout := _health_timeout(app)):
            # A cluster is healthy only when every primary answers for its slots.
            down = await silent_primaries(client, timeout) if is_cluster(client) else {}
            info = {} if down else await client.info("server")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:200]
        return {"status": "unreachable", "mode": mode, "error": error}
    if down:
        names = ", ".join(sorted(down))
        slots = sum(down.values())
        error = f"no answer from {names}: {slots} of {SLOTS} hash slots cannot be read or written"
        return {"status": "degraded", "mode": mode, "nodes_down": sorted(down), "error": error}
    return {"status": "ok", "mode": mode, "version": str(info.get("redis_version", "?"))}
