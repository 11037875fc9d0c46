"""Entries into articles: pure decisions about what a poll stores and what it pushes.

Nothing here does I/O: the pipeline passes `now` (the poll's time) and gets back
articles, counts and one-line warnings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feedsvc.ingest.parse import Entry, ParsedFeed
from feedsvc.ingest.parse.entry import one_line
from feedsvc.models import DEFAULT_CATEGORY, Article, Source, slugify, stable_id

UNTITLED = "(tanpa judul)"
FUTURE_SLACK = timedelta(minutes=10)
MAX_ENTRY_CATEGORIES = 10  # a feed's tag cloud on every item is noise, not categories


@dataclass(frozen=True, slots=True)
class Counts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    old: int = 0
    skipped: int = 0  # entries that could not be stored, or were over poll.max_entries
    why: tuple[str, ...] = ()  # the first few reasons
    removed: int = 0  # entries of articles removed by hand: not stored again

    def __str__(self) -> str:
        text = (
            f"{self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.old} too old"
        )
        text += f", {self.removed} removed earlier" if self.removed else ""
        return text + (f", {self.skipped} skipped" if self.skipped else "")


def skipped_warning(counts: Counts) -> str:
    """`2 entries skipped: entry 3: …; entry 7: …`, one line for the source's status."""
    if not counts.skipped:
        return ""
    noun = "entry" if counts.skipped == 1 else "entries"
    return one_line(f"{counts.skipped} {noun} skipped: " + "; ".join(counts.why), 300)


def feed_warning(parsed: ParsedFeed, counts: Counts) -> str:
    """What a successful feed poll still tells the owner: no entries, or entries skipped."""
    if not parsed.entries and not parsed.skipped:
        why = f" ({parsed.error})" if parsed.error else ""
        return one_line(f"the feed has no entries{why}", 300)
    return skipped_warning(counts)


def to_article(entry: Entry, source: Source, first_seen: datetime) -> Article:
    """The stored form of an entry: identity, categories, and a date it can sort by."""
    link = entry.canonical or entry.link
    identity = entry.guid or link or f"{source.name}|{entry.title}|{entry.published}"
    # Whole seconds: the store reads a first-seen time back from its millisecond score,
    # and a finer time would hash differently there and rewrite the entry once.
    first_seen = first_seen.replace(microsecond=0)
    published = trusted_date(entry, first_seen) or first_seen
    updated = entry.updated if entry.updated and entry.updated != published else None
    if updated is not None and updated > first_seen + FUTURE_SLACK:  # as untrusted
        updated = None
    return Article(
        id=stable_id(identity),
        title=entry.title or UNTITLED,
        link=link,
        categories=article_categories(entry.categories, source.category),
        published=published,
        updated=updated,
        author=entry.author,
        summary=entry.summary,
        content=entry.content,
        source=source.name,
        guid=entry.guid,
        image=entry.image,
    )


def trusted_date(entry: Entry, first_seen: datetime) -> datetime | None:
    """The entry's own date, or None: it has none, or one past `first_seen` + FUTURE_SLACK
    (a site's clock or time zone is off; the store keeps the first-seen time instead)."""
    when = entry.published or entry.updated
    if when is None or when > first_seen.replace(microsecond=0) + FUTURE_SLACK:
        return None
    return when


def has_future_date(entry: Entry, first_seen: datetime) -> bool:
    """True when the entry has a date and it is not trusted (for the one log line)."""
    dated = (entry.published or entry.updated) is not None
    return dated and trusted_date(entry, first_seen) is None


def article_categories(names: Iterable[str], fallback: str) -> tuple[str, ...]:
    """The usable names, the first MAX_ENTRY_CATEGORIES distinct ones; else the fallback."""
    usable: dict[str, str] = {}
    for name in names:
        try:
            slug = slugify(name)
        except ValueError:
            continue
        usable.setdefault(slug, name)
        if len(usable) == MAX_ENTRY_CATEGORIES:
            break
    return tuple(usable.values()) or (fallback or DEFAULT_CATEGORY,)


def newest(entries: list[Entry], limit: int) -> tuple[list[Entry], int]:
    """The `limit` newest entries (undated ones count as new), in document order."""
    if len(entries) <= limit:
        return entries, 0
    latest = datetime.max.replace(tzinfo=UTC)
    order = sorted(
        range(len(entries)),
        key=lambda i: entries[i].published or entries[i].updated or latest,
        reverse=True,
    )
    keep = sorted(order[:limit])
    return [entries[i] for i in keep], len(entries) - limit


def is_pushable(article: Article, primed: bool, now: datetime, max_age_hours: float) -> bool:
    """Push only what a primed source finds that is still fresh."""
    return primed and article.published >= now - timedelta(hours=max_age_hours)
