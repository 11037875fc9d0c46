"""Reading settings: the file by precedence, environment overrides, types per field."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from feedsvc.config.checks import check_values, token_problem
from feedsvc.config.errors import ConfigError
from feedsvc.config.settings import Settings, SourceSettings

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
    from_env = tuple(
        (f"{section}.{key}", var) for var, (section, key) in _ENV_OVERRIDES.items() if env.get(var)
    )
    # A bad value an environment variable set is blamed on that variable, not the file.
    check_values(settings, where, dict(from_env))
    return dataclasses.replace(settings, path=str(path or ""), from_env=from_env)


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
            value = _env_tokens(value)
        target = data.setdefault(section, {})
        if isinstance(target, dict):
            target[key] = value
    return data


def _env_tokens(text: str) -> list[str]:
    """FEEDSVC_API_TOKENS: tokens separated by commas; spaces around each are dropped."""
    tokens = [token.strip() for token in text.split(",")]
    for i, token in enumerate(tokens, 1):
        problem = token_problem(token)
        if not token:
            problem = "is empty (two commas, or one at an end?)"
        if problem:  # never the token itself in the message: it is a secret
            raise ConfigError(f"environment: FEEDSVC_API_TOKENS token {i} {problem}")
    return tokens


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
