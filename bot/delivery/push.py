"""One event's fan-out, and the send path every push takes.

In: a new-article event (its article, pushable or not as ingest decided). Out:
one message per recipient (subscribed chats and configured channels), each
recorded in the ledger.

The send path (`Pusher.deliver`) is the one place where a push is decided and
done, in this order:
1. skip a chat the ledger already has (sent, or claimed by another try);
2. wait for the chat's rate-limit slot (the limiter is entered once per send);
3. claim the chat in the ledger, now that its request is about to leave;
4. compose the message (`compose`: which method, which arguments: a photo with a
   caption when the article has an image and `telegram.photos` is on) and send it;
   a photo Telegram refuses goes on as text under the same claim, in a slot of its own;
5. act on `outcomes.after_send`: record, or give the claim back and retry after a
   backoff (keeping the chat's pacing: each try takes a slot of its own), or
   follow a migrated group.

Corrections (corrections.py) take the same path with an edit of a message sent
before in place of a new message.

Pushes go through a Bot of their own with no PTB rate limiter, whose connection
pool has a connection for every send that may be under way: nothing queues
between the claim and the wire. Redis away pauses each send where it is and
resumes it; a claim whose outcome could not be recorded yet is kept in memory
until Redis is back. A stop (`stop` set) lets requests on the wire finish and
leaves every unclaimed send for the next process.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot import messages
from bot.delivery import outcomes
from bot.delivery.ledger import Ledger, Record
from bot.delivery.outcomes import Action, Step
from bot.digests import Digests
from bot.quiet import is_quiet
from bot.ratelimit import RedisRateLimiter, parse_chat
from bot.subscriptions import Subscriptions, split
from feedsvc.config import TelegramSettings
from feedsvc.models import Article
from feedsvc.storage.events import Entry, NewArticle
from feedsvc.storage.store import Store
from feedsvc.words import article_words

log = logging.getLogger(__name__)

CONCURRENT_SENDS = 32  # the rate limiter sets the pace; this bounds sends under way
REDIS_RETRY = 1.0  # seconds between tries while Redis is away
PHOTO_READ_TIMEOUT = 20.0  # Telegram fetches the image first; a timeout is "in doubt"

T = TypeVar("T")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # a digest links many posts: no card


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as it will be sent: the Bot method and its arguments."""

    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    async def send(self, bot: Bot) -> Any:
        return await getattr(bot, self.method)(**self.kwargs)


def compose(article: Article, chat: str, photo: bool = False) -> Outgoing:
    """The push of `article` to `chat`: a photo with a caption when `photo` is on and
    the article has an image, else a text message."""
    if photo and article.image:
        caption = messages.push(article, messages.MAX_CAPTION)
        return Outgoing(
            "send_photo",
            {
                "chat_id": parse_chat(chat),
                "photo": article.image,
                "caption": caption,
                "parse_mode": ParseMode.HTML,
                "read_timeout": PHOTO_READ_TIMEOUT,
            },
        )
    return Outgoing(
        "send_message",
        {"chat_id": parse_chat(chat), "text": messages.push(article), "parse_mode": ParseMode.HTML},
    )


async def recipients(
    subscriptions: Subscriptions,
    telegram: TelegramSettings,
    slugs: Iterable[str],
    article: Article | None = None,
) -> list[str]:
    """Who a push of `slugs` goes to: the subscribers (those whose keywords `article`
    matches) and, for telegram.push_categories, telegram.channels; not the chats
    taking a digest instead. Also what `feedsvc preview` shows."""
    slugs = list(slugs)
    if article is None:
        chats = await subscriptions.chats_for(slugs)
    else:  # roots of words Sastrawi has not seen take a while: off the loop
        words = await asyncio.to_thread(article_words, article)
        chats = await subscriptions.chats_for_post(slugs, words)
    if set(telegram.push_slugs).intersection(slugs):
        chats.update(str(c) for c in telegram.channels)
    return sorted(chats - await Digests(subscriptions.redis).chats())


def addressed(chat: str, quiet: str, now: datetime) -> dict[str, Any]:
    """Where a push to `chat` goes (a forum topic's thread) and whether it rings."""
    base, thread = split(chat)
    options: dict[str, Any] = {"chat_id": parse_chat(base)}
    if thread is not None:
        options["message_thread_id"] = thread
    if is_quiet(quiet, now):
        options["disable_notification"] = True
    return options


@dataclass(frozen=True, slots=True)
class Message:
    """A message other than an article's push (a part of a digest): the ledger keeps it
    under `id` as it keeps an article, one field per chat."""

    id: str
    html: str

    def compose(self, chat: str) -> Outgoing:
        kwargs = {"chat_id": parse_chat(chat), "text": self.html, "parse_mode": ParseMode.HTML}
        return Outgoing("send_message", kwargs | {"link_preview_options": NO_PREVIEW})


Sendable = Article | Message


def _compose(item: Sendable, chat: str, photo: bool) -> Outgoing:
    return compose(item, chat, photo) if isinstance(item, Article) else item.compose(chat)


def push_bot(telegram: TelegramSettings, base_url: str = "") -> Bot:
    """The Bot pushes go through: no PTB rate limiter, a connection per send under way."""
    request = HTTPXRequest(connection_pool_size=CONCURRENT_SENDS)
    kwargs = {"base_url": base_url} if base_url else {}
    return Bot(telegram.token, request=request, **kwargs)


def _fields(chat: str, item: Sendable) -> dict[str, Any]:
    """A send's log fields (JSON logs write them as keys): the chat (an int when it is
    numeric), and the article or the message's ledger id."""
    return {"chat_id": parse_chat(chat), "article_id": item.id}


class _Stopped(Exception):
    """The process is stopping: leave this send for the next one."""


class Pusher:
    def __init__(
        self,
        redis: Redis,
        store: Store,
        subscriptions: Subscriptions,
        bot: Bot,
        limiter: RedisRateLimiter,
        telegram: TelegramSettings,
        *,
        owner: str,
        stop: asyncio.Event | None = None,
        count: Callable[[str], None] = lambda outcome: None,
    ) -> None:
        self.store = store
        self.subscriptions = subscriptions
        self.bot = bot
        self.limiter = limiter
        self.ledger = Ledger(redis, owner)
        self.telegram = telegram
        self.channels = [str(c) for c in telegram.channels]
        self.max_age_hours = telegram.max_push_age_hours
        self.photos = telegram.photos
        self.digests = Digests(redis)
        self.stop = stop or asyncio.Event()
        self.count = count  # each send's outcome, for /metrics
        self._sends = asyncio.Semaphore(CONCURRENT_SENDS)
        self._redis_down_since: float | None = None
        self._failing = 0  # sends failed in a row, all chats: the backoff's doubling

    async def handle(self, entry: Entry) -> bool:
        """Push one event to every recipient; False when stopped before all were done."""
        event = entry.event
        if not isinstance(event, NewArticle) or not event.pushable:
            return True  # other kinds (a removal) are not pushes
        if outcomes.too_late(entry.appended, datetime.now(UTC), self.max_age_hours):
            log.info("not pushing %s: it waited longer than the push window", event.id,
                     extra={"article_id": event.id})  # fmt: skip
            return True
        article = await self.store.get(event.id)
        if article is None:  # trimmed by retention before we got to it
            return True
        return await self.fan_out(article, await self.recipients(event.slugs, article))

    async def fan_out(self, item: Sendable, chats: Iterable[str]) -> bool:
        """`deliver` to every chat, side by side; False when stopped before all were done."""
        # Every send runs to its end (a request on the wire is never cut short by
        # another's failure); then the first unexpected error, if any, is raised.
        done = await asyncio.gather(
            *(self._deliver_bounded(item, chat) for chat in chats), return_exceptions=True
        )
        for result in done:
            if isinstance(result, BaseException):
                raise result
        return all(done)

    async def recipients(self, slugs: Iterable[str], article: Article | None = None) -> list[str]:
        """Subscribers of `slugs` (those whose keywords `article` matches) and channels,
        but not the chats taking a digest instead."""
        return await recipients(self.subscriptions, self.telegram, slugs, article)

    async def _deliver_bounded(self, item: Sendable, chat: str) -> bool:
        async with self._sends:
            return await self.deliver(item, chat)

    async def deliver(self, item: Sendable, chat: str) -> bool:
        """Send `item` (an article's push, or a message) to `chat` once; True when the
        chat is done (now or before), False when the process began stopping before its
        request left."""
        try:
            await self._deliver(item, chat)
        except _Stopped:
            return False
        return True

    async def _deliver(self, item: Sendable, chat: str) -> None:
        attempt, photo = 0, self.photos
        claim = None
        quiet = await self._until_redis(partial(self.subscriptions.quiet_of, chat))
        while True:
            if claim is None:
                claim = await self._claim(item.id, chat)
                if claim is None:
                    return  # claimed or done by another try
            outgoing = _compose(item, chat, photo)
            if outgoing.method.startswith("send_"):  # an edit's message has its place
                outgoing.kwargs.update(addressed(chat, quiet, datetime.now(UTC)))
            message, error = None, None
            try:
                message = await outgoing.send(self.bot)
            except TelegramError as exc:
                error = exc
            except Exception as exc:  # a bug of ours: in doubt, never resent
                log.exception("chat %s: push of %s failed", chat, item.id,
                              extra=_fields(chat, item))  # fmt: skip
                error = exc
            if outgoing.method == "send_photo" and outcomes.photo_refused(error):
                # Nothing was sent: the same claim goes on as text, in a slot of its own.
                log.info("chat %s: photo of %s refused (%s); sent as text", chat, item.id,
                         str(error)[: outcomes.WHY_LENGTH], extra=_fields(chat, item))  # fmt: skip
                photo = False
                await self._fallback_slot(item.id, chat, claim)
                continue
            self._failing = 0 if error is None else self._failing + 1
            step = outcomes.after_send(error, attempt, random.random(), self._failing)
            if step.action in (Action.RETRY, Action.STOP):
                await self._until_redis(partial(self.ledger.release, item.id, chat, claim))
                if step.action is Action.STOP:
                    raise error  # type: ignore[misc]  # the token is refused: the bot stops
                self.count("retry")
                await self._wait_to_retry(chat, item, step)
                attempt, claim = attempt + 1, None
                continue
            await self._finish(item, chat, step, message)
            return

    async def _fallback_slot(self, article_id: str, chat: str, claim: Record) -> None:
        """The chat's next rate-limit slot for a send under a claim we hold; stopping
        first gives the claim back (nothing was sent under it) and raises _Stopped."""
        while True:
            try:
                if await self.limiter.acquire(parse_chat(split(chat)[0]), self.stop):
                    return
                break
            except RedisError as exc:
                await self._redis_away(exc)
        await self._until_redis(partial(self.ledger.release, article_id, chat, claim))
        raise _Stopped

    async def _claim(self, article_id: str, chat: str) -> Record | None:
        """Wait for the chat's rate-limit slot, then claim it: the request leaves next.

        None when the ledger has the chat already; raises _Stopped when stopping first.
        """
        mine = self.ledger.new_claim()
        while not self.stop.is_set():
            try:
                held = await self.ledger.get(article_id, chat)
                if held is not None and held != mine:
                    return None
                if not await self.limiter.acquire(parse_chat(split(chat)[0]), self.stop):
                    break
                claimed = await self.ledger.claim(article_id, chat, mine)
            except RedisError as exc:
                await self._redis_away(exc)
                continue
            self._redis_back()
            return mine if claimed else None
        raise _Stopped

    async def _finish(self, item: Sendable, chat: str, step: Step, message: Any) -> None:
        """Record what happened (Redis or not) and act on it."""
        if step is outcomes.SENT:
            photo = bool(getattr(message, "photo", None))
            record = Record.sent(getattr(message, "message_id", ""), photo, datetime.now(UTC))
        elif step.action is Action.FOLLOW:
            record = Record("moved", str(step.new_chat))
        else:
            record = Record(step.outcome)
        await self._until_redis(partial(self.ledger.record, item.id, chat, record))
        self.count(step.outcome)
        if step.outcome == "in_doubt":
            log.warning("chat %s: push of %s may not have arrived (%s); not resent",
                        chat, item.id, step.why, extra=_fields(chat, item))  # fmt: skip
        elif step.outcome == "failed":
            log.error("chat %s: Telegram refused the push of %s: %s", chat, item.id, step.why,
                      extra=_fields(chat, item))  # fmt: skip
        if step.unsubscribe:
            # A closed topic ends that topic's subscription; a gone chat, all of the chat's.
            topic = step.outcome == "topic_gone"
            drop = self.subscriptions.remove if topic else self.subscriptions.remove_chat
            gone = await self._until_redis(partial(drop, chat))
            log.info("chat %s is gone (%s); unsubscribed from %s", chat, step.why, gone,
                     extra=_fields(chat, item))  # fmt: skip
        if step.action is Action.FOLLOW and step.new_chat is not None:
            await self._follow(chat, step.new_chat, item)

    async def _follow(self, old: str, new: int, item: Sendable) -> None:
        """A group became a supergroup: move its subscriptions and send there."""
        if old in self.channels:
            log.warning("telegram.channels: %s is now chat %s; update the config", old, new,
                        extra=_fields(old, item))  # fmt: skip
        else:
            await self._until_redis(partial(self.subscriptions.move, old, new))
            log.info("chat %s moved to %s; its subscriptions follow", old, new,
                     extra=_fields(old, item))  # fmt: skip
        if getattr(item, "follows_moves", True):  # an edited message stays where it was
            await self._deliver(item, str(new))

    async def _wait_to_retry(self, chat: str, item: Sendable, step: Step) -> None:
        log.warning("chat %s: push of %s not sent (%s); again in %.1f s", chat, item.id,
                    step.why, step.wait, extra=_fields(chat, item))  # fmt: skip
        if step.pause_all:  # every process waits; the next slot comes after the pause
            await self._until_redis(partial(self.limiter.pause, step.wait))
            return
        try:
            async with asyncio.timeout(step.wait):
                await self.stop.wait()
        except TimeoutError:
            return
        raise _Stopped

    async def _until_redis(self, op: Callable[[], Awaitable[T]]) -> T:
        """A Redis step that must happen: wait as long as Redis is away."""
        while True:
            try:
                result = await op()
            except RedisError as exc:
                await self._redis_away(exc)
                continue
            self._redis_back()
            return result

    async def _redis_away(self, exc: RedisError) -> None:
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            log.warning("pushes wait for Redis: %s", exc)
        await asyncio.sleep(REDIS_RETRY)

    def _redis_back(self) -> None:
        if self._redis_down_since is not None:
            took = time.monotonic() - self._redis_down_since
            log.info("Redis is back after %.0f s; pushes go on", took)
            self._redis_down_since = None
