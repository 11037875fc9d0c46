"""Every `web.AppKey` of the application, declared once.

The application object is the composition root: each long-lived resource is put
here by its cleanup context (lifecycle.py) and read by handlers and tasks.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.shutdown import Shutdown
from feedsvc.storage.store import Store

if TYPE_CHECKING:
    from telegram.ext import Application

    from feedsvc.metrics import Metrics
    from feedsvc.publish.cache import FeedCache, VersionReader
    from feedsvc.publish.outage import Outage
    from feedsvc.publish.websub import WebSubPinger

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
REDIS_MODE = web.AppKey("redis_mode", str)  # "embedded" or "external"
STORE = web.AppKey("store", Store)
HTTP = web.AppKey("http", aiohttp.ClientSession)
POLLER = web.AppKey("poller", asyncio.Task)
FEED_CACHE: web.AppKey[FeedCache] = web.AppKey("feed_cache")
FEED_VERSIONS: web.AppKey[VersionReader] = web.AppKey("feed_versions")
OUTAGE: web.AppKey[Outage] = web.AppKey("outage")  # Redis as this process's requests see it
SHUTDOWN = web.AppKey("shutdown", Shutdown)  # begun on the first SIGTERM/SIGINT
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
WEBSUB: web.AppKey[WebSubPinger] = web.AppKey("websub")
BOT: web.AppKey[Application] = web.AppKey("bot")  # set while the Telegram bot is configured
