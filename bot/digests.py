"""Daily digests: which chats take one, when it is due, and what it says.

A chat that chose `/ringkasan [jam]` gets, at that WITA hour, one message with the
posts of its subscriptions published in the 24 hours before, instead of a push per
post. The choice lives in Redis (`keys.DIGESTS`: chat -> "hour since"), `since`
being when the chat chose it, so a digest turned on at 09:00 for 07:00 starts the
next morning. Deciding and writing are pure here; sending is delivery/digest.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from redis.asyncio import Redis

from bot import messages
from feedsvc.dates import MONTH_NAMES, WEEKDAY_NAMES, relative_age, to_wita
from feedsvc.models import Article
from feedsvc.storage import keys

OFF = frozenset({"mati", "off", "stop"})
MAX_POSTS = 50  # numbered in a digest; beyond them one line says how many more
MAX_LATE = timedelta(hours=12)  # a digest the bots missed by more is skipped, not sent late
WINDOW = timedelta(hours=24)
PART_ROOM = messages.MAX_TEXT - 60  # the heading's "(2/3)" and some margin
USAGE = (
    "Format: <code>/ringkasan</code> (setiap hari jam {default}.00 WITA), "
    "<code>/ringkasan JAM</code> dengan JAM 0–23 WITA, misalnya <code>/ringkasan 18</code>, "
    "atau <code>/ringkasan mati</code>."
)


@dataclass(frozen=True, slots=True)
class Setting:
    """A chat's digest: the WITA hour, and since when it holds."""

    hour: int
    since: datetime

    def encode(self) -> str:
        return f"{self.hour} {int(self.since.timestamp())}"

    @classmethod
    def parse(cls, value: str) -> Setting | None:
        hour, _, since = value.partition(" ")
        if not hour.isdigit() or not since.isdigit():
            return None
        return cls(int(hour), datetime.fromtimestamp(int(since), UTC))


@dataclass(frozen=True, slots=True)
class Choice:
    """What `/ringkasan ...` asks for: "on" at `hour`, "off", or "bad" (a mistake)."""

    action: str
    hour: int = 0


def parse_choice(args: list[str], default_hour: int) -> Choice:
    """`[]` -> on at the default hour; `["18"]`, `["18.00"]` -> on at 18; `["mati"]` -> off."""
    if not args:
        return Choice("on", default_hour)
    if len(args) > 1:
        return Choice("bad")
    word = args[0].lower()
    if word in OFF:
        return Choice("off")
    for tail in (".00", ":00"):
        word = word.removesuffix(tail)
    # ASCII digits only: no sign ("-1"), no other script's digits.
    if word.isascii() and word.isdigit() and int(word) <= 23:
        return Choice("on", int(word))
    return Choice("bad")


def due(setting: Setting, now: datetime) -> datetime | None:
    """The digest time (UTC) a chat should have had by `now`, or None: the latest
    `setting.hour` o'clock WITA at or before now, if chosen by then and not too late."""
    local = to_wita(now)
    slot = local.replace(hour=setting.hour, minute=0, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    if slot < setting.since or local - slot > MAX_LATE:
        return None
    return slot.astimezone(UTC)


def day_of(slot: datetime) -> str:
    """The WITA date a digest belongs to, as its ledger ids carry it: "20261202"."""
    return f"{to_wita(slot):%Y%m%d}"


def ledger_id(slot: datetime, part: int) -> str:
    """Each part of a day's digest is one ledger entry, one field per chat."""
    return f"digest-{day_of(slot)}-{part}"


def in_window(article: Article, slot: datetime) -> bool:
    return slot - WINDOW < article.published <= slot


def parts(articles: list[Article], slot: datetime, now: datetime) -> list[str]:
    """The digest's messages: a heading, then numbered posts (linked title, lead, age)
    as /terbaru shows them, split so each stays under Telegram's 4096 UTF-16 units."""
    shown = articles[:MAX_POSTS]
    blocks = [_block(i, a, now) for i, a in enumerate(shown, 1)]
    if len(articles) > len(shown):
        blocks.append(f"… dan {len(articles) - len(shown)} berita lain: /terbaru")
    groups: list[list[str]] = [[]]
    room = PART_ROOM
    for block in blocks:
        size = messages.utf16_length(block) + 2
        if groups[-1] and size > room:
            groups.append([])
            room = PART_ROOM
        groups[-1].append(block)
        room -= size
    head = heading(slot, len(articles))
    total = len(groups)
    return [
        "\n\n".join([head + (f" ({i}/{total})" if total > 1 else ""), *group])
        for i, group in enumerate(groups, 1)
    ]


def heading(slot: datetime, count: int) -> str:
    local = to_wita(slot)
    date = f"{WEEKDAY_NAMES[local.weekday()]}, {local.day} {MONTH_NAMES[local.month - 1]}"
    return f"<b>📰 Ringkasan berita {escape(date)}</b> · {count} berita"


def _block(number: int, article: Article, now: datetime) -> str:
    lines = [f"{number}. <b>{messages.link(article.link, article.title)}</b>"]
    if text := messages.lead(article):
        lines.append(escape(text))
    lines.append(f"<i>{relative_age(article.published, now)}</i>")
    return "\n".join(lines)


def told(setting: Setting | None) -> str:
    """What /ringkasan and /status say about a chat's digest."""
    if setting is None:
        return "Ringkasan harian: mati (setiap berita dikirim begitu terbit)."
    return (
        f"Ringkasan harian: setiap hari jam {setting.hour:02d}.00 WITA "
        "(berita tidak dikirim satu per satu)."
    )


class Digests:
    """Which chats take a digest, in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def set(self, chat_id: int | str, hour: int, now: datetime) -> Setting:
        setting = Setting(hour, now)
        await self.redis.hset(keys.DIGESTS, str(chat_id), setting.encode())
        return setting

    async def clear(self, chat_id: int | str) -> bool:
        return bool(await self.redis.hdel(keys.DIGESTS, str(chat_id)))

    async def get(self, chat_id: int | str) -> Setting | None:
        value = await self.redis.hget(keys.DIGESTS, str(chat_id))
        return Setting.parse(value) if value else None

    async def all(self) -> dict[str, Setting]:
        found = await self.redis.hgetall(keys.DIGESTS)
        return {chat: s for chat, v in found.items() if (s := Setting.parse(v)) is not None}

    async def chats(self) -> set[str]:
        """Chats that take a digest (and so no push per post)."""
        return set(await self.redis.hkeys(keys.DIGESTS))
