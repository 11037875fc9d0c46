"""`feedsvc articles list | remove`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis

from feedsvc.cli.common import CommandError, add_command, article_id, with_redis
from feedsvc.config import Settings
from feedsvc.dates import to_wita
from feedsvc.models import Article, is_slug
from feedsvc.storage.removal import Removals
from feedsvc.storage.store import Store

log = logging.getLogger(__name__)

MAX_LIST = 1000
TITLE_WIDTH = 70


def add_parser(sub: argparse._SubParsersAction) -> None:
    articles = add_command(sub, "articles", "list or remove stored articles", None)
    actions = articles.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = add_command(actions, "list", "the newest stored articles", _list)
    listing.add_argument("--category", metavar="SLUG", help="one category (its slug: kaltara)")
    listing.add_argument(
        "--limit", type=_limit, default=20, metavar="N", help=f"how many, 1-{MAX_LIST} (default 20)"
    )

    remove = add_command(
        actions, "remove", "remove an article from every feed and listing, for good", _remove
    )
    remove.add_argument("id", help="the article id, as `feedsvc articles list` shows it")


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIST:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_LIST}")
    return int(text)


def _list(settings: Settings, args: argparse.Namespace) -> int:
    category = args.category
    if category is not None and not is_slug(category):
        raise CommandError(f"--category: {category!r} is not a category slug (e.g. kaltara)", 2)

    async def work(redis: Redis) -> int:
        store = Store(redis)
        if category is not None and await store.category(category) is None:
            raise CommandError(f"no category {category!r}; `feedsvc articles list` shows all")
        articles = await store.list(category, limit=args.limit)
        if not articles:
            print("No articles stored yet.")
        else:
            print(articles_table(articles))
        return 0

    return with_redis(settings, work)


def articles_table(articles: Sequence[Article]) -> str:
    """One line per article: id, WITA time, source, categories, title."""
    header = ("ID", "PUBLISHED (WITA)", "SOURCE", "CATEGORIES", "TITLE")
    rows = [
        (
            a.id,
            f"{to_wita(a.published):%Y-%m-%d %H:%M}",
            a.source,
            ",".join(a.slugs),
            _cut(a.title, TITLE_WIDTH),
        )
        for a in articles
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _remove(settings: Settings, args: argparse.Namespace) -> int:
    wanted = article_id(args.id)

    async def work(redis: Redis) -> int:
        article = await Store(redis).get(wanted)
        slugs = await Removals(redis).remove(wanted, datetime.now(UTC))
        if slugs is None:
            raise CommandError(f"no article {wanted} in the store; nothing removed")
        title = f" {article.title!r}" if article else ""
        print(f"Removed article {wanted}{title} from {', '.join(slugs)} and every listing.")
        print("Polls of its source will not store it again.")
        return 0

    return with_redis(settings, work)
