"""Logging set-up: text or JSON lines, the access log, and secrets scrubbed from all.

Libraries log request URLs, and a Telegram request URL carries the bot token;
the filter below makes sure no configured secret reaches a log line, and every
formatted line is scrubbed once more (fields passed with `extra=`, tracebacks).

Context goes in fields, not only in the text: pass `extra={"source": name}`,
`{"chat_id": id}` or `{"article_id": id}` where the code has them; the JSON
format writes them as keys of the event.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Record attributes the JSON format writes as keys when a call passed them.
FIELDS = ("source", "chat_id", "article_id")
ACCESS_FIELDS = ("method", "path", "status", "bytes", "ms", "user_agent", "remote")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, context fields."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*FIELDS, *ACCESS_FIELDS):
            if name in record.__dict__:
                event[name] = record.__dict__[name]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["traceback"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(event, default=str).decode()


class _Scrubbed(logging.Formatter):
    """Another formatter's line with every secret replaced: the last word on it."""

    def __init__(self, inner: logging.Formatter, redactor: RedactSecrets) -> None:
        super().__init__()
        self.inner, self.redactor = inner, redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))


class AccessLog(AbstractAccessLogger):
    """`GET /feeds/kaltara.rss 200 5321B 2.1ms "NewsBlur/1.0" 10.0.0.7`, one per request."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        fields = {
            "method": request.method,
            "path": request.path_qs,
            "status": response.status,
            "bytes": _body_bytes(request, response),
            "ms": round(time * 1000, 1),
            "user_agent": request.headers.get("User-Agent", ""),
            "remote": request.remote or "",
        }
        self.logger.info(
            '%(method)s %(path)s %(status)d %(bytes)dB %(ms).1fms "%(user_agent)s" %(remote)s',
            fields,
            extra=fields,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def _body_bytes(request: BaseRequest, response: StreamResponse) -> int:
    """The body as sent (compressed when it was), like nginx's $body_bytes_sent."""
    if response.status in (204, 304) or request.method == "HEAD":
        return 0
    if response.content_length is not None:
        return response.content_length
    return response.body_length  # streamed: headers included, the best there is


def level_named(name: str) -> int:
    """`logging.level` ("debug", "info", ...) as a logging level."""
    return logging.getLevelNamesMapping()[name.upper()]


def setup_logging(
    level: int = logging.INFO,
    secrets: Iterable[str] = (),
    *,
    fmt: str = "text",
    access_log: bool = False,
) -> None:
    """Log to stderr, one event per line in `fmt`; the access log only when asked."""
    redactor = RedactSecrets(secrets)
    inner = JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Scrubbed(inner, redactor))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # a Python warning is an event like any other
    # Request lines of the HTTP clients are noise at INFO and may carry tokens.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # The extractors warn about every page they find no text in; ingest says so itself.
    for chatty in ("trafilatura", "htmldate"):
        logging.getLogger(chatty).setLevel(max(level, logging.ERROR))
    # An access-log line per request costs a third of a feed hit's CPU
    # (docs/BENCHMARKS.md): off unless logging.access_log (or -v) asks.
    on = access_log or level <= logging.DEBUG
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if on else logging.WARNING)
