"""A source's status after a poll: pure transitions taking `now` and a random number.

Success or failure sets the next poll (schedule.py), counts failures, keeps the
validators for a conditional GET, and follows a permanent redirect only once it
was seen on MOVE_AFTER_POLLS polls in a row. One log line per change worth telling.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Protocol

from feedsvc.dates import duration
from feedsvc.ingest.entries import Counts
from feedsvc.ingest.schedule import next_poll_after_failure, next_poll_after_success
from feedsvc.models import Source, SourceStatus

log = logging.getLogger("feedsvc.ingest.pipeline")  # the name operators filter on

MOVE_AFTER_POLLS = 3  # polls that must see the same permanent redirect before it is followed


class Fetched(Protocol):
    """What a status keeps of a fetch (fetch.FetchResult has it; no HTTP client here)."""

    @property
    def etag(self) -> str | None: ...
    @property
    def last_modified(self) -> str | None: ...
    @property
    def moved_to(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PollOutcome:
    counts: Counts
    not_modified: bool = False
    lower_bound: float | None = None  # seconds the server asked us to wait at least
    fetch: Fetched | None = None
    warning: str = ""  # a successful poll that still needs the owner's eye
    excerpt_only: bool = False  # a feed whose entries carry a summary only


class PollCrash(Exception):
    """Something unexpected broke a poll; the source records it like any failure."""


def failed(
    source: Source,
    status: SourceStatus,
    now: float,
    exc: Exception,
    rand: float,
    traceback: BaseException | None = None,
) -> SourceStatus:
    """The status after a failed poll: one more failure, backoff, the error kept."""
    failures = status.failures + 1
    retry_after = getattr(exc, "retry_after", None)
    next_poll = next_poll_after_failure(now, source.interval, failures, rand, retry_after)
    log.log(
        logging.ERROR if traceback else logging.WARNING,
        "source %s: %s (failure %d; next try in %s)",
        source.name, exc, failures, duration(next_poll - now),
        exc_info=traceback, extra={"source": source.name},
    )  # fmt: skip
    return dataclasses.replace(
        status,
        last_poll=now,
        last_error=str(exc),
        last_error_at=now,
        failures=failures,
        next_poll=next_poll,
        polls=status.polls + 1,
    )


def succeeded(
    source: Source, status: SourceStatus, now: float, outcome: PollOutcome, rand: float
) -> SourceStatus:
    """The status after a successful poll: validators, warning, next poll, primed."""
    fetch = outcome.fetch
    status = follow_redirect(source, status, fetch)
    if fetch is not None and not outcome.not_modified:
        status = dataclasses.replace(
            status, etag=fetch.etag or "", last_modified=fetch.last_modified or ""
        )
    if outcome.counts.new or outcome.counts.updated:
        log.info("source %s: %s", source.name, outcome.counts, extra={"source": source.name})
    if not outcome.not_modified:
        if outcome.warning and outcome.warning != status.warning:
            log.warning(
                "source %s: %s", source.name, outcome.warning, extra={"source": source.name}
            )
        status = dataclasses.replace(
            status, warning=outcome.warning, excerpt_only=outcome.excerpt_only
        )
    return dataclasses.replace(
        status,
        last_poll=now,
        last_success=now,
        failures=0,
        next_poll=next_poll_after_success(now, source.interval, rand, outcome.lower_bound),
        polls=status.polls + 1,
        new_articles=status.new_articles + outcome.counts.new,
        primed=True,
    )


def follow_redirect(source: Source, status: SourceStatus, fetch: Fetched | None) -> SourceStatus:
    """Poll where a permanent redirect points, once the same one was seen on 3 polls.

    One 301 can be a hijacked or misconfigured server for a moment; polls of the
    source's own URL keep following it meanwhile, so nothing is missed.
    """
    target = fetch.moved_to if fetch is not None else None
    if not target or target == status.url:
        if status.moved_to:
            return dataclasses.replace(status, moved_to="", moved_seen=0)
        return status
    seen = status.moved_seen + 1 if target == status.moved_to else 1
    if seen < MOVE_AFTER_POLLS:
        return dataclasses.replace(status, moved_to=target, moved_seen=seen)
    log.info(
        "source %s: moved permanently from %s to %s", source.name, status.url, target,
        extra={"source": source.name},
    )  # fmt: skip
    return dataclasses.replace(status, url=target, moved_to="", moved_seen=0)


def current_target(source: Source, status: SourceStatus) -> SourceStatus:
    """Poll the redirect target, unless the source's own URL changed since."""
    if status.url and status.defined_url == source.url:
        return status
    return dataclasses.replace(
        status,
        url=source.url,
        defined_url=source.url,
        etag="",
        last_modified="",
        moved_to="",
        moved_seen=0,
    )
