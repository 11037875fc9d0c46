"""`feedsvc import-opml FILE` and `feedsvc export-opml`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from redis.asyncio import Redis

from feedsvc.cli.common import (
    CommandError,
    add_command,
    check_category,
    positive,
    with_redis,
)
from feedsvc.config import Settings
from feedsvc.ingest.poller import SYNC_EVERY
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source
from feedsvc.publish.opml import (
    OpmlDocument,
    OpmlError,
    Rejected,
    plan_import,
    read_opml,
    source_outline,
    write_opml,
)

PROGRESS_MIN = 200  # outlines; smaller imports finish before a bar would help
MAX_LISTED = 20  # skipped/invalid outlines named one by one; the rest are counted


def add_parsers(sub: argparse._SubParsersAction) -> None:
    imp = add_command(sub, "import-opml", "add every feed of an OPML file as a source", _import)
    imp.add_argument("file", help="OPML 1.0 or 2.0 file; - reads standard input")
    imp.add_argument("--category", default="", help="category for all (default: the feed's folder)")
    imp.add_argument("--interval", type=positive, metavar="SECONDS", help="default: poll.interval")
    imp.add_argument("--dry-run", action="store_true", help="say what would be added, add nothing")

    exp = add_command(sub, "export-opml", "every source as OPML 2.0", _export)
    exp.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")


def _import(settings: Settings, args: argparse.Namespace) -> int:
    if args.category:
        check_category(args.category)
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

    return with_redis(settings, work, creates=not args.dry_run)


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

    return with_redis(settings, work)


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
