"""`POST /api/sources/{name}/poll`: have a source polled now (bearer token).

The web process does not poll: it makes the source due now in the shared
schedule, so whichever worker polls (`feedsvc run`, `feedsvc worker`) takes it
within a second or so. The outcome shows in `GET /api/sources` once it is done.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web

from feedsvc import appkeys
from feedsvc.config import SOURCE_NAME
from feedsvc.ingest.poller import Schedule
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.publish.api import check_bearer, json_error, json_response

log = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/sources/{name}/poll", poll_source)


async def poll_source(request: web.Request) -> web.Response:
    """Make a source due now: 202; 404 for an unknown name."""
    settings = request.app[appkeys.SETTINGS]
    denied = check_bearer(request, settings.api.tokens)
    if denied is not None:
        return denied
    name = request.match_info["name"]
    redis = request.app[appkeys.REDIS]
    if not SOURCE_NAME.match(name) or await SourceRegistry(redis, settings).get(name) is None:
        return json_error(404, "no such source", "name")
    if await Schedule(redis).poll_now(name, time.time()):
        log.info("source %s: a poll now was asked for through the API", name)
        status, message = "due", "due now: a running worker polls it within a few seconds"
    else:
        status, message = "polling", "a worker is polling it right now"
    return json_response(
        {"source": name, "status": status, "message": message, "result": "/api/sources"},
        status=202,
    )
