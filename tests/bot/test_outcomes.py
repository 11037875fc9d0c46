"""What happens after a send (bot/delivery/outcomes.py): pure, no Redis, no HTTP.

The exceptions are python-telegram-bot's own, built as its HTTP layer raises them
(telegram/request/_httpxrequest.py and _baserequest.py), causes included.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.outcomes import (
    RETRY_CAP,
    RETRY_START,
    Action,
    after_send,
    backoff,
    too_late,
)


def caused(error: TelegramError, cause: BaseException) -> TelegramError:
    error.__cause__ = cause
    return error


def flood(seconds: int) -> RetryAfter:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(seconds)


def test_taken_is_sent() -> None:
    step = after_send(None, attempt=0, jitter=0.5)
    assert (step.action, step.outcome) == (Action.DONE, "sent")


NOT_SENT = [
    NetworkError("Bad Gateway (502)"),  # a 5xx with a JSON body
    caused(NetworkError("Bad Gateway (502). Parsing failed"), TelegramError("Invalid")),
    caused(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")),
    caused(NetworkError("httpx.ReadError: "), httpx.ReadError("")),  # reset, no answer
    caused(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("gone")),
    caused(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")),  # never left
    caused(TimedOut(), httpx.ConnectTimeout("connect")),  # never left
    NetworkError("Unknown error in HTTP implementation"),
]


@pytest.mark.parametrize("error", NOT_SENT, ids=lambda e: f"{type(e).__name__}:{e.__cause__!r}")
def test_certainly_not_sent_is_retried_with_backoff(error: TelegramError) -> None:
    step = after_send(error, attempt=0, jitter=0.5)
    assert step.action is Action.RETRY and step.outcome == "retry"
    assert step.wait == RETRY_START and not step.pause_all
    assert after_send(error, attempt=3, jitter=0.5).wait == 8 * RETRY_START


def test_the_backoff_doubles_only_while_the_whole_process_keeps_failing() -> None:
    bad_gateway = NetworkError("Bad Gateway")
    # A message that failed 3 times, but other chats' sends went through between:
    assert after_send(bad_gateway, attempt=3, jitter=0.5, failing=1).wait == RETRY_START
    assert after_send(bad_gateway, attempt=3, jitter=0.5, failing=2).wait == 2 * RETRY_START
    # Everything failing: the message's own doubling, capped.
    assert after_send(bad_gateway, attempt=3, jitter=0.5, failing=40).wait == 8 * RETRY_START
    assert after_send(bad_gateway, attempt=0, jitter=0.5, failing=40).wait == RETRY_START
    assert after_send(bad_gateway, attempt=30, jitter=0.5, failing=99).wait == RETRY_CAP


@pytest.mark.parametrize(
    "error",
    [caused(TimedOut(), httpx.ReadTimeout("read")), caused(TimedOut(), httpx.WriteTimeout("w"))],
)
def test_a_timeout_after_the_request_left_is_in_doubt(error: TelegramError) -> None:
    step = after_send(error, attempt=0, jitter=0.5)
    assert (step.action, step.outcome) == (Action.DONE, "in_doubt")


def test_an_answer_we_cannot_read_is_in_doubt() -> None:
    step = after_send(TelegramError("Invalid server response"), attempt=0, jitter=0.5)
    assert (step.action, step.outcome) == (Action.DONE, "in_doubt")
    assert after_send(KeyError("message_id"), 0, 0.5).outcome == "in_doubt"  # a bug of ours


def test_a_429_waits_what_telegram_asked_for_every_process() -> None:
    step = after_send(flood(7), attempt=5, jitter=0.9)
    assert step.action is Action.RETRY and step.wait == 7.0 and step.pause_all


def test_refusals_are_final() -> None:
    blocked = after_send(Forbidden("Forbidden: bot was blocked by the user"), 0, 0.5)
    assert (blocked.action, blocked.outcome, blocked.unsubscribe) == (Action.DONE, "refused", True)
    gone = after_send(BadRequest("Chat not found"), 0, 0.5)
    assert (gone.outcome, gone.unsubscribe) == ("gone", True)
    bad = after_send(BadRequest("Can't parse entities"), 0, 0.5)
    assert (bad.action, bad.outcome, bad.unsubscribe) == (Action.DONE, "failed", False)


@pytest.mark.parametrize("text", ["Message thread not found", "TOPIC_CLOSED", "Topic_deleted"])
def test_a_closed_or_deleted_forum_topic_ends_that_topic(text: str) -> None:
    step = after_send(BadRequest(text), 0, 0.5)
    assert (step.action, step.outcome, step.unsubscribe) == (Action.DONE, "topic_gone", True)


def test_a_migrated_group_is_followed() -> None:
    step = after_send(ChatMigrated(-1000555), 0, 0.5)
    assert (step.action, step.outcome, step.new_chat) == (Action.FOLLOW, "moved", -1000555)


def test_a_refused_token_stops_the_bot() -> None:
    assert after_send(InvalidToken("Unauthorized"), 0, 0.5).action is Action.STOP


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0, max_value=0.999))
def test_backoff_starts_at_a_second_doubles_and_is_capped(attempt: int, jitter: float) -> None:
    wait = backoff(attempt, jitter)
    base = min(RETRY_CAP, RETRY_START * 2 ** min(attempt, 16))
    assert 0.75 * base <= wait <= 1.25 * base
    assert wait <= 1.25 * RETRY_CAP
    assert backoff(0, 0.5) == RETRY_START


def test_jitter_spreads_retries() -> None:
    waits = {round(backoff(2, j / 10), 3) for j in range(10)}
    assert len(waits) == 10 and min(waits) >= 3.0 and max(waits) <= 5.0


def test_an_event_older_than_the_push_window_is_too_late() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert not too_late(now - timedelta(hours=23, minutes=59), now, 24)
    assert too_late(now - timedelta(hours=24, minutes=1), now, 24)


@pytest.mark.parametrize(
    "why",
    [
        "Message is not modified: specified new message content and reply markup are "
        "exactly the same as a current content and reply markup of the message",
        "Message to edit not found",
        "Message can't be edited",
    ],
)
def test_an_edit_telegram_has_no_use_for_is_done_not_failed(why: str) -> None:
    step = after_send(BadRequest(why), attempt=0, jitter=0.5)
    assert (step.action, step.outcome, step.unsubscribe) == (Action.DONE, "not_edited", False)
