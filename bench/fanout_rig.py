"""What every fan-out scenario of bench/fanout.py runs on, and what it reports.

A `Rig` is one scenario's world: a fresh fake Bot API (tests/fakes/telegram_api.py)
enforcing Telegram's limits by arrival time, a flushed Redis, the store and the
subscriptions on it, and push delivery as a bot process runs it (the event
consumer feeding the real pusher, its own Bot and the Redis rate limiter), started
by `delivering`. A scenario subscribes chats, ingests posts (`Rig.ingest`: the
store's upsert, which appends the new-article event), says how many messages
each chat should get (`Expect`), and `Rig.measure` waits for them and counts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.delivery.consumer import EventConsumer
from bot.delivery.push import Pusher, push_bot
from bot.ratelimit import RedisRateLimiter
from bot.subscriptions import Subscriptions
from feedsvc.config import Settings, TelegramSettings
from feedsvc.models import Article, stable_id
from feedsvc.storage import keys
from feedsvc.storage.events import EventStream
from feedsvc.storage.store import Store
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_wire import Limits

SUBSCRIBE_BATCH = 8  # subscriptions written concurrently while setting up
STALL = 15.0  # seconds without a new message before a run is given up as stuck


@dataclass(frozen=True)
class Expect:
    """How many messages each chat should get; any other chat should get none."""

    per_chat: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.per_chat.values())


@dataclass
class Report:
    name: str
    max_rate: float
    chats: int  # chats that should get something
    expected: int  # messages
    delivered: int  # messages the fake Bot API accepted
    lost: int  # expected messages that never arrived
    duplicates: int  # messages beyond what a chat should get (or to a chat that should get none)
    floods: int  # 429s the fake answered
    faults: int  # failures the fake injected (502s, resets)
    outcomes: dict[str, int]  # the pusher's counts, as /metrics gets them
    first_after: float  # seconds from ingest to the first message's arrival
    took: float  # seconds from ingest to the last message's arrival
    busiest: int  # most messages in any 1 s
    goal_ratio: float
    goal_first: float = 1.0
    notes: list[str] = field(default_factory=list)

    @property
    def ideal(self) -> float:
        """Every expected message at exactly telegram.max_rate, from the ingest on."""
        return self.expected / self.max_rate

    @property
    def ratio(self) -> float:
        return self.took / self.ideal if self.ideal else float("nan")

    @property
    def met(self) -> bool:
        return (
            self.ratio <= self.goal_ratio
            and self.first_after <= self.goal_first
            and self.lost == 0
            and self.duplicates == 0
            and self.floods == 0
        )


class Rig:
    def __init__(self, fake: FakeTelegram, redis: Redis, settings: Settings) -> None:
        self.fake = fake
        self.redis = redis
        self.settings = settings
        self.store = Store(redis)
        self.subs = Subscriptions(redis)
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.ingested: float | None = None  # time.monotonic() of the first ingest
        self._consumer = ""

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    async def subscribe(self, chats: Iterable[int | str], slugs: list[str]) -> None:
        chats = list(chats)
        for start in range(0, len(chats), SUBSCRIBE_BATCH):
            batch = chats[start : start + SUBSCRIBE_BATCH]
            await asyncio.gather(*(self.subs.add(chat, slugs) for chat in batch))

    async def ingest(self, article: Article) -> None:
        """Store a new post as a poll does; its event is what the consumer reads."""
        if self.ingested is None:
            self.ingested = time.monotonic()
        await self.store.upsert(article, pushable=True)

    @contextlib.asynccontextmanager
    async def delivering(self, name: str = "bench") -> AsyncIterator[None]:
        """Push delivery running beside the scenario, ready before this yields."""
        telegram = self.settings.telegram
        stop = asyncio.Event()
        limiter = RedisRateLimiter(self.redis, max_rate=telegram.max_rate)
        async with push_bot(telegram, self.fake.base_url) as bot:
            pusher = Pusher(
                self.redis, self.store, self.subs, bot, limiter, telegram,
                owner=name, stop=stop, count=self.count,
            )  # fmt: skip
            consumer = EventConsumer(
                self.redis, pusher.handle, window_hours=telegram.max_push_age_hours,
                stop=stop, name=name,
            )  # fmt: skip
            task = asyncio.create_task(consumer.run(), name="bench-consumer")
            self._consumer = name
            try:
                await self._until_reading(task)
                yield
            finally:
                stop.set()
                await task

    async def _until_reading(self, task: asyncio.Task) -> None:
        # The loop renews its lease right after it made sure the group exists.
        while not await self.redis.exists(keys.consumer_lease(self._consumer)):
            if task.done():
                task.result()  # raise what stopped it
            await asyncio.sleep(0.01)

    async def measure(
        self, name: str, expect: Expect, goal_ratio: float, goal_first: float = 1.0
    ) -> Report:
        """Wait until every expected message arrived and the events are acknowledged,
        or nothing moved for STALL seconds; then count."""
        if self.ingested is None:
            raise RuntimeError(f"{name}: nothing was ingested")
        notes = []
        last, seen = time.monotonic(), -1
        while not (len(self.fake.sent) >= expect.total and await self._all_acked()):
            if len(self.fake.sent) != seen:
                last, seen = time.monotonic(), len(self.fake.sent)
            elif time.monotonic() - last > STALL:
                notes.append(f"stalled: nothing new for {STALL:.0f} s")
                break
            await asyncio.sleep(0.05)
        return self._report(name, expect, goal_ratio, goal_first, notes)

    async def _all_acked(self) -> bool:
        return await EventStream(self.redis, keys.TELEGRAM_GROUP).pending_count() == 0

    def _report(
        self, name: str, expect: Expect, goal_ratio: float, goal_first: float, notes: list[str]
    ) -> Report:
        got = {str(chat): n for chat, n in self.fake.counts().items()}
        lost = sum(max(0, n - got.get(chat, 0)) for chat, n in expect.per_chat.items())
        extra = sum(max(0, n - expect.per_chat.get(chat, 0)) for chat, n in got.items())
        arrivals = [m.at for m in self.fake.sent] or [float("nan")]
        start = self.ingested or 0.0
        return Report(
            name=name,
            max_rate=self.settings.telegram.max_rate,
            chats=len(expect.per_chat),
            expected=expect.total,
            delivered=len(self.fake.sent),
            lost=lost,
            duplicates=extra,
            floods=len(self.fake.floods),
            faults=len(self.fake.faults),
            outcomes=dict(self.outcomes),
            first_after=min(arrivals) - start,
            took=max(arrivals) - start,
            busiest=self.fake.busiest_second(),
            goal_ratio=goal_ratio,
            goal_first=goal_first,
            notes=notes,
        )


@contextlib.asynccontextmanager
async def rig(redis: Redis, max_rate: float) -> AsyncIterator[Rig]:
    """A fresh world for one scenario: a new fake Bot API with Telegram's limits on,
    and a flushed Redis (every rate-limit key, ledger and stream gone)."""
    await redis.flushall()
    async with FakeTelegram() as fake:
        fake.limits = Limits()
        telegram = TelegramSettings(
            token=fake.token, api_base_url=fake.base_url, max_rate=max_rate, channels=()
        )
        yield Rig(fake, redis, Settings(telegram=telegram))


def post(n: int = 1, category: str = "KALTARA", when: datetime | None = None) -> Article:
    """A new post as a source would give it."""
    link = f"https://www.jurnalkaltara.com/bench/fanout-{n}/"
    return Article(
        id=stable_id(link),
        title=f"Berita bench {n}",
        link=link,
        categories=(category,),
        published=when or datetime.now(UTC),
        summary="TANJUNG SELOR – ringkasan berita untuk bench.",
    )
