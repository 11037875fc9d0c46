"""Full text for excerpt-only feeds: a feed source with `full_content = true`.

Each entry whose page this source never fetched to a settled end is fetched (at most
PAGE_CONCURRENCY at once, the per-host limit polls keep, with the fetcher's
poll.timeout, poll.max_bytes and internal-address rule) and read as an article page;
its text becomes the entry's content, the feed's title, date, categories, author and
summary kept. A page that fails or gives no article text leaves the entry as the feed
gave it, and says why in the poll's warning; one that failed for a moment (a timeout,
a reset connection, HTTP 5xx or 429) is tried again on the next poll, any other end
is settled and never fetched again. Entries fetched on an earlier poll keep the
content stored then: the feed's excerpt does not overwrite the full text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from feedsvc.ingest import listing
from feedsvc.ingest.fetch import Fetcher, FetchError, FetchResult
from feedsvc.ingest.parse import ARTICLE, Entry, PageReading, ParseError
from feedsvc.ingest.parse.entry import one_line
from feedsvc.ingest.sanitize import html_to_text
from feedsvc.models import Source

MIN_TEXT = 40  # characters of article text; less is a caption or a wall's message
SUMMARY_SLACK = 20  # characters a content may have over its summary and still be it
EXCERPT_TEXT = 600  # a content cut into a summary of its own that is no longer than this
CUT_EXCERPT_TEXT = 1500  # ... or no longer than this, ending in "[…]" or "Read more"
MAX_BAD_CHARACTERS = 3  # U+FFFD or mojibake pairs: the page is not in its declared charset
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")
_CUT_OFF = re.compile(
    r"(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.|read more|selengkapnya|baca selengkapnya)\W*$",
    re.IGNORECASE,
)
_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")  # UTF-8 read as Latin-1
MAX_REASONS = 2

ReadPage = Callable[[FetchResult, float], Awaitable[PageReading]]
StoredContent = Callable[[Entry], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Filled:
    """The entries to store, and why some new entries kept their excerpt."""

    entries: list[Entry]
    fetched: int = 0
    reasons: tuple[str, ...] = ()

    def warning(self) -> str:
        if not self.reasons:
            return ""
        kept = len(self.reasons)
        head = f"full text of {kept} of {self.fetched} new entries not taken, the excerpt kept"
        return one_line(f"{head}: {'; '.join(self.reasons[:MAX_REASONS])}", 300)


def is_excerpt_only(entries: Sequence[Entry]) -> bool:
    """True when a feed's entries carry no more than a summary (WordPress's "Summary")."""
    return bool(entries) and all(_is_excerpt(entry) for entry in entries)


def _is_excerpt(entry: Entry) -> bool:
    """The entry's content is its summary (the feed gave no other), or a short text
    whose summary is a cut of it, or one that ends saying it was cut."""
    text = " ".join(html_to_text(entry.content).split())
    summary = " ".join(entry.summary.split())
    if len(text) <= len(summary.rstrip("…")) + SUMMARY_SLACK:
        return True
    if summary.endswith("…") and len(text) <= EXCERPT_TEXT:
        return True
    return len(text) <= CUT_EXCERPT_TEXT and _CUT_OFF.search(text) is not None


def with_page_text(entry: Entry, fetched: FetchResult, page: PageReading) -> Entry | str:
    """The feed's entry with the page's text as its content, or why the page gives none."""
    headers = {name.lower(): value for name, value in fetched.headers.items()}
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _HTML_TYPES:
        return f"not an HTML page ({media})"
    if page.kind != ARTICLE or page.entry is None:
        return f"no article on the page ({page.why})"
    text = html_to_text(page.entry.content)
    if text.count("\ufffd") + len(_MOJIBAKE.findall(text)) > MAX_BAD_CHARACTERS:
        return "its text does not decode in the charset the page declares"
    if len("".join(text.split())) < MIN_TEXT:
        return f"under {MIN_TEXT} characters of article text (a login or consent page?)"
    return dataclasses.replace(
        entry, content=page.entry.content, image=entry.image or page.entry.image
    )


async def fill(
    redis: Redis,
    fetcher: Fetcher,
    read: ReadPage,
    stored: StoredContent,
    source: Source,
    entries: Sequence[Entry],
    now: float,
) -> Filled:
    """`entries` with each new entry's page text as its content (see the module's doc)."""
    links = [entry.link for entry in entries if entry.link]
    new = set(await listing.unseen(redis, source, links))
    limit = asyncio.Semaphore(listing.PAGE_CONCURRENCY)

    async def one(entry: Entry) -> tuple[Entry | str, bool]:
        if not entry.link:
            return entry, False
        if entry.link not in new:
            return await _kept_text(entry, stored), False
        async with limit:
            return await _page_text(fetcher, read, source, entry, now)

    done = await asyncio.gather(*(one(entry) for entry in entries))
    results = [result for result, _ in done]
    # A page that failed for a moment is not remembered: the next poll tries it again.
    settled = {entry.link for entry, (_, ends) in zip(entries, done, strict=True) if ends}
    await listing.remember(redis, source, dict.fromkeys(settled, now))
    reasons = tuple(
        f"{entry.link}: {result}"
        for entry, result in zip(entries, results, strict=True)
        if isinstance(result, str)
    )
    filled = [
        entry if isinstance(result, str) else result
        for entry, result in zip(entries, results, strict=True)
    ]
    return Filled(filled, fetched=len(new), reasons=reasons)


async def _page_text(
    fetcher: Fetcher, read: ReadPage, source: Source, entry: Entry, now: float
) -> tuple[Entry | str, bool]:
    """The entry with its page's text, or why not; and whether that is settled."""
    try:
        fetched = await fetcher.get(entry.link, origin=source.url)
        page = await read(fetched, now)
    except FetchError as exc:
        return one_line(str(exc), 120), not exc.transient
    except ParseError as exc:
        return one_line(str(exc), 120), True
    return with_page_text(entry, fetched, page), True


async def _kept_text(entry: Entry, stored: StoredContent) -> Entry:
    """A page fetched on an earlier poll: the stored text, when longer than the feed's."""
    content = await stored(entry)
    if len(html_to_text(content)) > len(html_to_text(entry.content)):
        return dataclasses.replace(entry, content=content)
    return entry
