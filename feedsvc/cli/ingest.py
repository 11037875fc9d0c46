"""`feedsvc ingest URL`: one fetch of a source into the store, now."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from redis.asyncio import Redis

from feedsvc.cli.common import (
    CommandError,
    add_command,
    quiet,
    with_redis,
)
from feedsvc.cli.sources import check_selector
from feedsvc.config import SOURCE_KINDS, SOURCE_NAME, Settings
from feedsvc.ingest.fetch import FetchError, new_session
from feedsvc.ingest.parse import ParseError
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.sources import SourceError, SourceRegistry, check_source
from feedsvc.models import Source
from feedsvc.storage import keys


def add_parser(sub: argparse._SubParsersAction) -> None:
    ingest = add_command(sub, "ingest", "fetch a feed or page once into the store", _ingest)
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
        async with new_session(settings.user_agent) as session:
            ingestor = Ingestor.from_settings(settings, redis, session)
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
    with quiet("feedsvc.ingest.pipeline", enabled=not args.verbose):
        return with_redis(settings, work, creates=True)


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
        check_selector(source.link_selector)
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
