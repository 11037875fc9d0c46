"""`feedsvc ingest URL`: a feed, a listing or an article page stored once, with counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from feedsvc.storage import keys
from feedsvc.storage.store import Store
from tests.cli.conftest import Cli, Result
from tests.fakes.site import Item, Page, Site, article_page, listing_page, rss, seed_text

# --- ingest -----------------------------------------------------------------------------


def fresh_items(site: Site, n: int, categories: tuple[str, ...] = ("KALTARA",)) -> list[Item]:
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        Item(
            title=f"Berita {i}",
            link=site.url(f"/2026/11/27/berita-kaltara-nomor-{i}/"),
            published=now - timedelta(hours=i + 1),
            categories=categories,
            guid=site.url(f"/?p={i}"),
        )
        for i in range(n)
    ]


async def run(cli: Cli, *args: str) -> Result:
    return await asyncio.to_thread(cli, *args)


async def test_ingest_a_feed_stores_articles_and_prints_counts(
    cli: Cli, site: Site, redis: Redis
) -> None:
    site.routes["/feed/"] = Page(rss(fresh_items(site, 3, categories=())))
    result = await run(cli, "ingest", site.url("/feed/"), "--category", "Bulungan")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        f"{site.url('/feed/')}: a feed, as source 127.0.0.1: "
        "3 new, 0 updated, 0 unchanged, 0 too old"
    )
    assert "add --push" in result.out
    store = Store(redis)
    stored = await store.list()
    assert sorted(a.title for a in stored) == ["Berita 0", "Berita 1", "Berita 2"]
    assert {a.categories for a in stored} == {("Bulungan",)}
    assert {a.source for a in stored} == {"127.0.0.1"}
    events = [e for _, e in await redis.xrange(keys.EVENTS)]
    assert [e["pushable"] for e in events] == ["0", "0", "0"]
    # not scheduled, no status left behind
    assert not await redis.exists(keys.source_status("127.0.0.1"))
    assert await redis.zcard(keys.SCHEDULE_DUE) == 0

    again = await run(cli, "ingest", site.url("/feed/"), "--category", "Bulungan")
    assert again.out.splitlines() == [
        f"{site.url('/feed/')}: a feed, as source 127.0.0.1: "
        "0 new, 0 updated, 3 unchanged, 0 too old"
    ]
    assert len(site.hits_for("/feed/")) == 2  # a full fetch each time: no validators kept


async def test_ingest_push_makes_fresh_articles_pushable(
    cli: Cli, site: Site, redis: Redis
) -> None:
    items = fresh_items(site, 2)
    items[1].published = datetime.now(UTC) - timedelta(days=3)  # too old to push
    site.routes["/feed/"] = Page(rss(items))
    result = await run(
        cli, "ingest", site.url("/feed/"), "--kind", "feed", "--push", "--name", "jk"
    )
    assert result.code == 0, result.err
    assert "a feed, as source jk: 2 new" in result.out
    assert "--push" not in result.out
    events = {e["id"]: e["pushable"] for _, e in await redis.xrange(keys.EVENTS)}
    by_title = {a.title: a.id for a in await Store(redis).list()}
    assert events[by_title["Berita 0"]] == "1"
    assert events[by_title["Berita 1"]] == "0"


@pytest.mark.parametrize("kind", ["auto", "feed", "html"])
async def test_ingest_of_a_failing_url_is_one_line_and_exit_1(
    cli: Cli, site: Site, redis: Redis, kind: str
) -> None:
    result = await run(cli, "ingest", site.url("/gone/"), "--kind", kind)
    assert result.code == 1
    assert result.err == f"feedsvc: {site.url('/gone/')}: HTTP 404 Not Found\n"
    assert result.out == ""
    assert await redis.dbsize() == 0


async def test_ingest_of_an_unreachable_host_is_one_line(cli: Cli, redis: Redis) -> None:
    result = await run(cli, "ingest", "http://127.0.0.1:9/feed/")
    assert result.code == 1
    assert result.err.startswith("feedsvc: http://127.0.0.1:9/feed/: cannot connect to 127.0.0.1:9")
    assert result.err.count("\n") == 1


async def test_ingest_kind_feed_of_a_web_page_says_it_is_not_a_feed(
    cli: Cli, site: Site, redis: Redis
) -> None:
    site.routes["/category/kaltara/"] = Page(
        listing_page([site.url("/2025/09/25/a-b-c-d/")]),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    result = await run(cli, "ingest", site.url("/category/kaltara/"), "--kind", "feed")
    assert result.code == 1
    assert "not a feed: the URL returned an HTML page" in result.err
    assert result.err.count("\n") == 1


async def test_ingest_auto_reads_a_listing_page_and_its_articles(
    cli: Cli, site: Site, redis: Redis
) -> None:
    title, paragraphs = seed_text()
    paths = ["/2025/09/25/target-pembangunan-merata/", "/2025/09/24/jalan-baru-di-tanjung-selor/"]
    html = {"Content-Type": "text/html; charset=utf-8"}
    site.routes["/category/kaltara/"] = Page(
        listing_page([site.url(p) for p in paths]), headers=html
    )
    for n, path in enumerate(paths):
        page = article_page(f"{title} {n}", paragraphs, canonical=site.url(path))
        site.routes[path] = Page(page, headers=html)
    result = await run(cli, "ingest", site.url("/category/kaltara/"))
    assert result.code == 0, result.err
    assert "a listing page with 2 article links, as source 127.0.0.1: 2 new" in result.out
    assert {a.link for a in await Store(redis).list()} == {site.url(p) for p in paths}
    assert not await redis.exists(keys.source_seen("127.0.0.1"))

    again = await run(cli, "ingest", site.url("/category/kaltara/"), "--kind", "html")
    assert "a listing page, as source 127.0.0.1: 0 new, 0 updated, 2 unchanged" in again.out


async def test_ingest_auto_takes_an_article_page_as_one_article(
    cli: Cli, site: Site, redis: Redis
) -> None:
    title, paragraphs = seed_text()
    path = "/2025/09/25/target-pembangunan-merata/"
    site.routes[path] = Page(
        article_page(title, paragraphs, canonical=site.url(path)),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    result = await run(cli, "ingest", site.url(path))
    assert result.code == 0, result.err
    assert "an article page, as source 127.0.0.1: 1 new" in result.out
    [article] = await Store(redis).list()
    assert article.title == title and article.categories == ("KALTARA",)
    assert [h.path for h in site.hits] == [path]  # the "Recent Posts" links are not followed


async def test_ingest_auto_of_a_page_with_nothing_on_it_fails(
    cli: Cli, site: Site, redis: Redis
) -> None:
    site.routes["/kosong"] = Page(
        b"<html><body></body></html>", headers={"Content-Type": "text/html"}
    )
    result = await run(cli, "ingest", site.url("/kosong"))
    assert result.code == 1
    assert result.err == (
        f"feedsvc: {site.url('/kosong')}: not a feed, and no article or article links on it\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ftp://a.example/feed",), "url must be an http(s) URL"),
        (("https://a.example/feed", "--category", "!!"), "has no letters or digits"),
        (("https://a.example/feed", "--name", "a b"), "source 'a b': name must be"),
        (("https://a.example/", "--kind", "feed", "--link-selector", "a"), "does not apply"),
    ],
)
def test_ingest_rejects_bad_input_with_exit_2(cli: Cli, args, message) -> None:
    result = cli("ingest", *args)
    assert result.code == 2
    assert result.err.count("\n") == 1 and message in result.err


async def test_ingest_auto_with_a_link_selector_reads_the_page_as_a_listing(
    cli: Cli, site: Site, redis: Redis
) -> None:
    title, paragraphs = seed_text()
    path = "/2025/09/25/target-pembangunan-merata/"
    site.routes[path] = Page(
        article_page(title, paragraphs, canonical=site.url(path)),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    recent = site.url("/2025/09/21/recent-1/")
    site.routes["/2025/09/21/recent-1/"] = Page(
        article_page("Berita lain 1", paragraphs, canonical=recent),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    result = await run(cli, "ingest", site.url(path), "--link-selector", "aside.widget a")
    assert result.code == 0, result.err
    assert "a listing page with 3 article links, as source 127.0.0.1: 1 new" in result.out
    assert [a.link for a in await Store(redis).list()] == [recent]
