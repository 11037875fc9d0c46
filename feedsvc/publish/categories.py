"""Which categories are shown: the index page, /opml and the bot's /kategori.

Feeds tag their items freely, and every tag becomes a category; most hold a post
or two. A category is shown when it is configured (a source's category or one of
`telegram.push_categories`) or holds at least MIN_ARTICLES articles; the largest
first, at most MAX_SHOWN, configured ones always. The rest keep their feeds and
their place on their articles, and /api/categories lists them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from feedsvc.config import Settings
from feedsvc.models import slugify
from feedsvc.storage.store import Category

MIN_ARTICLES = 5  # more than a handful of posts
MAX_SHOWN = 30  # a phone screen of links, and well inside one Telegram message


def configured_names(settings: Settings) -> list[str]:
    """The categories the config names: sources' categories, then push_categories."""
    names = [s.category for s in settings.sources if s.category]
    return list(dict.fromkeys([*names, *settings.telegram.push_categories]))


def configured_slugs(settings: Settings) -> frozenset[str]:
    """Slugs of the categories the config names."""
    return frozenset(slugify(name) for name in configured_names(settings))


def shown_categories(
    categories: Sequence[Category],
    configured: Iterable[str],
    *,
    min_articles: int = MIN_ARTICLES,
    limit: int = MAX_SHOWN,
) -> list[Category]:
    """The categories worth listing, in the given order (largest first from the store)."""
    if len(categories) <= limit:
        return list(categories)
    wanted = frozenset(configured)
    mine = [c for c in categories if c.slug in wanted]
    others = [c for c in categories if c.slug not in wanted and c.count >= min_articles]
    keep = {c.slug for c in [*mine, *others][: max(limit, len(mine))]}
    return [c for c in categories if c.slug in keep]
