"""Value checks on built settings: each mistake is one line naming the key."""

from __future__ import annotations

import re
import typing
from urllib.parse import urlsplit

from feedsvc.config.errors import (
    LOG_FORMATS,
    LOG_LEVELS,
    MIN_PARSE_MEMORY_MB,
    REDIS_SCHEMES,
    TELEGRAM_MODES,
    ConfigError,
    Fail,
)
from feedsvc.config.settings import Settings, SourceSettings, TelegramSettings
from feedsvc.config.sourcecheck import check_category, check_source_fields
from feedsvc.urls import http_url

# The bot's blocking stream read waits 1 s; a command timeout must leave it room.
MIN_REDIS_TIMEOUT = 1.5
MAX_REDIS_TIMEOUT = 60.0
_TOKEN = re.compile(r"[!-~]+")  # printable ASCII, no space


def check_values(s: Settings, where: str, from_env: typing.Mapping[str, str] = {}) -> None:
    """`from_env`: keys an environment variable set (key -> variable), named instead."""

    def fail(key: str, why: str) -> typing.NoReturn:
        if key in from_env:
            raise ConfigError(f"environment: {from_env[key]} {why}")
        raise ConfigError(f"{where}: '{key}' {why}")

    _check_http_url(s.service.base_url, "service.base_url", fail)
    if not 0 < s.service.port < 65536:
        fail("service.port", f"must be between 1 and 65535, got {s.service.port}")
    _check_timezone(s.service.timezone, fail)
    if not 0 < s.service.shutdown_timeout < float("inf"):
        fail("service.shutdown_timeout", "must be a positive number of seconds")
    if not 0 < s.service.header_timeout < float("inf"):
        fail("service.header_timeout", "must be a positive number of seconds")
    if s.redis.url and urlsplit(s.redis.url).scheme not in REDIS_SCHEMES:
        fail("redis.url", f"must start with one of {', '.join(REDIS_SCHEMES)}://")
    if not MIN_REDIS_TIMEOUT <= s.redis.timeout <= MAX_REDIS_TIMEOUT:
        fail(
            "redis.timeout",
            f"must be from {MIN_REDIS_TIMEOUT} to {MAX_REDIS_TIMEOUT:.0f} seconds",
        )
    if s.store.retention < 1:
        fail("store.retention", "must be at least 1")
    if s.store.max_categories < 1:
        fail("store.max_categories", "must be at least 1")
    if s.logging.format not in LOG_FORMATS:
        fail("logging.format", f"must be one of {', '.join(LOG_FORMATS)}, got {s.logging.format!r}")
    if s.logging.level not in LOG_LEVELS:
        fail("logging.level", f"must be one of {', '.join(LOG_LEVELS)}, got {s.logging.level!r}")
    if not 1 <= s.feeds.default_limit <= s.feeds.max_limit:
        fail("feeds.default_limit", "must be between 1 and feeds.max_limit")
    if s.feeds.websub_hub:
        _check_http_url(s.feeds.websub_hub, "feeds.websub_hub", fail)
    for i, token in enumerate(s.api.tokens):
        problem = token_problem(token)
        if problem:
            fail(f"api.tokens[{i}]", problem)
    for key in ("interval", "timeout", "lease"):
        if not 0 < getattr(s.poll, key) < float("inf"):
            fail(f"poll.{key}", "must be a positive number of seconds")
    if s.poll.max_bytes < 1024:
        fail("poll.max_bytes", "must be at least 1024")
    if not 0 <= s.poll.parse_processes <= 64:
        fail("poll.parse_processes", "must be between 0 and 64")
    if s.poll.max_entries < 1:
        fail("poll.max_entries", "must be at least 1")
    if s.poll.parse_memory_mb < MIN_PARSE_MEMORY_MB:
        fail("poll.parse_memory_mb", f"must be at least {MIN_PARSE_MEMORY_MB}")
    _check_sources(s.sources, fail)
    _check_telegram(s.telegram, fail)


def token_problem(token: str) -> str:
    """Why `token` cannot be an API token, or "" (the message never repeats it)."""
    if not token.strip():
        return "is empty"
    if "," in token:
        return "holds a comma, which a token may not: FEEDSVC_API_TOKENS separates tokens with it"
    if not _TOKEN.fullmatch(token):
        return "may hold only printable ASCII characters, no spaces (it goes in an HTTP header)"
    return ""


def _check_http_url(url: str, key: str, fail: Fail) -> None:
    if http_url(url) is None:
        fail(key, f"must be an http(s) URL, got {url!r}")


def _check_timezone(name: str, fail: Fail) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail("service.timezone", f"is not a known time zone: {name!r}")


def _check_sources(sources: tuple[SourceSettings, ...], fail: Fail) -> None:
    seen: set[str] = set()
    for i, src in enumerate(sources):
        key = f"sources[{i}]"

        def fail_field(field: str, why: str, key: str = key) -> typing.NoReturn:
            fail(f"{key}.{field}", why)

        check_source_fields(
            src.name, src.url, src.kind, src.interval, src.category, fail_field,
            full_content=src.full_content,
        )  # fmt: skip
        if src.name in seen:
            fail(f"{key}.name", f"repeats the source name {src.name!r}")
        seen.add(src.name)
        if src.link_selector and src.kind != "html":
            fail(f"{key}.link_selector", 'only applies to kind = "html"')


def _check_category(name: str, key: str, fail: Fail) -> None:
    check_category(name, lambda why: fail(key, why))


def _check_telegram(t: TelegramSettings, fail: Fail) -> None:
    if t.mode not in TELEGRAM_MODES:
        fail("telegram.mode", f"must be one of {', '.join(TELEGRAM_MODES)}, got {t.mode!r}")
    if t.mode == "webhook" and t.token:
        _check_http_url(t.webhook_url, "telegram.webhook_url", fail)
    if t.webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", t.webhook_secret):
        # Telegram's rule for secret_token; anything else makes setWebhook fail at start.
        fail("telegram.webhook_secret", "may hold only A-Z, a-z, 0-9, _ and -, at most 256")
    if t.api_base_url:
        _check_http_url(t.api_base_url, "telegram.api_base_url", fail)
    for i, name in enumerate(t.push_categories):
        _check_category(name, f"telegram.push_categories[{i}]", fail)
    for i, chat in enumerate(t.channels):
        if isinstance(chat, str) and not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+", chat):
            fail(f"telegram.channels[{i}]", f"must be a chat id or an @channel name, got {chat!r}")
    if t.max_push_age_hours <= 0:
        fail("telegram.max_push_age_hours", "must be positive")
    if not 0 < t.max_rate <= 30:
        fail("telegram.max_rate", "must be between 0 and 30 messages per second")
    if not 0 <= t.digest_hour <= 23:
        fail("telegram.digest_hour", f"must be an hour from 0 to 23, got {t.digest_hour}")
    if not 0 < t.alert_after_hours < float("inf"):
        fail("telegram.alert_after_hours", "must be positive (hours)")
