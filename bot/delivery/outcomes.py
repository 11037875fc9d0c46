"""What happens after one send: a pure decision from Telegram's answer (or its absence).

In: the exception a send raised (None when Telegram took the message), how many
times this message was tried already, and a random number for jitter. Out: a
`Step`, what the ledger records and what the sender does next.

The rule is "exactly once for every send Telegram answered":
- taken: recorded as sent, with the message id Telegram gave it;
- certainly not sent (a 5xx, a refused or reset connection, a pool or connect
  timeout, any other network error, a 429): the claim is given back and the same
  message is tried again after a jittered backoff from 1 s, capped (a 429 waits
  what Telegram asked, for every bot process);
- in doubt (a timeout after the request left, an answer we cannot read): kept as
  `in_doubt`, never resent: a lost alert is better than a duplicate;
- refused for good: the chat blocked the bot or is gone (unsubscribe), a forum
  topic was deleted or closed (that topic unsubscribes), migrated (follow it), or
  Telegram rejected the message (logged as failed); an edit of a message that is
  gone or already says it is `not_edited`.

python-telegram-bot's exceptions are recognised by class name (their names are
its public API), so this module needs neither the telegram package nor HTTP and
is tested with plain exception objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

RETRY_START = 1.0  # seconds before the first retry
RETRY_CAP = 30.0  # the longest wait between two tries
WHY_LENGTH = 120  # of the error text kept for the log line
# Causes of a TimedOut that mean the request never left this process.
NOT_SENT_TIMEOUTS = frozenset({"PoolTimeout", "ConnectTimeout"})
# How Telegram refuses a photo it cannot use (a bad URL, too big, not an image); the
# message itself would do, so it goes again as text.
PHOTO_REFUSALS = (
    "wrong file identifier",
    "failed to get http url content",
    "photo_invalid_dimensions",
    "wrong type of the web page content",
    "photo_save_file_invalid",
    "image_process_failed",
    "wrong remote file identifier",
)
# An edit Telegram had no use for: the same words already, or the message is gone
# (deleted by the chat) or too old to edit. Nothing to do, nothing to retry.
NOT_EDITED = ("message is not modified", "message to edit not found", "message can't be edited")
# A forum topic deleted or closed: that topic's subscription ends, not the group's.
TOPIC_GONE = ("message thread not found", "topic_closed", "topic_deleted")


class Action(enum.StrEnum):
    DONE = "done"  # recorded; nothing more for this chat
    RETRY = "retry"  # nothing was sent: give the claim back, wait, send again
    FOLLOW = "follow"  # the chat has a new id: record, move, send there
    STOP = "stop"  # the token is refused: the bot cannot go on


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    outcome: str  # the ledger's record and the metrics label
    wait: float = 0.0  # RETRY: seconds before the next try
    pause_all: bool = False  # RETRY after a 429: every bot process holds its sends
    unsubscribe: bool = False  # the chat is gone for good
    new_chat: int | None = None  # FOLLOW: where the chat went
    why: str = ""  # for the log line


SENT = Step(Action.DONE, "sent")


def after_send(
    error: BaseException | None, attempt: int, jitter: float, failing: int | None = None
) -> Step:
    """What to do after a send that raised `error` (None: Telegram took it).

    `attempt` counts earlier tries of this message (0 on the first); `jitter` is
    uniform in [0, 1); `failing` counts the sends of the whole process that failed
    in a row, this one included (None: as many as `attempt + 1`). The backoff
    doubles only while both grow: a front end that answers most calls (a 502 on
    every 5th) gets an unlucky message's retry at 1 s, not 8 s after the fan-out;
    one that answers nobody is backed off from as before.
    """
    if error is None:
        return SENT
    kinds = _class_names(error)
    why = str(error)[:WHY_LENGTH]  # a front end's 502 page can be long
    if "RetryAfter" in kinds:
        wait = retry_seconds(error)
        return Step(Action.RETRY, "retry", wait=wait, pause_all=True, why=why)
    if "ChatMigrated" in kinds:
        new_chat = int(error.new_chat_id)  # type: ignore[attr-defined]
        return Step(Action.FOLLOW, "moved", new_chat=new_chat, why=why)
    if "InvalidToken" in kinds:
        return Step(Action.STOP, "retry", why=why)
    if "Forbidden" in kinds:
        return Step(Action.DONE, "refused", unsubscribe=True, why=why)
    if "BadRequest" in kinds:
        if "chat not found" in why.lower():
            return Step(Action.DONE, "gone", unsubscribe=True, why=why)
        if any(words in why.lower() for words in TOPIC_GONE):
            return Step(Action.DONE, "topic_gone", unsubscribe=True, why=why)
        if any(words in why.lower() for words in NOT_EDITED):
            return Step(Action.DONE, "not_edited", why=why)
        return Step(Action.DONE, "failed", why=why)
    if "TimedOut" in kinds and not _class_names(error.__cause__) & NOT_SENT_TIMEOUTS:
        return Step(Action.DONE, "in_doubt", why=why)
    if "NetworkError" in kinds:  # a 5xx, refused, reset, a timeout before leaving, ...
        doubled = attempt if failing is None else min(attempt, failing - 1)
        return Step(Action.RETRY, "retry", wait=backoff(doubled, jitter), why=why)
    return Step(Action.DONE, "in_doubt", why=why)  # an answer we could not read


def photo_refused(error: BaseException | None) -> bool:
    """Telegram refused the photo of a sendPhoto, not the chat or the caption."""
    if error is None or "BadRequest" not in _class_names(error):
        return False
    why = str(error).lower()
    return any(refusal in why for refusal in PHOTO_REFUSALS)


def backoff(attempt: int, jitter: float) -> float:
    """Seconds before try `attempt + 1`: doubling from RETRY_START up to RETRY_CAP, ±25 %."""
    base = min(RETRY_CAP, RETRY_START * 2 ** min(attempt, 16))
    return base * (0.75 + 0.5 * jitter)


def retry_seconds(error: BaseException) -> float:
    """The wait a RetryAfter asks for, in seconds."""
    # PTB >= 22.2 keeps a timedelta in `_retry_after` and its public `retry_after` warns
    # (PTBDeprecationWarning) unless PTB_TIMEDELTA is set; earlier v22 has an int there.
    value = getattr(error, "_retry_after", None)
    if value is None:
        value = error.retry_after  # type: ignore[attr-defined]
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def too_late(appended: datetime, now: datetime, max_age_hours: float) -> bool:
    """An event that waited longer than the push window is news no more: not pushed."""
    return now - appended > timedelta(hours=max_age_hours)


def _class_names(error: BaseException | None) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__} if error is not None else set()
