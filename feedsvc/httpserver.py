"""How the listening HTTP server treats its clients: timeouts and its error log.

A client must send its headers within `service.header_timeout` seconds of
connecting (or of the last response on a keep-alive connection), and an idle
keep-alive connection is closed after as long: aiohttp's keep-alive timer runs
from the connection's start and is only cleared by a complete request, so it is
a header read timeout too.

Malformed requests and clients that go away mid-request are the internet's
weather, not our errors: each kind is one warning line at most once a minute,
with a count, and never the offending bytes (aiohttp's messages quote the start
of an over-long or broken header line, which may be a bearer token). Anything
else aiohttp reports is logged as it comes, traceback and all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from feedsvc.config import Settings

REPORT_EVERY = 60.0  # seconds between two lines about one kind of bad request

log = logging.getLogger("aiohttp.server")


def server_options(settings: Settings, logger: logging.Logger = log) -> dict[str, Any]:
    """Keyword arguments for `web.AppRunner` that every listening server gets."""
    return {
        "keepalive_timeout": settings.service.header_timeout,
        "logger": ClientErrorLog(logger),
    }


def kind_of(exc: BaseException | None) -> str | None:
    """The kind of client mistake `exc` is, for the log; None for our own errors."""
    if isinstance(exc, HttpProcessingError):
        return f"malformed request ({type(exc).__name__})"
    if isinstance(exc, ConnectionError | EOFError):  # also aiohttp's ClientConnectionResetError
        return "client went away mid-request"
    cause = getattr(exc, "__cause__", None) or getattr(exc, "__context__", None)
    if type(exc).__name__ == "ClientPayloadError" or isinstance(cause, ConnectionError):
        return "client went away mid-request"
    return None


class Throttle:
    """Say one kind of event at most once per `every` seconds, counting the rest."""

    def __init__(self, every: float = REPORT_EVERY) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._unsaid: dict[str, int] = {}

    def due(self, kind: str, now: float) -> int | None:
        """How many events of `kind` to report now (this one included), or None: not yet."""
        count = self._unsaid.get(kind, 0) + 1
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._unsaid[kind] = count
            return None
        self._last[kind] = now
        self._unsaid[kind] = 0
        return count


class ClientErrorLog:
    """The `logger` aiohttp's request handler writes to, with client mistakes throttled."""

    def __init__(
        self,
        logger: logging.Logger,
        throttle: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.throttle = throttle or Throttle()
        self.clock = clock

    def exception(self, msg: str, *args: Any, exc_info: Any = True, **kw: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        kind = kind_of(exc)
        if kind is None:
            self.logger.error(msg, *args, exc_info=exc_info, **kw)
            return
        count = self.throttle.due(kind, self.clock())
        if count is not None:
            since = f" ({count} since the last line)" if count > 1 else ""
            self.logger.warning("%s%s; not logged again for %.0fs", kind, since, REPORT_EVERY)

    def debug(self, msg: str, *args: Any, exc_info: Any = None, **kw: Any) -> None:
        # At debug level too, a client's bytes stay out (a request line may be a token).
        kind = kind_of(exc_info) if isinstance(exc_info, BaseException) else None
        if kind is not None:
            self.logger.debug("%s", kind)
            return
        self.logger.debug(msg, *args, exc_info=exc_info, **kw)

    def warning(self, *args: Any, **kw: Any) -> None:
        self.logger.warning(*args, **kw)

    def isEnabledFor(self, level: int) -> bool:
        return self.logger.isEnabledFor(level)
