"""`feedsvc preview ID` and `feedsvc subscriptions list`: the bot's side, without a bot.

Neither needs a Telegram token nor the internet: they read the store and the
subscriptions in Redis and build the push with the bot's own message builder.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.delivery.push import compose, recipients
from bot.messages import MAX_CAPTION, MAX_TEXT, utf16_length
from bot.subscriptions import ChatSettings, Subscriptions
from feedsvc.cli.common import CommandError, add_command, article_id, with_redis
from feedsvc.config import Settings
from feedsvc.dates import format_wita_short
from feedsvc.ingest.entries import is_pushable
from feedsvc.models import Article
from feedsvc.storage.store import Store


def add_parsers(sub: argparse._SubParsersAction) -> None:
    preview = add_command(
        sub, "preview", "what the bot would push for an article, and to whom", _preview
    )
    preview.add_argument("id", help="the article id, as `feedsvc articles list` shows it")

    subs = add_command(sub, "subscriptions", "the chats the bot pushes to", None)
    actions = subs.add_subparsers(dest="action", required=True, metavar="ACTION")
    add_command(actions, "list", "every chat with its categories, keywords and quiet hours", _list)


def _preview(settings: Settings, args: argparse.Namespace) -> int:
    wanted = article_id(args.id)

    async def work(redis: Redis) -> int:
        article = await Store(redis).get(wanted)
        if article is None:
            raise CommandError(f"no article {wanted} in the store")
        chats = await recipients(Subscriptions(redis), settings.telegram, article.slugs, article)
        print(preview_text(article, chats, settings, datetime.now(UTC)))
        return 0

    return with_redis(settings, work)


def preview_text(article: Article, chats: Sequence[str], settings: Settings, now: datetime) -> str:
    """The article, the push as Telegram would get it (method, HTML, length), its chats."""
    telegram = settings.telegram
    outgoing = compose(article, "0", photo=telegram.photos)
    if outgoing.method == "send_photo":
        html, limit = outgoing.kwargs["caption"], MAX_CAPTION
        kind = f"sendPhoto {outgoing.kwargs['photo']} with a caption"
    else:
        html, limit, kind = outgoing.kwargs["text"], MAX_TEXT, "sendMessage"
    fresh = is_pushable(article, True, now, telegram.max_push_age_hours)
    when = "fresh enough to push" if fresh else (
        f"older than telegram.max_push_age_hours ({telegram.max_push_age_hours:g} h): never pushed"
    )  # fmt: skip
    lines = [
        f"Article {article.id}: {article.title}",
        f"  {', '.join(article.categories)} | {format_wita_short(article.published)} | "
        f"source {article.source} | {when}",
        f"Push: {kind}, {utf16_length(html)} of {limit} UTF-16 units; its HTML:",
        "",
        html,
        "",
        _who(chats, settings),
    ]
    return "\n".join(lines)


def _who(chats: Sequence[str], settings: Settings) -> str:
    if not chats:
        return "Chats: none (nobody subscribes to its categories, or no keyword matches)."
    channels = {str(c) for c in settings.telegram.channels}
    named = [f"{c} (telegram.channels)" if c in channels else c for c in chats]
    return f"Chats ({len(chats)}): " + ", ".join(named)


def _list(settings: Settings, args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        listing = await Subscriptions(redis).listing()
        print(subscriptions_table(listing, settings))
        return 0

    return with_redis(settings, work)


def subscriptions_table(listing: Sequence[ChatSettings], settings: Settings) -> str:
    """One line per chat (or forum topic): categories, keywords, quiet hours."""
    header = ("CHAT", "CATEGORIES", "QUIET", "KEYWORDS")
    rows = [
        (
            c.chat,
            ",".join(c.slugs),
            c.quiet or "-",
            "; ".join(f"{slug}: {words}" for slug, words in sorted(c.keywords.items())) or "-",
        )
        for c in listing
    ]
    lines = []
    if rows:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
    else:
        lines.append("No chat has subscribed yet (/langganan in Telegram subscribes one).")
    telegram = settings.telegram
    if telegram.channels:
        slugs = ",".join(telegram.push_slugs)
        channels = ", ".join(str(c) for c in telegram.channels)
        lines.append(f"telegram.channels ({channels}) get every push of {slugs}.")
    return "\n".join(lines)
