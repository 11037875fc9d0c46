"""The `feedsvc` command.

Long-running parts (`run`, `web`, `worker`, `bot`: here) and one-shot commands
that manage sources (`sources`, `ingest`, `import-opml`, `export-opml`: a module
each beside this one). One-shot commands
use the same Redis as the service: the external one, or the embedded one (started
for the command, or shared with a running `feedsvc run`).

Exit codes: 0 done, 1 it failed (unreachable Redis, a failed fetch, an unknown or
taken name), 2 bad input (config, options, an unreadable OPML file).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from feedsvc import __version__
from feedsvc.app import make_app, receives_webhook
from feedsvc.cli import articles, ingest, opml, sources, telegram
from feedsvc.cli.common import (
    Command,
    CommandError,
    add_command,
    common_options,
    port_number,
)
from feedsvc.config import ConfigError, Settings, load_settings
from feedsvc.lifecycle import StartupError, serve
from feedsvc.logs import level_named, setup_logging


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return 2
    setup_logging(
        _log_level(settings, args),
        _secrets(settings),
        fmt=settings.logging.format,
        access_log=settings.logging.access_log,
    )
    try:
        return args.func(settings, args)
    except CommandError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return exc.code
    except StartupError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsvc", description="News feeds and Telegram alerts for Kaltara."
    )
    common_options(parser, default=None)
    parser.add_argument("--version", action="version", version=f"feedsvc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {
        "run": ("web server, poller, notifier and bot in one process", ("web", "worker", "bot")),
        "web": ("the HTTP server only", ("web",)),
        "worker": ("polling and ingest only", ("worker",)),
        "bot": ("the Telegram bot: commands and push delivery", ("bot",)),
    }
    for name, (help_text, roles) in commands.items():
        cmd = add_command(sub, name, help_text, _serve_roles(*roles))
        cmd.set_defaults(log_level=None)  # logging.level
        if name != "worker":  # the worker never listens
            _listen_options(cmd)
    sources.add_parser(sub)
    ingest.add_parser(sub)
    opml.add_parsers(sub)
    articles.add_parser(sub)
    telegram.add_parsers(sub)
    return parser


def _listen_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--host", help="address to listen on (default: service.host)")
    cmd.add_argument(
        "--port", type=port_number, help="TCP port (default: $PORT, else service.port)"
    )
    cmd.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other processes started so (SO_REUSEPORT)",
    )


def _serve_roles(*roles: str) -> Command:
    def command(settings: Settings, args: argparse.Namespace) -> int:
        if roles == ("bot",) and not settings.telegram.token:
            # `run` goes on without a bot; a process that is only the bot has nothing to do.
            raise CommandError("no telegram.token (or TELEGRAM_BOT_TOKEN) set: no bot to run", 2)
        app = make_app(settings, roles)
        listens = "web" in roles or ("bot" in roles and receives_webhook(settings))
        host = (getattr(args, "host", None) or settings.service.host) if listens else None
        port = getattr(args, "port", None) or settings.service.port
        reuse = getattr(args, "reuse_port", False)
        with asyncio.Runner(loop_factory=_loop_factory(roles)) as runner:
            return runner.run(serve(app, host, port, reuse_port=reuse))

    return command


def _loop_factory(roles: tuple[str, ...]) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for web processes: it cuts a feed request's CPU time (docs/BENCHMARKS.md).

    Elsewhere the default loop: a worker's time goes to parsing and the bot's to
    waiting for its rate limit, where uvloop measured nothing.
    """
    if roles != ("web",):
        return None
    try:
        import uvloop
    except ImportError:  # not built for this platform
        return None
    return uvloop.new_event_loop


def _log_level(settings: Settings, args: argparse.Namespace) -> int:
    if args.verbose:
        return logging.DEBUG
    if args.log_level is None:  # a long-running command
        return level_named(settings.logging.level)
    # One-shot commands print their results; log lines only for problems.
    return max(args.log_level, level_named(settings.logging.level))


def _secrets(settings: Settings) -> list[str]:
    redis_password = urlsplit(settings.redis.url).password or ""
    telegram = settings.telegram
    return [telegram.token, telegram.webhook_secret, *settings.api.tokens, redis_password]
