"""`feedsvc articles list | remove` against a real Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.models import Article, stable_id
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import Store
from tests.cli.conftest import Cli

NOW = datetime.now(UTC).replace(microsecond=0)


def post(n: int, cats: tuple[str, ...] = ("KALTARA",)) -> Article:
    link = f"https://news.example/berita-{n}/"
    return Article(
        id=stable_id(link),
        title=f"Berita {n}",
        link=link,
        categories=cats,
        published=NOW - timedelta(hours=n),
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
def posts(cli: Cli, redis_url: str) -> list[Article]:
    made = [post(1), post(2, ("Bulungan",)), post(3)]
    in_redis(redis_url, lambda r: Store(r).upsert_many([(p, False) for p in made]))
    return made


def test_list_newest_first_with_category_and_limit(cli: Cli, posts: list[Article]) -> None:
    listed = cli("articles", "list")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].split() == ["ID", "PUBLISHED", "(WITA)", "SOURCE", "CATEGORIES", "TITLE"]
    assert [line.split()[0] for line in lines[1:]] == [p.id for p in posts]
    assert lines[2].split()[-3:] == ["bulungan", "Berita", "2"]
    one = cli("articles", "list", "--category", "kaltara", "--limit", "1").out.splitlines()
    assert len(one) == 2 and one[1].startswith(posts[0].id)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--category", "olahraga"), 1, "no category 'olahraga'"),
        (("--category", "KALTARA"), 2, "is not a category slug"),
        (("--limit", "0"), 2, "must be a whole number from 1 to 1000"),
    ],
)
def test_list_bad_input_is_one_line(cli: Cli, posts, args, code, message) -> None:
    result = cli("articles", "list", *args)
    assert result.code == code and message in result.err and result.out == ""
    assert len(result.err.strip().splitlines()) <= 2  # argparse adds its usage line


def test_remove_then_it_is_gone(cli: Cli, posts: list[Article], redis_url: str) -> None:
    removed = cli("articles", "remove", posts[1].id)
    assert removed.code == 0, removed.err
    assert removed.out.startswith(f"Removed article {posts[1].id} 'Berita 2' from bulungan")
    listed = cli("articles", "list").out
    assert posts[1].id not in listed and posts[0].id in listed
    assert cli("articles", "list", "--category", "bulungan").out == "No articles stored yet.\n"
    events = in_redis(redis_url, lambda r: r.xrange(keys.EVENTS))
    assert [f["event"] for _, f in events] == ["new", "new", "new", "removed"]


@pytest.mark.parametrize(
    ("article_id", "code", "message"),
    [
        ("0123456789abcdef", 1, "no article 0123456789abcdef in the store; nothing removed"),
        ("not-an-id", 2, "'not-an-id' is not an article id"),
    ],
)
def test_remove_unknown_changes_nothing(cli: Cli, posts, redis_url, article_id, code, message):
    before = in_redis(redis_url, lambda r: r.hgetall(keys.VERSIONS))
    result = cli("articles", "remove", article_id)
    assert result.code == code and message in result.err and result.out == ""
    assert in_redis(redis_url, lambda r: r.hgetall(keys.VERSIONS)) == before
    assert in_redis(redis_url, lambda r: r.xlen(keys.EVENTS)) == 3
