"""The daily digest (/ringkasan): when it is due (pure, on a clock the test sets), what
it says, and that each chat gets it once a day across bot processes and restarts,
counted in what the fake Bot API accepted; chats taking it get no push per post."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from redis.asyncio import Redis

from bot import digests
from bot.delivery.digest import DigestSender
from bot.delivery.ledger import Ledger
from bot.digests import Choice, Digests, Setting
from bot.subscriptions import Subscriptions
from feedsvc.config import Settings
from feedsvc.dates import WITA
from feedsvc.models import Article
from feedsvc.storage import keys
from feedsvc.storage.store import Store
from tests.bot.helpers import READER, article, ask
from tests.bot.test_delivery import a_push_bot, entry, pusher, with_telegram
from tests.fakes.telegram_api import FakeTelegram, check_text
from tests.fakes.telegram_media import utf16_units

SEVEN = datetime(2026, 12, 2, 7, 0, tzinfo=WITA)  # the digest time of the tests
CHOSEN = SEVEN - timedelta(days=3)  # when the chats chose it
OTHER, EVERYTHING, PUSHED = READER + 1, READER + 2, READER + 3


def at(when: datetime, title: str, categories: tuple[str, ...] = ("KALTARA",)) -> Article:
    return dataclasses.replace(article(title, categories=categories), published=when)


def visible(html: str) -> str:
    return unescape(re.sub(r"<[^>]*>", "", html))


# --- what /ringkasan means (pure) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "choice"),
    [
        ([], Choice("on", 7)),
        (["18"], Choice("on", 18)),
        (["07"], Choice("on", 7)),
        (["0"], Choice("on", 0)),
        (["18.00"], Choice("on", 18)),
        (["6:00"], Choice("on", 6)),
        (["mati"], Choice("off")),
        (["OFF"], Choice("off")),
        (["-1"], Choice("bad")),
        (["24"], Choice("bad")),
        (["25"], Choice("bad")),
        (["7:30"], Choice("bad")),
        (["pagi"], Choice("bad")),
        (["🕖"], Choice("bad")),
        (["7", "18"], Choice("bad")),
        (["٧"], Choice("bad")),  # an Arabic-Indic seven: a digit to isdigit, no hour to us
    ],
)
def test_choices(args: list[str], choice: Choice) -> None:
    assert digests.parse_choice(args, 7) == choice


def test_a_digest_is_due_from_its_hour_for_half_a_day() -> None:
    setting = Setting(7, CHOSEN)
    assert digests.due(setting, SEVEN - timedelta(seconds=1)) is None  # yesterday's: too late
    assert digests.due(setting, SEVEN) == SEVEN.astimezone(UTC)
    assert digests.due(setting, SEVEN + timedelta(hours=11)) == SEVEN.astimezone(UTC)
    assert digests.due(setting, SEVEN + timedelta(hours=12, seconds=1)) is None
    tomorrow = SEVEN + timedelta(days=1)
    assert digests.due(setting, tomorrow + timedelta(minutes=1)) == tomorrow.astimezone(UTC)
    # Chosen after today's hour: the first digest is tomorrow's.
    late = Setting(7, SEVEN + timedelta(hours=2))
    assert digests.due(late, SEVEN + timedelta(hours=3)) is None
    assert digests.due(late, tomorrow) == tomorrow.astimezone(UTC)
    # Midnight WITA is 16:00 UTC the day before; the date is WITA's.
    midnight = datetime(2026, 12, 3, 0, 0, tzinfo=WITA)
    slot = digests.due(Setting(0, CHOSEN), midnight + timedelta(minutes=5))
    assert slot == midnight.astimezone(UTC) and digests.day_of(slot) == "20261203"


def test_a_long_digest_is_split_under_4096_units_and_numbered_on() -> None:
    lead = "Banjir 🌊 merendam permukiman warga Tanjung Selor " * 6
    posts = [
        dataclasses.replace(at(SEVEN - timedelta(minutes=i), f"Berita {i} 🎉"), summary=lead)
        for i in range(1, 61)
    ]
    texts = digests.parts(posts, SEVEN, SEVEN)
    assert len(texts) > 1
    for i, text in enumerate(texts, 1):
        assert check_text(text, "HTML") == ""
        assert utf16_units(visible(text)) < 4096
        assert text.startswith("<b>📰 Ringkasan berita Rabu, 2 Desember</b> · 60 berita")
        assert f"({i}/{len(texts)})" in text.split("\n")[0]
    numbers = [int(n) for t in texts for n in re.findall(r"^(\d+)\. ", t, re.M)]
    assert numbers == list(range(1, digests.MAX_POSTS + 1))
    assert texts[-1].endswith("… dan 10 berita lain: /terbaru")
    assert f'<a href="{posts[0].link}">' in texts[0] and "1 menit lalu" in texts[0]


# --- sending ------------------------------------------------------------------------------------


async def setup_chats(redis: Redis, store: Store) -> list[Article]:
    subs = Subscriptions(redis)
    await subs.add(READER, ["kaltara"])
    await subs.add(OTHER, ["bulungan"])
    await subs.add(EVERYTHING, ["all"])
    await subs.add(PUSHED, ["kaltara"])  # no digest: a push per post
    for chat in (READER, OTHER, EVERYTHING):
        await Digests(redis).set(chat, 7, CHOSEN)
    posts = [
        at(SEVEN - timedelta(hours=1), "Pagi ini", ("KALTARA",)),
        at(SEVEN - timedelta(hours=20), "Kemarin sore", ("KALTARA", "Bulungan")),
        at(SEVEN - timedelta(hours=25), "Lusa lalu", ("KALTARA",)),  # before the day
        at(SEVEN + timedelta(minutes=30), "Sesudah ringkasan", ("KALTARA",)),  # after it
        at(SEVEN - timedelta(hours=2), "Olahraga", ("Olahraga",)),
    ]
    for post in posts:
        await store.upsert(post)
    return posts


async def test_each_chat_gets_its_digest_once_across_two_bot_processes_and_a_restart(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    await setup_chats(redis, store)
    quiet = with_telegram(bot_settings, channels=())
    async with a_push_bot(quiet) as bot_a, a_push_bot(quiet) as bot_b:
        a = DigestSender(redis, store, Subscriptions(redis), pusher(bot_a, redis, store, quiet,
                         owner="a"), owner="a")  # fmt: skip
        b = DigestSender(redis, store, Subscriptions(redis), pusher(bot_b, redis, store, quiet,
                         owner="b"), owner="b")  # fmt: skip
        assert await a.send_due(SEVEN - timedelta(minutes=1)) == 0  # not yet
        assert telegram.sent == []
        first = await asyncio.gather(a.send_due(SEVEN), b.send_due(SEVEN))
        assert sum(first) == 3
        for later in (timedelta(minutes=1), timedelta(hours=5)):
            assert await a.send_due(SEVEN + later) + await b.send_due(SEVEN + later) == 0
        restarted = DigestSender(
            redis, store, Subscriptions(redis), pusher(bot_a, redis, store, quiet, owner="c"),
            owner="c",
        )  # fmt: skip
        await redis.delete(keys.DIGEST_DONE)  # only the ledger is left to say it was sent
        await restarted.send_due(SEVEN + timedelta(hours=1))  # finds every part claimed
    assert telegram.counts() == {READER: 1, OTHER: 1, EVERYTHING: 1}
    reader, other, everything = (telegram.sent_to(c)[0].text for c in (READER, OTHER, EVERYTHING))
    assert "1. " in reader and "Pagi ini" in reader and "Kemarin sore" in reader
    assert "Lusa lalu" not in reader and "Sesudah ringkasan" not in reader
    assert "Olahraga" not in reader and "· 2 berita" in reader
    assert "Kemarin sore" in other and "Pagi ini" not in other and "· 1 berita" in other
    assert "Olahraga" in everything and "· 3 berita" in everything
    ids = await Ledger(redis, "x").message_ids(digests.ledger_id(SEVEN.astimezone(UTC), 0))
    assert set(ids) == {str(READER), str(OTHER), str(EVERYTHING)}


async def test_the_next_day_brings_the_next_digest_and_a_day_without_posts_none(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"])
    await Digests(redis).set(READER, 7, CHOSEN)
    await store.upsert(at(SEVEN - timedelta(hours=3), "Hari pertama"))
    await store.upsert(at(SEVEN + timedelta(hours=20), "Hari kedua"))
    quiet = with_telegram(bot_settings, channels=())
    async with a_push_bot(quiet) as bot:
        p = pusher(bot, redis, store, quiet)
        sender = DigestSender(redis, store, Subscriptions(redis), p, owner="test")
        for day in range(4):
            await sender.send_due(SEVEN + timedelta(days=day, minutes=2))
    texts = [m.text for m in telegram.sent_to(READER)]
    assert len(texts) == 2, "day 3 and 4 had no posts: no message"
    assert "Hari pertama" in texts[0] and "Hari kedua" not in texts[0]
    assert "Hari kedua" in texts[1] and "Hari pertama" not in texts[1]


async def test_a_digest_keeps_to_the_chats_keywords(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"], "banjir")
    await Digests(redis).set(READER, 7, CHOSEN)
    await store.upsert(at(SEVEN - timedelta(hours=1), "Warga Kebanjiran di Tanjung Selor"))
    await store.upsert(at(SEVEN - timedelta(hours=2), "Pelantikan Pejabat Baru"))
    quiet = with_telegram(bot_settings, channels=())
    async with a_push_bot(quiet) as bot:
        p = pusher(bot, redis, store, quiet)
        await DigestSender(redis, store, Subscriptions(redis), p, owner="t").send_due(SEVEN)
    (sent,) = telegram.sent_to(READER)
    assert "Kebanjiran" in sent.text and "Pelantikan" not in sent.text and "· 1 berita" in sent.text


async def test_a_digest_in_parts_sends_only_the_parts_a_dead_process_left(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"])
    await Digests(redis).set(READER, 7, CHOSEN)
    lead = "Kalimat panjang tentang banjir di Tanjung Selor " * 6
    for i in range(40):
        post = at(SEVEN - timedelta(minutes=10 + i), f"Berita nomor {i}")
        await store.upsert(dataclasses.replace(post, summary=lead))
    slot = SEVEN.astimezone(UTC)
    # A process that died after claiming part 0 (its request was on the wire).
    dead = Ledger(redis, "dead")
    assert await dead.claim(digests.ledger_id(slot, 0), str(READER), dead.new_claim())
    quiet = with_telegram(bot_settings, channels=())
    async with a_push_bot(quiet) as bot:
        sender = DigestSender(redis, store, Subscriptions(redis), pusher(bot, redis, store, quiet),
                              owner="live")  # fmt: skip
        await sender.send_due(SEVEN + timedelta(minutes=5))
        await sender.send_due(SEVEN + timedelta(minutes=6))
    texts = [m.text for m in telegram.sent_to(READER)]
    total = len(digests.parts(await store.list("kaltara", limit=60), slot, SEVEN))
    assert total >= 2 and len(texts) == total - 1
    assert [f"({i}/{total})" in t.split("\n")[0] for i, t in enumerate(texts, 2)] == [True] * (
        total - 1
    )


async def test_a_chat_taking_a_digest_gets_no_push_per_post(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    posts = await setup_chats(redis, store)
    quiet = with_telegram(bot_settings, channels=())
    async with a_push_bot(quiet) as bot:
        p = pusher(bot, redis, store, quiet)
        assert await p.handle(entry(posts[0]))
    assert telegram.counts() == {PUSHED: 1}


# --- the command ----------------------------------------------------------------------------


async def test_ringkasan_sets_shows_and_clears_the_digest(
    telegram: FakeTelegram, redis: Redis, store: Store, running
) -> None:
    await Subscriptions(redis).add(READER, ["kaltara"])
    reply = await ask(telegram, READER, "/ringkasan 18")
    assert "jam 18.00 WITA" in reply and "Langganan chat ini" in reply
    assert (await Digests(redis).get(READER)).hour == 18
    assert "jam 18.00 WITA" in await ask(telegram, READER, "/status")
    bad = ("/ringkasan -1", "/ringkasan 25", "/ringkasan pagi", "/digest 7 8")
    askers = [READER + 10 + i for i in range(len(bad))]  # side by side: a chat each
    before = len(telegram.sent)
    for chat, text in zip(askers, bad, strict=True):
        telegram.command(chat, text)
    await telegram.wait_sent(before + len(bad))
    for chat in askers:
        (reply,) = telegram.sent_to(chat)
        assert "Jam tidak dikenali" in reply.text and "/ringkasan mati" in reply.text
    assert await Digests(redis).chats() == {str(READER)}  # nothing stored for them
    assert "Ringkasan harian: mati" in await ask(telegram, READER, "/ringkasan mati")
    assert await Digests(redis).get(READER) is None
    assert "jam 07.00 WITA" in await ask(telegram, READER, "/digest")  # digest_hour's default
    assert ("ringkasan", "Ringkasan harian") in [
        (c["command"], c["description"]) for c in telegram.commands()
    ]


async def test_a_channel_that_chose_a_digest_gets_the_push_categories_posts(
    telegram: FakeTelegram, bot_settings: Settings, redis: Redis, store: Store
) -> None:
    channel = -1001234567890
    await setup_chats(redis, store)
    await Digests(redis).set(channel, 7, CHOSEN)  # no subscription of its own
    settings = with_telegram(bot_settings, channels=(channel,), push_categories=("KALTARA",))
    async with a_push_bot(settings) as bot:
        sender = DigestSender(
            redis, store, Subscriptions(redis), pusher(bot, redis, store, settings), owner="a"
        )
        assert await sender.send_due(SEVEN) == 4
    (sent,) = telegram.sent_to(channel)
    assert "Pagi ini" in sent.text and "Kemarin sore" in sent.text
    assert "Olahraga" not in sent.text and "· 2 berita" in sent.text
