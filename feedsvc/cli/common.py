"""What every `feedsvc` command shares: options, errors, the Redis it works on."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from feedsvc.config import Settings
from feedsvc.lifecycle import open_redis
from feedsvc.models import slugify

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


def with_redis(settings: Settings, work: Callable[[Redis], Awaitable[int]]) -> int:
    async def run() -> int:
        async with open_redis(settings) as (redis, _mode):
            return await work(redis)

    return asyncio.run(run())


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


def check_category(name: str) -> None:
    try:
        slugify(name)
    except ValueError as exc:
        raise CommandError(f"--category: {exc}", 2) from None
