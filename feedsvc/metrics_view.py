"""The /metrics route (Prometheus text format) and the request counter middleware."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from feedsvc import appkeys
from feedsvc.ingest.sources import SourceRegistry


@web.middleware
async def count_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Requests by route (the pattern, never the raw path) and status."""
    metrics = request.app[appkeys.METRICS]
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.observe(name, status, time.perf_counter() - started)


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format."""
    app = request.app
    metrics, store = app[appkeys.METRICS], app[appkeys.STORE]
    registry = SourceRegistry(app[appkeys.REDIS], app[appkeys.SETTINGS])
    sources = await registry.all()
    statuses = await registry.statuses([s.name for s in sources])
    metrics.articles.set(await store.count(None))
    metrics.categories.set(len(await store.categories()))
    metrics.sources.set(len(sources))
    metrics.sources_failing.set(sum(1 for s in statuses if s.failures))
    for hook in metrics.scrape_hooks:
        await hook(metrics, app[appkeys.REDIS])
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
