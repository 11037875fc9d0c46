"""What every `feedsvc` command shares: options, errors, the Redis it works on."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.lifecycle import config_path, open_redis
from feedsvc.models import is_article_id, slugify
from feedsvc.storage import keys
from feedsvc.storage.connection import redact_url
from feedsvc.storage.embedded import store_exists

Command = Callable[[Settings, argparse.Namespace], int]


class CommandError(Exception):
    """A command cannot do what was asked: one line for the user, and the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_command(
    sub: argparse._SubParsersAction, name: str, help_text: str, func: Command | None
) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text, description=help_text)
    common_options(cmd, default=argparse.SUPPRESS)
    # One-shot commands print their own results; log lines only for problems.
    cmd.set_defaults(func=func, log_level=logging.WARNING)
    return cmd


def common_options(parser: argparse.ArgumentParser, default: object) -> None:
    # Accepted before or after the command; SUPPRESS keeps a sub-command from
    # resetting what was given before it.
    parser.add_argument("-c", "--config", metavar="PATH", default=default, help="TOML config file")
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default or False, help="debug logging"
    )


def with_redis(
    settings: Settings, work: Callable[[Redis], Awaitable[int]], *, creates: bool = False
) -> int:
    """Run `work` on the service's Redis, after one stderr line naming the config and
    the Redis. With the embedded Redis and no store in `redis.data_dir` yet, only a
    command that `creates` (it adds sources or articles) starts an empty one, and says
    so; any other stops: an empty new store is never what it was meant to read."""
    print(f"feedsvc: using {where_from(settings)}", file=sys.stderr)
    if not settings.redis.url and not store_exists(Path(settings.redis.data_dir)):
        data_dir = Path(settings.redis.data_dir).resolve()
        if not creates:
            raise CommandError(
                f"no store in {data_dir} (redis.data_dir) yet, so nothing to read or change: "
                "run this where `feedsvc run` runs, or give it that --config"
            )
        print(f"feedsvc: no store in {data_dir} yet: starting a new, empty one", file=sys.stderr)

    async def run() -> int:
        async with open_redis(settings) as (redis, _mode):
            hint = other_config(await redis.get(keys.SERVICE_CONFIG), config_path(settings))
            if hint:
                print(f"feedsvc: {hint}", file=sys.stderr)
            return await work(redis)

    return asyncio.run(run())


def other_config(service: str | None, ours: str) -> str | None:
    """A note when the service on this store started with another config file than
    this command uses (`make run` passes config.example.toml, a bare command finds none)."""
    if not service or service == ours or not Path(service).is_file():
        return None
    try:
        shown = os.path.relpath(service)
    except ValueError:  # another drive
        shown = service
    return (
        f"note: the service on this store started with --config {shown}; this command "
        f"uses {'another file' if ours else 'the built-in defaults'}: give it --config {shown} "
        "(or set FEEDSVC_CONFIG) to see what the service sees"
    )


def where_from(settings: Settings) -> str:
    """`config PATH and Redis URL`: what a one-shot command works on."""
    config = str(Path(settings.path).resolve()) if settings.path else NO_CONFIG
    if settings.redis.url:
        origin = " (from REDIS_URL)" if os.environ.get("REDIS_URL") else ""
        redis = f"{redact_url(settings.redis.url)}{origin}"
    else:
        redis = f"embedded, data in {Path(settings.redis.data_dir).resolve()}"
    return f"config {config} and Redis {redis}"


NO_CONFIG = "built-in defaults (no --config, $FEEDSVC_CONFIG or ./config.toml)"


@contextlib.contextmanager
def quiet(logger_name: str, *, enabled: bool) -> Iterator[None]:
    """Errors only from one logger for a while (restored: `main` may run in-process)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    if enabled:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number between 1 and 65535, got {text}")
    return int(text)


def article_id(text: str) -> str:
    """An article id given on the command line, checked (bad input: exit 2)."""
    given = text.strip().lower()
    if not is_article_id(given):
        raise CommandError(
            f"{text!r} is not an article id (16 hex digits, as `feedsvc articles list` shows)", 2
        )
    return given


def check_category(name: str) -> None:
    try:
        slugify(name)
    except ValueError as exc:
        raise CommandError(f"--category: {exc}", 2) from None
