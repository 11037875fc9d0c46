"""`feedsvc sources list | add | remove | poll`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

import orjson
from cssselect import SelectorError
from lxml.cssselect import CSSSelector
from redis.asyncio import Redis

from feedsvc.cli.common import (
    CommandError,
    add_command,
    positive,
    quiet,
    with_redis,
)
from feedsvc.config import SOURCE_KINDS, Settings
from feedsvc.dates import age_unit, duration
from feedsvc.ingest.entries import Counts
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.poller import SYNC_EVERY, Schedule
from feedsvc.ingest.schedule import lease_seconds
from feedsvc.ingest.sources import SourceError, SourceRegistry, check_source
from feedsvc.ingest.status import MOVE_AFTER_POLLS
from feedsvc.models import Source, SourceStatus, identity_key
from feedsvc.publish.api import source_json


def add_parser(sub: argparse._SubParsersAction) -> None:
    sources = add_command(sub, "sources", "list, add or remove sources", None)
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = add_command(actions, "list", "every source and how its polls went", _sources_list)
    listing.add_argument("--json", action="store_true", help="the same JSON as GET /api/sources")

    add = add_command(actions, "add", "add a source; running workers pick it up", _sources_add)
    add.add_argument("name", help="1-64 letters, digits, '.', '_' or '-'")
    add.add_argument("url", help="the feed URL, or the listing page for --kind html")
    add.add_argument("--kind", choices=SOURCE_KINDS, default="feed", help="default: feed")
    add.add_argument("--category", default="", help="category for entries that name none")
    add.add_argument("--interval", type=positive, metavar="SECONDS", help="default: poll.interval")
    add.add_argument(
        "--link-selector", default="", metavar="CSS", help="--kind html: CSS for article links"
    )
    add.add_argument(
        "--full-content",
        action="store_true",
        help="--kind feed: fetch each new entry's page for the full text (excerpt-only feeds)",
    )

    remove = add_command(actions, "remove", "stop polling a source added at run time", _sources_rm)
    remove.add_argument("name")

    poll = add_command(actions, "poll", "poll a source now and print the outcome", _sources_poll)
    poll.add_argument("name")


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

    return with_redis(settings, work)


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
    if status.warning:
        notes.append(f"    warning: {status.warning}")
    if status.excerpt_only and not source.full_content:
        notes.append(
            "    excerpt only: its entries carry a summary, not the article; with "
            "full_content = true (sources add --full-content) each new entry's page gives the text"
        )
    if status.url and status.url != source.url and status.defined_url == source.url:
        notes.append(f"    moved permanently to {status.url}")
    elif status.moved_to:
        seen = f"seen on {status.moved_seen} of the {MOVE_AFTER_POLLS} polls needed"
        notes.append(f"    redirected permanently to {status.moved_to} ({seen})")
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


_EN_UNITS = {"minute": "min", "hour": "h", "day": "d"}  # a week or more: the date


def _relative(seconds: float, ts: float, tz: tzinfo, form: str) -> str:
    seconds = max(0.0, seconds)
    unit, count = age_unit(seconds)
    if unit == "second":
        return "just now" if form == "{} ago" else form.format(f"{seconds:.0f} s")
    if unit in _EN_UNITS:
        return form.format(f"{count} {_EN_UNITS[unit]}")
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

    with_redis(settings, work, creates=True)
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
        full_content=args.full_content,
    )
    try:
        check_source(source)
    except SourceError as exc:
        raise CommandError(str(exc), 2) from None
    if source.link_selector:
        if source.kind != "html":
            raise CommandError("--link-selector only applies to --kind html", 2)
        check_selector(source.link_selector)
    return source


def check_selector(css: str) -> None:
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

    with_redis(settings, work)
    print(f"Removed source {args.name}; its articles stay in the store.")
    print(f"Running workers stop polling it within {SYNC_EVERY:.0f} s.")
    return 0


def _sources_poll(settings: Settings, args: argparse.Namespace) -> int:
    """One poll now, in this process, under a claim of the shared schedule (so no
    worker polls the source at the same time); the outcome is saved as any poll's."""

    async def work(redis: Redis) -> int:
        registry = SourceRegistry(redis, settings)
        source = await registry.get(args.name)
        if source is None:
            raise CommandError(f"no source named {args.name!r}; `feedsvc sources list` names them")
        status, counts = await poll_now(redis, registry, settings, source)
        tz = ZoneInfo(settings.service.timezone)
        print(poll_outcome(source, status, counts, time.time(), tz))
        return 1 if status.failures else 0

    with quiet("feedsvc.ingest.pipeline", enabled=not args.verbose):
        return with_redis(settings, work)


async def poll_now(
    redis: Redis, registry: SourceRegistry, settings: Settings, source: Source
) -> tuple[SourceStatus, Counts]:
    schedule = Schedule(redis)
    lease = lease_seconds(settings.poll.timeout, settings.poll.lease)
    if not await schedule.take(source.name, time.time(), lease):
        raise CommandError(
            f"source {source.name} is being polled right now by a running worker; "
            "`feedsvc sources list` shows the outcome"
        )
    status = await registry.status(source.name)
    try:
        async with new_session(settings.user_agent) as session:
            ingestor = Ingestor.from_settings(settings, redis, session)
            status, counts = await ingestor.poll_counted(source, status)
            await registry.save_status(status)
    finally:
        await schedule.finish(source.name, status.next_poll or time.time())
    return status, counts


def poll_outcome(
    source: Source, status: SourceStatus, counts: Counts, now: float, tz: tzinfo
) -> str:
    """What `sources poll` prints: the counts, or the error; and when the next poll is."""
    url = status.url or source.url
    if status.failures:
        head = f"{source.name}: poll of {url} failed: {status.last_error}"
        return f"{head}\nNext try {until(status.next_poll, now, tz)} (failure {status.failures})."
    return f"{source.name}: polled {url}: {counts}.\nNext poll {until(status.next_poll, now, tz)}."
