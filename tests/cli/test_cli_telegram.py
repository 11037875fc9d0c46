"""`feedsvc preview ID` and `feedsvc subscriptions list`: no token, no internet."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot import messages
from bot.subscriptions import Subscriptions
from feedsvc.models import Article, stable_id
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import Store
from tests.cli.conftest import Cli

NOW = datetime.now(UTC).replace(microsecond=0)
LINK = "https://www.jurnalkaltara.com/2026/12/02/banjir-di-tanjung-selor/"
POST = Article(
    id=stable_id(LINK),
    title="Banjir di Tanjung Selor, Warga Mengungsi",
    link=LINK,
    categories=("KALTARA",),
    published=NOW - timedelta(hours=1),
    author="Wira",
    summary="TANJUNG SELOR – Hujan deras sejak pagi membuat banjir di tiga kelurahan.",
    source="jurnal",
)


def in_redis(redis_url: str, work) -> object:
    async def run() -> object:
        client: Redis = client_from_url(redis_url)
        try:
            return await work(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


@pytest.fixture
def world(cli: Cli, redis_url: str) -> Cli:
    """The post, three chats (one with keywords that do not match it, one topic with
    quiet hours) and a channel in the config."""
    text = cli.config.read_text()
    cli.config.write_text(text + "[telegram]\nchannels = ['@kaltara_news']\nphotos = true\n")

    async def fill(redis: Redis) -> None:
        await Store(redis).upsert(POST)
        subs = Subscriptions(redis)
        await subs.add(1001, ["kaltara"])
        await subs.add(1002, ["kaltara"], "longsor")
        await subs.add("-100777/5", ["kaltara", "bulungan"], "banjir")
        await subs.set_quiet("-100777/5", "22-6")

    in_redis(redis_url, fill)
    return cli


def test_preview_prints_the_push_and_who_gets_it(world: Cli) -> None:
    result = world("preview", POST.id)
    assert result.code == 0, result.err
    out = result.out
    html = messages.push(POST)
    assert html in out  # the bot's own builder, byte for byte
    assert f"Article {POST.id}: {POST.title}" in out and "fresh enough to push" in out
    assert f"Push: sendMessage, {messages.utf16_length(html)} of 4096 UTF-16 units" in out
    assert out.rstrip().endswith(
        "Chats (3): -100777/5, 1001, @kaltara_news (telegram.channels)"
    )  # 1002's keyword is not in the post


def test_preview_of_a_photo_post_and_an_old_one(world: Cli, redis_url: str) -> None:
    photo = dataclasses.replace(
        POST,
        image="https://www.jurnalkaltara.com/foto.jpg",
        published=NOW - timedelta(days=3),
        content_hash="",
    )
    in_redis(redis_url, lambda r: Store(r).upsert(photo))
    out = world("preview", POST.id).out
    caption = messages.push(photo, messages.MAX_CAPTION)
    assert "Push: sendPhoto https://www.jurnalkaltara.com/foto.jpg with a caption, " in out
    assert f"{messages.utf16_length(caption)} of 1024 UTF-16 units" in out and caption in out
    assert "older than telegram.max_push_age_hours (24 h): never pushed" in out


@pytest.mark.parametrize(
    ("given", "code", "message"),
    [
        ("0123456789abcdef", 1, "feedsvc: no article 0123456789abcdef in the store\n"),
        ("xyz", 2, "feedsvc: 'xyz' is not an article id (16 hex digits, as `feedsvc articles"),
    ],
)
def test_preview_of_an_unknown_id_is_one_line(world: Cli, given, code, message) -> None:
    result = world("preview", given)
    assert result.code == code and result.out == "" and result.err.startswith(message)


def test_subscriptions_list(world: Cli) -> None:
    result = world("subscriptions", "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["CHAT", "CATEGORIES", "QUIET", "KEYWORDS"]
    assert [line.split()[:3] for line in lines[1:4]] == [
        ["-100777/5", "bulungan,kaltara", "22-6"],
        ["1001", "kaltara", "-"],
        ["1002", "kaltara", "-"],
    ]
    assert lines[1].endswith("bulungan: banjir; kaltara: banjir")
    assert lines[3].endswith("kaltara: longsor")
    assert lines[4] == "telegram.channels (@kaltara_news) get every push of kaltara."


def test_subscriptions_list_when_nobody_subscribed(cli: Cli) -> None:
    result = cli("subscriptions", "list")
    assert result.code == 0
    assert result.out == "No chat has subscribed yet (/langganan in Telegram subscribes one).\n"
