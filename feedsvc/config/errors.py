"""The one error configuration mistakes raise, and the constants the checks share."""

from __future__ import annotations

import re
import typing

SOURCE_KINDS = ("feed", "html")
TELEGRAM_MODES = ("polling", "webhook")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster", "rediss+cluster")
MIN_PARSE_MEMORY_MB = 128  # what a parse process needs before it parses anything
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


Fail = typing.Callable[[str, str], typing.NoReturn]


class ConfigError(Exception):
    """A configuration mistake; the message is one line meant for the user."""
