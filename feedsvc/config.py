"""Settings: loaded once from TOML and the environment, validated, then frozen.

Precedence for the file: `--config PATH`, else `$FEEDSVC_CONFIG`, else `./config.toml`,
else built-in defaults. Environment overrides win over the file: `REDIS_URL`,
`TELEGRAM_BOT_TOKEN`, `PORT`, `FEEDSVC_BASE_URL`, `FEEDSVC_API_TOKENS` (comma-separated).

Every mistake raises `ConfigError` with one line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feedsvc import __version__

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


@dataclass(frozen=True)
class ServiceSettings:
    base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    title: str = "Berita Kaltara"
    language: str = "id"
    timezone: str = "Asia/Makassar"
    shutdown_timeout: float = 30.0  # seconds an orderly stop may take before exiting anyway


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    data_dir: str = "./data"


@dataclass(frozen=True)
class StoreSettings:
    retention: int = 1000
    max_categories: int = 200


@dataclass(frozen=True)
class LoggingSettings:
    format: str = "text"
    level: str = "info"
    access_log: bool = False


@dataclass(frozen=True)
class FeedsSettings:
    default_limit: int = 20
    max_limit: int = 100
    websub_hub: str = ""


@dataclass(frozen=True)
class ApiSettings:
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class PollSettings:
    interval: float = 300
    timeout: float = 20
    max_bytes: int = 5_000_000
    user_agent: str = "feedsvc/VERSION (+base_url)"
    parse_processes: int = 2
    max_entries: int = 200
    parse_memory_mb: int = 256
    lease: float = 300  # seconds a worker's claim on a source holds (at least 8 x timeout)


@dataclass(frozen=True)
class SourceSettings:
    name: str
    url: str
    kind: str = "feed"
    category: str = ""
    interval: float | None = None  # None: poll.interval
    link_selector: str = ""


@dataclass(frozen=True)
class TelegramSettings:
    token: str = field(default="", repr=False)
    api_base_url: str = ""
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    push_categories: tuple[str, ...] = ("KALTARA",)
    channels: tuple[int | str, ...] = ()
    admins: tuple[int, ...] = ()
    max_push_age_hours: float = 24
    max_rate: float = 28
    photos: bool = True  # a post with an image is pushed as a photo with a caption
    digest_hour: int = 7  # WITA hour of the daily digest (/ringkasan)
    alert_after_hours: float = 6  # a source failing (or silent) this long is told to admins


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings = ServiceSettings()
    redis: RedisSettings = RedisSettings()
    store: StoreSettings = StoreSettings()
    logging: LoggingSettings = LoggingSettings()
    feeds: FeedsSettings = FeedsSettings()
    api: ApiSettings = ApiSettings()
    poll: PollSettings = PollSettings()
    sources: tuple[SourceSettings, ...] = ()
    telegram: TelegramSettings = TelegramSettings()
    path: str = ""  # the file these came from, "" for defaults

    @property
    def user_agent(self) -> str:
        return self.poll.user_agent.replace("VERSION", __version__).replace(
            "base_url", self.service.base_url
        )

    def source_interval(self, source: SourceSettings) -> float:
        return self.poll.interval if source.interval is None else source.interval


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Settings) if f.name != "path"}
_ENV_OVERRIDES = {
    "REDIS_URL": ("redis", "url"),
    "TELEGRAM_BOT_TOKEN": ("telegram", "token"),
    "PORT": ("service", "port"),
    "FEEDSVC_BASE_URL": ("service", "base_url"),
    "FEEDSVC_API_TOKENS": ("api", "tokens"),  # comma-separated
}


def find_config_file(cli_path: str | None, env: typing.Mapping[str, str]) -> Path | None:
    """The file to read, by SPEC precedence; None means built-in defaults."""
    if cli_path:
        return Path(cli_path)
    if env.get("FEEDSVC_CONFIG"):
        return Path(env["FEEDSVC_CONFIG"])
    local = Path("config.toml")
    return local if local.is_file() else None


def load_settings(
    cli_path: str | None = None, env: typing.Mapping[str, str] | None = None
) -> Settings:
    """Read, override from the environment, validate; raise ConfigError on any mistake."""
    env = os.environ if env is None else env
    path = find_config_file(cli_path, env)
    where = str(path) if path else "built-in defaults"
    data = _read_toml(path) if path else {}
    data = _apply_env(data, env)
    settings = _build(data, where)
    _check_values(settings, where)
    return dataclasses.replace(settings, path=str(path or ""))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _apply_env(data: dict[str, Any], env: typing.Mapping[str, str]) -> dict[str, Any]:
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for var, (section, key) in _ENV_OVERRIDES.items():
        value = env.get(var)
        if value is None or value == "":
            continue
        if key == "port":
            if not value.isdigit():
                raise ConfigError(f"environment: PORT must be a number, got {value!r}")
            value = int(value)
        elif key == "tokens":
            value = [token.strip() for token in value.split(",") if token.strip()]
        target = data.setdefault(section, {})
        if isinstance(target, dict):
            target[key] = value
    return data


def _build(data: dict[str, Any], where: str) -> Settings:
    values: dict[str, Any] = {}
    for section, raw in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{where}: unknown key '{section}'")
        if section == "sources":
            values[section] = _build_sources(raw, where)
        else:
            if not isinstance(raw, dict):
                raise ConfigError(f"{where}: '{section}' must be a table ([{section}])")
            values[section] = _build_table(_section_class(section), raw, section, where)
    return Settings(**values)


def _section_class(section: str) -> type:
    hints = typing.get_type_hints(Settings)
    return hints[section]


def _build_sources(raw: Any, where: str) -> tuple[SourceSettings, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'sources' must be an array of tables ([[sources]])")
    sources = []
    for i, item in enumerate(raw):
        key = f"sources[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: '{key}' must be a table")
        sources.append(_build_table(SourceSettings, item, key, where))
    return tuple(sources)


def _build_table(cls: type, raw: dict[str, Any], prefix: str, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{where}: unknown key '{prefix}.{key}'")
        values[key] = _coerce(value, hints[key], f"{prefix}.{key}", where)
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where}: missing key '{prefix}.{missing[0]}'")
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    """Check `value` against the field's type; TOML ints are fine where floats go."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: '{key}' must be a list, got {_kind(value)}")
        item_hint = typing.get_args(hint)[0]
        return tuple(_coerce(v, item_hint, f"{key}[{i}]", where) for i, v in enumerate(value))
    allowed = typing.get_args(hint) if origin in (types.UnionType, typing.Union) else (hint,)
    allowed = tuple(t for t in allowed if t is not type(None))
    for t in allowed:
        if t is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t in (str, bool) and type(value) is t:
            return value
    names = " or ".join(_type_name(t) for t in allowed)
    raise ConfigError(f"{where}: '{key}' must be {names}, got {_kind(value)} {value!r}")


def _type_name(t: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        t, str(t)
    )


def _kind(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _check_values(s: Settings, where: str) -> None:
    def fail(key: str, why: str) -> typing.NoReturn:
        raise ConfigError(f"{where}: '{key}' {why}")

    _check_http_url(s.service.base_url, "service.base_url", fail)
    if not 0 < s.service.port < 65536:
        fail("service.port", f"must be between 1 and 65535, got {s.service.port}")
    _check_timezone(s.service.timezone, fail)
    if not 0 < s.service.shutdown_timeout < float("inf"):
        fail("service.shutdown_timeout", "must be a positive number of seconds")
    if s.redis.url and urlsplit(s.redis.url).scheme not in REDIS_SCHEMES:
        fail("redis.url", f"must start with one of {', '.join(REDIS_SCHEMES)}://")
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
    if any(not t.strip() for t in s.api.tokens):
        fail("api.tokens", "must not contain empty tokens")
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


def _check_http_url(url: str, key: str, fail: Fail) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
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
        if not SOURCE_NAME.match(src.name):
            fail(f"{key}.name", "must be 1-64 letters, digits, '.', '_' or '-'")
        if src.name in seen:
            fail(f"{key}.name", f"repeats the source name {src.name!r}")
        seen.add(src.name)
        _check_http_url(src.url, f"{key}.url", fail)
        if src.kind not in SOURCE_KINDS:
            fail(f"{key}.kind", f"must be one of {', '.join(SOURCE_KINDS)}, got {src.kind!r}")
        if src.interval is not None and src.interval <= 0:
            fail(f"{key}.interval", "must be a positive number of seconds")
        if src.link_selector and src.kind != "html":
            fail(f"{key}.link_selector", 'only applies to kind = "html"')
        if src.category:
            _check_category(src.category, f"{key}.category", fail)


def _check_category(name: str, key: str, fail: Fail) -> None:
    from feedsvc.models import slugify

    try:
        slugify(name)
    except ValueError as exc:
        fail(key, f"is not a usable category: {exc}")


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
