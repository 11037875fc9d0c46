"""When each source is polled next: pure decisions taking `now` and a random number.

Tests pass both in. The loop that acts on these lives in `poller`.
"""

from __future__ import annotations

MAX_BACKOFF = 24 * 3600.0
JITTER = 0.1  # ±10 % on the regular interval, so sources drift apart
MIN_LEASE = 300.0  # poll.lease: a claim holds at least this long
SHORT_INTERVAL = 60.0  # below this, warn once: it is rude to most news sites


def next_poll_after_success(
    now: float, interval: float, rand: float, lower_bound: float | None = None
) -> float:
    """Regular interval with jitter; a server's hint (max-age, ttl) is a floor."""
    delay = interval * (1 + JITTER * (2 * rand - 1))
    if lower_bound:
        delay = max(delay, min(lower_bound, MAX_BACKOFF))
    return now + delay


def next_poll_after_failure(
    now: float, interval: float, failures: int, rand: float, retry_after: float | None = None
) -> float:
    """Exponential backoff from the interval, jittered, capped at a day; Retry-After is a floor."""
    base = min(MAX_BACKOFF, interval * 2 ** min(max(failures, 1) - 1, 30))
    delay = min(MAX_BACKOFF, base * (0.75 + 0.5 * rand))
    if retry_after:
        delay = max(delay, min(retry_after, MAX_BACKOFF))
    return now + delay


def first_poll(now: float, interval: float, rand: float) -> float:
    """Spread the first polls of many sources over a short while instead of all at once."""
    return now + rand * min(interval, 30.0)


def lease_seconds(timeout: float, minimum: float = MIN_LEASE) -> float:
    """How long a claim holds: longer than any one poll may take (see Poller)."""
    return max(minimum, 8 * timeout)
