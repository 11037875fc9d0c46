"""The `feedsvc` command.

Long-running parts (`run`, `web`, `worker`) and one-shot commands that manage
sources (`sources`, `ingest`, `import-opml`, `export-opml`). One-shot commands
use the same Redis as the service: the external one, or the embedded one (started
for the command, or shared with a running `feedsvc run`).

Exit codes: 0 done, 1 it failed (unreachable Redis, a failed fetch, an unknown or
taken name), 2 bad input (config, options, an unreadable OPML file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import orjson
from cssselect import SelectorError
from lxml.cssselect import CSSSelector
from redis.asyncio import Redis

from feedsvc import __version__, keys
from feedsvc.api import source_json
from feedsvc.config import SOURCE_KINDS, ConfigError, Settings, load_settings
from feedsvc.dates import duration
from feedsvc.fetch import Fetcher, FetchError, new_session
from feedsvc.ingest import Ingestor
from feedsvc.lifecycle import StartupError, open_redis, serve
from feedsvc.logs import setup_logging
from feedsvc.models import Source, SourceStatus, identity_key, slugify
from feedsvc.opml import (
    OpmlDocument,
    OpmlError,
    Rejected,
    plan_import,
    read_opml,
    source_outline,
    write_opml,
)
from feedsvc.parse import ParseError
from feedsvc.scheduler import SYNC_EVERY
from feedsvc.sources import SOURCE_NAME, SourceError, SourceRegistry, check_source
from feedsvc.store import Store
from feedsvc.web import make_app, receives_webhook

PROGRESS_MIN = 200  # outlines; smaller imports finish before a bar would help
MAX_LISTED = 20  # skipped/invalid outlines named one by one; the rest are counted

Command = Callable[[Settings, argparse.Namespace], int]


class CommandError(Exception):
    """A command cannot do what was asked: one line for the user, and the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return 2
    setup_logging(logging.DEBUG if args.verbose else args.log_level, _secrets(settings))
    try:
        return args.func(settings, args)
    except CommandError as exc:
        print(f"feedsvc: {exc}", file=sys.stderr)
        return exc.code
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
        "bot": ("the Telegram bot: commands and push delivery", ("bot",)),
    }
    for name, (help_text, roles) in commands.items():
        cmd = _command(sub, name, help_text, _serve_roles(*roles))
        cmd.set_defaults(log_level=logging.INFO)
    _sources_parser(sub)
    _ingest_parser(sub)
    _opml_parsers(sub)
    return parser


def _command(
    sub: argparse._SubParsersAction, name: str, help_text: str, func: Command | None
) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text, description=help_text)
    _common_options(cmd, default=argparse.SUPPRESS)
    # One-shot commands print their own results; log lines only for problems.
    cmd.set_defaults(func=func, log_level=logging.WARNING)
    return cmd


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    # Accepted before or after the command; SUPPRESS keeps a sub-command from
    # resetting what was given before it.
    parser.add_argument("-c", "--config", metavar="PATH", default=default, help="TOML config file")
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default or False, help="debug logging"
    )


def _serve_roles(*roles: str) -> Command:
    def command(settings: Settings, args: argparse.Namespace) -> int:
        app = make_app(settings, roles)
        listens = "web" in roles or ("bot" in roles and receives_webhook(settings))
        host = settings.service.host if listens else None
        asyncio.run(serve(app, host, settings.service.port))
        return 0

    return command


def _secrets(settings: Settings) -> list[str]:
    return [settings.telegram.token, settings.telegram.webhook_secret, *settings.api.tokens]


def _with_redis(settings: Settings, work: Callable[[Redis], Awaitable[int]]) -> int:
    async def run() -> int:
        async with open_redis(settings) as (redis, _mode):
            return await work(redis)

    return asyncio.run(run())


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _check_category(name: str) -> None:
    try:
        slugify(name)
    except ValueError as exc:
        raise CommandError(f"--category: {exc}", 2) from None


# --- sources list | add | remove ---------------------------------------------------------


def _sources_parser(sub: argparse._SubParsersAction) -> None:
    sources = _command(sub, "sources", "list, add or remove sources", None)
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = _command(actions, "list", "every source and how its polls went", _sources_list)
    listing.add_argument("--json", action="store_true", help="the same JSON as GET /api/sources")

    add = _command(actions, "add", "add a source; running workers pick it up", _sources_add)
    add.add_argument("name", help="1-64 letters, digits, '.', '_' or '-'")
    add.add_argument("url", help="the feed URL, or the listing page for --kind html")
    add.add_argument("--kind", choices=SOURCE_KINDS, default="feed", help="default: feed")
    add.add_argument("--category", default="", help="category for entries that name none")
    add.add_argument("--interval", type=_positive, metavar="SECONDS", help="default: poll.interval")
    add.add_argument(
        "--link-selector", default="", metavar="CSS", help="--kind html: CSS for article links"
    )

    remove = _command(actions, "remove", "stop polling a source added at run time", _sources_rm)
    remove.add_argument("name")


def _sources_list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        registry = SourceRegistry(redis, settings)
        sources = await registry.all()
        statuses = await registry.statuses([s.name for s in sources])
        now = time.time()
        if args.json:
            pairs = zip(sources, statuses, strict=True)
            body = {"sources": [source_json(s, st, now) for s, st in pairs]}
            print(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        elif not sources:
            print("No sources yet: add one with `feedsvc sources add NAME URL`")
            print("or import a list with `feedsvc import-opml FILE`.")
        else:
            print(sources_table(sources, statuses, now, ZoneInfo(settings.service.timezone)))
        return 0

    return _with_redis(settings, work)


def sources_table(
    sources: Sequence[Source], statuses: Sequence[SourceStatus], now: float, tz: tzinfo
) -> str:
    """The table `sources list` prints; a failing source's last error on its own line."""
    header = ("NAME", "KIND", "EVERY", "FROM", "STATE", "LAST OK", "NEXT POLL", "URL")
    rows = [
        (
            s.name,
            s.kind,
            duration(s.interval),
            s.origin,
            source_state(st),
            ago(st.last_success, now, tz),
            until(st.next_poll, now, tz),
            s.url,
        )
        for s, st in zip(sources, statuses, strict=True)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [_table_line(header, widths)]
    for row, source, status in zip(rows, sources, statuses, strict=True):
        lines.append(_table_line(row, widths))
        lines.extend(_notes(source, status, now, tz))
    return "\n".join(lines)


def _table_line(row: Sequence[str], widths: Sequence[int]) -> str:
    cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
    return "  ".join([*cells, row[-1]]).rstrip()


def _notes(source: Source, status: SourceStatus, now: float, tz: tzinfo) -> list[str]:
    notes = []
    if status.failures and status.last_error:
        notes.append(f"    error ({ago(status.last_error_at, now, tz)}): {status.last_error}")
    if status.url and status.url != source.url and status.defined_url == source.url:
        notes.append(f"    moved permanently to {status.url}")
    return notes


def source_state(status: SourceStatus) -> str:
    if status.failures:
        return f"failing ({status.failures})"
    if status.last_success is None:
        return "never polled"
    return "ok"


def ago(ts: float | None, now: float, tz: tzinfo) -> str:
    """A past time as "5 min ago"; more than a week back, as a date."""
    if ts is None:
        return "-"
    return _relative(now - ts, ts, tz, "{} ago")


def until(ts: float | None, now: float, tz: tzinfo) -> str:
    if ts is None:
        return "-"
    if ts <= now:
        return "due now"
    return _relative(ts - now, ts, tz, "in {}")


def _relative(seconds: float, ts: float, tz: tzinfo, form: str) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "just now" if form == "{} ago" else form.format(f"{seconds:.0f} s")
    if seconds < 3600:
        return form.format(f"{seconds // 60:.0f} min")
    if seconds < 86400:
        return form.format(f"{seconds // 3600:.0f} h")
    if seconds < 7 * 86400:
        return form.format(f"{seconds // 86400:.0f} d")
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")


def _sources_add(settings: Settings, args: argparse.Namespace) -> int:
    source = _new_source(settings, args)

    async def work(redis: Redis) -> int:
        registry = SourceRegistry(redis, settings)
        same_url = _same_url(await registry.all(), source.url)
        if same_url is not None:
            raise CommandError(f"source {same_url.name} already polls {same_url.url}")
        if not await registry.add(source):
            raise CommandError(f"a source named {source.name!r} already exists")
        return 0

    _with_redis(settings, work)
    category = f", category {source.category}" if source.category else ""
    every = duration(source.interval)
    print(f"Added source {source.name}: {source.kind} {source.url}{category}, every {every}.")
    print(
        f"Running `feedsvc run` and `feedsvc worker` processes pick it up within "
        f"{SYNC_EVERY:.0f} s (they re-read the source list) and poll it soon after."
    )
    return 0


def _new_source(settings: Settings, args: argparse.Namespace) -> Source:
    """The source `sources add` means, checked before Redis is touched (bad input: exit 2)."""
    source = Source(
        name=args.name,
        url=args.url,
        kind=args.kind,
        category=args.category,
        interval=args.interval or settings.poll.interval,
        link_selector=args.link_selector,
        origin="added",
    )
    try:
        check_source(source)
    except SourceError as exc:
        raise CommandError(str(exc), 2) from None
    if source.link_selector:
        if source.kind != "html":
            raise CommandError("--link-selector only applies to --kind html", 2)
        _check_selector(source.link_selector)
    return source


def _check_selector(css: str) -> None:
    try:
        CSSSelector(css)
    except SelectorError as exc:
        raise CommandError(f"--link-selector {css!r} is not a CSS selector: {exc}", 2) from None


def _same_url(sources: Sequence[Source], url: str) -> Source | None:
    wanted = identity_key(url)
    return next((s for s in sources if identity_key(s.url) == wanted), None)


def _sources_rm(settings: Settings, args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        try:
            await SourceRegistry(redis, settings).remove(args.name)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        return 0

    _with_redis(settings, work)
    print(f"Removed source {args.name}; its articles stay in the store.")
    print(f"Running workers stop polling it within {SYNC_EVERY:.0f} s.")
    return 0


# --- ingest --------------------------------------------------------------------------------


def _ingest_parser(sub: argparse._SubParsersAction) -> None:
    ingest = _command(sub, "ingest", "fetch a feed or page once into the store", _ingest)
    ingest.add_argument("url")
    ingest.add_argument("--category", default="", help="category for entries that name none")
    ingest.add_argument(
        "--kind",
        choices=("auto", *SOURCE_KINDS),
        default="auto",
        help="auto (default): a feed, else a listing page, else one article page",
    )
    ingest.add_argument("--name", help="source name the articles carry (default: the host)")
    ingest.add_argument(
        "--link-selector", default="", metavar="CSS", help="CSS for article links on a listing"
    )
    ingest.add_argument(
        "--push",
        action="store_true",
        help="push new, fresh articles to Telegram (default: store them only)",
    )


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    source = _ingest_source(settings, args)

    async def work(redis: Redis) -> int:
        registry = SourceRegistry(redis, settings)
        store = Store(redis, retention=settings.store.retention)
        async with new_session(settings.user_agent) as session:
            fetcher = Fetcher(
                session, timeout=settings.poll.timeout, max_bytes=settings.poll.max_bytes
            )
            ingestor = Ingestor(store, registry, fetcher, settings)
            try:
                what, counts = await ingestor.ingest_once(source, args.kind, args.push)
            except (FetchError, ParseError) as exc:
                raise CommandError(f"{source.url}: {exc}") from None
            finally:
                await _forget_pages(registry, source.name)
        print(f"{source.url}: {what}, as source {source.name}: {counts}")
        if counts.new and not args.push:
            print("New articles are stored, not pushed; add --push to push the fresh ones.")
        return 0

    # The command reports the outcome itself; the poller's "next try in …" would mislead.
    with _quiet("feedsvc.ingest", enabled=not args.verbose):
        return _with_redis(settings, work)


@contextlib.contextmanager
def _quiet(logger_name: str, *, enabled: bool) -> Iterator[None]:
    """Errors only from one logger for a while (restored: `main` may run in-process)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    if enabled:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _ingest_source(settings: Settings, args: argparse.Namespace) -> Source:
    source = Source(
        name=args.name or _host_name(args.url),
        url=args.url,
        kind="html" if args.kind == "html" else "feed",
        category=args.category,
        interval=settings.poll.interval,
        link_selector=args.link_selector,
        origin="ingest",
    )
    try:
        check_source(source)
    except SourceError as exc:
        raise CommandError(str(exc), 2) from None
    if source.link_selector:
        if args.kind == "feed":
            raise CommandError("--link-selector does not apply to --kind feed", 2)
        _check_selector(source.link_selector)
    return source


def _host_name(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    return host if SOURCE_NAME.match(host) else "ingest"


async def _forget_pages(registry: SourceRegistry, name: str) -> None:
    # The listing path remembers fetched pages per source; a one-off name should not
    # leave that behind (nor make the next ingest of the same page skip them).
    if await registry.get(name) is None:
        await registry.redis.delete(keys.source_seen(name))


# --- import-opml / export-opml ---------------------------------------------------------


def _opml_parsers(sub: argparse._SubParsersAction) -> None:
    imp = _command(sub, "import-opml", "add every feed of an OPML file as a source", _import)
    imp.add_argument("file", help="OPML 1.0 or 2.0 file; - reads standard input")
    imp.add_argument("--category", default="", help="category for all (default: the feed's folder)")
    imp.add_argument("--interval", type=_positive, metavar="SECONDS", help="default: poll.interval")
    imp.add_argument("--dry-run", action="store_true", help="say what would be added, add nothing")

    exp = _command(sub, "export-opml", "every source as OPML 2.0", _export)
    exp.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")


def _import(settings: Settings, args: argparse.Namespace) -> int:
    if args.category:
        _check_category(args.category)
    document = read_opml_file(args.file)

    async def work(redis: Redis) -> int:
        registry = SourceRegistry(redis, settings)
        plan = plan_import(
            document.feeds,
            await registry.all(),
            default_interval=settings.poll.interval,
            category=args.category,
            interval=args.interval,
        )
        if not args.dry_run:
            plan.skipped += await _add_all(registry, plan.add)
        _import_report(args.file, plan.add, plan.skipped, plan.invalid, document.ignored, args)
        return 0

    return _with_redis(settings, work)


def read_opml_file(name: str) -> OpmlDocument:
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}", 2) from None
    try:
        return read_opml(data)
    except OpmlError as exc:
        raise CommandError(f"{name}: {exc}", 2) from None


async def _add_all(registry: SourceRegistry, sources: list[Source]) -> list[Rejected]:
    """Add in order; returns those whose name was taken meanwhile (another import)."""
    lost = []
    progress = Progress(len(sources), "importing") if len(sources) >= PROGRESS_MIN else None
    for source in sources:
        if not await registry.add(source):
            lost.append(source)
        if progress:
            progress.advance()
    if progress:
        progress.finish()
    for source in lost:
        sources.remove(source)
    return [Rejected(source_outline(s), f"name {s.name} was taken meanwhile") for s in lost]


def _import_report(
    file: str,
    added: list[Source],
    skipped: list[Rejected],
    invalid: list[Rejected],
    ignored: int,
    args: argparse.Namespace,
) -> None:
    verb = "would add" if args.dry_run else "added"
    counts = f"{len(added)} {verb}, {len(skipped)} skipped, {len(invalid)} invalid"
    extra = f", {ignored} outlines without xmlUrl ignored" if ignored else ""
    print(f"{file}: {counts}{extra}")
    if args.dry_run:
        _print_some("add", [f"{s.name}: {s.url} ({s.category or 'no category'})" for s in added])
    _print_some("skipped", [_rejected_line(r) for r in skipped])
    _print_some("invalid", [_rejected_line(r) for r in invalid])
    if added and not args.dry_run:
        print(f"Running workers pick the new sources up within {SYNC_EVERY:.0f} s.")


def _rejected_line(rejected: Rejected) -> str:
    o = rejected.outline
    where = f"line {o.line}: " if o.line else ""
    return f"{where}{o.title or o.text or '(untitled)'} <{o.xml_url}>: {rejected.why}"


def _print_some(label: str, lines: list[str]) -> None:
    for line in lines[:MAX_LISTED]:
        print(f"  {label}: {line}")
    if len(lines) > MAX_LISTED:
        print(f"  … and {len(lines) - MAX_LISTED} more")


def _export(settings: Settings, args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        sources = await SourceRegistry(redis, settings).all()
        data = write_opml(
            [source_outline(s) for s in sources], title=f"{settings.service.title}: sources"
        )
        _write_output(data, args.output)
        if args.output:
            print(f"Wrote {len(sources)} sources to {args.output}.", file=sys.stderr)
        return 0

    return _with_redis(settings, work)


def _write_output(data: bytes, path: str | None) -> None:
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None


class Progress:
    """A progress bar on a terminal; elsewhere (logs, pipes) a line every 10 %."""

    WIDTH = 30

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.shown = 0  # percent last drawn, or tenth last printed

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        percent = self.done * 100 // self.total
        if self.tty and percent != self.shown:
            filled = self.WIDTH * self.done // self.total
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {percent:3d}% {self.done}/{self.total}")
            self.stream.flush()
            self.shown = percent
        elif not self.tty and percent // 10 > self.shown:
            self.shown = percent // 10
            print(f"{self.label}: {percent}% ({self.done}/{self.total})", file=self.stream)

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
