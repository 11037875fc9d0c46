"""The `feedsvc` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from feedsvc import __version__
from feedsvc.config import ConfigError, Settings, load_settings
from feedsvc.lifecycle import StartupError, serve
from feedsvc.logs import setup_logging
from feedsvc.web import make_app


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return 2
    setup_logging(logging.DEBUG if args.verbose else logging.INFO, _secrets(settings))
    try:
        return args.func(settings, args)
    except StartupError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedsvc", description="News feeds and Telegram alerts for Kaltara."
    )
    _common_options(parser, default=None)
    parser.add_argument("--version", action="version", version=f"feedsvc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = {
        "run": ("web server, poller, notifier and bot in one process", ("web", "worker", "bot")),
        "web": ("the HTTP server only", ("web",)),
        "worker": ("polling and ingest only", ("worker",)),
    }
    for name, (help_text, roles) in commands.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        _common_options(cmd, default=argparse.SUPPRESS)
        cmd.set_defaults(func=_serve_roles(*roles))
    return parser


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    # Accepted before or after the command; SUPPRESS keeps a sub-command from
    # resetting what was given before it.
    parser.add_argument("-c", "--config", metavar="PATH", default=default, help="TOML config file")
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default or False, help="debug logging"
    )


def _serve_roles(*roles: str):  # type: ignore[no-untyped-def]
    def command(settings: Settings, args: argparse.Namespace) -> int:
        app = make_app(settings, roles)
        host = settings.service.host if "web" in roles else None
        asyncio.run(serve(app, host, settings.service.port))
        return 0

    return command


def _secrets(settings: Settings) -> list[str]:
    return [settings.telegram.token, settings.telegram.webhook_secret, *settings.api.tokens]
