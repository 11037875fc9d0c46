"""`feedsvc sources`, `ingest`, `import-opml` and `export-opml` against a real Redis.

Commands run in-process through `feedsvc.cli.main` (it calls asyncio.run, so the
async tests run it in a thread while their loop serves the loopback news site).
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import operator
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from lxml import etree
from redis.asyncio import Redis

from feedsvc.cli.opml import Progress
from feedsvc.cli.sources import sources_table
from feedsvc.config import load_settings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source, SourceStatus
from feedsvc.publish.api import source_json
from feedsvc.publish.opml import Outline, write_opml
from feedsvc.storage import keys
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.store import Store
from tests.cli.conftest import Cli, Result, flush
from tests.fakes.site import Item, Page, Site, article_page, listing_page, rss, seed_text

OPML = Path(__file__).resolve().parents[1] / "data" / "opml"
CONFIG_FEED = "https://www.jurnalkaltara.com/category/kaltara/feed/"
WITA = ZoneInfo("Asia/Makassar")


def registry_sources(cli: Cli, redis_url: str) -> list[Source]:
    async def read() -> list[Source]:
        client = client_from_url(redis_url)
        try:
            return await SourceRegistry(client, load_settings(str(cli.config))).all()
        finally:
            await client.aclose()

    return asyncio.run(read())


# --- sources list | add | remove ---------------------------------------------------


def test_add_list_remove_round_trip(cli: Cli) -> None:
    listed = cli("sources", "list")
    assert listed.code == 0
    assert "kaltara" in listed.out and "never polled" in listed.out

    added = cli(
        "sources", "add", "jurnal", "https://www.jurnalkaltara.com/feed/",
        "--category", "KALTARA", "--interval", "600",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert "Added source jurnal: feed https://www.jurnalkaltara.com/feed/" in added.out
    assert "within 30 s" in added.out

    table = cli("sources", "list").out.splitlines()
    assert table[0].split() == [
        "NAME", "KIND", "EVERY", "FROM", "STATE", "LAST", "OK", "NEXT", "POLL", "URL"
    ]  # fmt: skip
    assert table[2].split() == [
        "jurnal", "feed", "10m", "added", "never", "polled", "-", "-",
        "https://www.jurnalkaltara.com/feed/",
    ]  # fmt: skip

    removed = cli("sources", "remove", "jurnal")
    assert removed.code == 0 and "Removed source jurnal" in removed.out
    assert len(cli("sources", "list").out.splitlines()) == 2


def test_list_json_is_what_the_api_serves(cli: Cli) -> None:
    cli("sources", "add", "html-src", "https://a.example/kategori/kaltara/", "--kind", "html")
    result = cli("sources", "list", "--json")
    assert result.code == 0
    body = orjson.loads(result.out)
    names = [s["name"] for s in body["sources"]]
    assert names == ["kaltara", "html-src"]
    expected = source_json(
        Source("html-src", "https://a.example/kategori/kaltara/", kind="html", origin="added"),
        SourceStatus("html-src"),
        time.time(),
    )
    assert body["sources"][1] == expected


def test_list_without_sources_says_how_to_add_one(cli: Cli) -> None:
    cli.config.write_text("")
    result = cli("sources", "list")
    assert result.code == 0
    assert "feedsvc sources add NAME URL" in result.out


def test_table_shows_state_times_and_the_last_error() -> None:
    now = datetime(2026, 11, 27, 4, 0, tzinfo=UTC).timestamp()
    sources = [
        Source("ok", "https://a.example/feed/"),
        Source("broken", "https://b.example/feed/", interval=3600, origin="added"),
        Source("new", "https://c.example/", kind="html", interval=90),
        Source("moved", "https://d.example/feed"),
    ]
    statuses = [
        SourceStatus("ok", last_success=now - 300, next_poll=now + 240),
        SourceStatus(
            "broken",
            last_success=now - 9 * 86400,
            failures=3,
            last_error="HTTP 503 Service Unavailable",
            last_error_at=now - 7200,
            next_poll=now - 5,
        ),
        SourceStatus("new"),
        SourceStatus(
            "moved",
            url="https://d.example/rss",
            defined_url="https://d.example/feed",
            last_success=now - 30,
        ),
    ]
    lines = sources_table(sources, statuses, now, WITA).splitlines()
    assert lines[1].split() == [
        "ok", "feed", "5m", "config", "ok", "5", "min", "ago", "in", "4", "min",
        "https://a.example/feed/",
    ]  # fmt: skip
    assert lines[2].split() == [
        "broken", "feed", "1h", "added", "failing", "(3)", "2026-11-18", "12:00", "due", "now",
        "https://b.example/feed/",
    ]  # fmt: skip
    assert lines[3] == "    error (2 h ago): HTTP 503 Service Unavailable"
    assert lines[4].split()[:6] == ["new", "html", "1.5m", "config", "never", "polled"]
    assert "just now" in lines[5]
    assert lines[6] == "    moved permanently to https://d.example/rss"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name", "https://a.example/feed"), "source 'bad name': name must be"),
        (("a", "ftp://a.example/feed"), "url must be an http(s) URL"),
        (("a", "https://a.example/feed", "--category", "!!!"), "has no letters or digits"),
        (("a", "https://a.example/feed", "--category", "all"), "reserved name"),
        (("a", "https://a.example/", "--link-selector", "h2 a"), "only applies to --kind html"),
        (("a", "https://a.example/", "--kind", "html", "--link-selector", "a["), "not a CSS"),
    ],
)
def test_add_rejects_bad_input_with_one_line_and_exit_2(cli: Cli, args, message) -> None:
    result = cli("sources", "add", *args)
    assert result.code == 2
    assert result.err.count("\n") == 1 and message in result.err
    assert result.out == ""


@pytest.mark.parametrize("interval", ["0", "-5", "soon", "inf"])
def test_add_rejects_bad_intervals(cli: Cli, interval: str) -> None:
    result = cli("sources", "add", "a", "https://a.example/feed", "--interval", interval)
    assert result.code == 2
    assert "--interval" in result.err


def test_add_refuses_a_taken_name_or_a_polled_url_with_exit_1(cli: Cli) -> None:
    assert cli("sources", "add", "jurnal", "https://www.jurnalkaltara.com/feed/").code == 0
    taken = cli("sources", "add", "jurnal", "https://other.example/feed/")
    assert taken.code == 1
    assert taken.err == "feedsvc: a source named 'jurnal' already exists\n"
    config_name = cli("sources", "add", "kaltara", "https://other.example/feed/")
    assert config_name.code == 1 and "already exists" in config_name.err
    same_url = cli("sources", "add", "again", "http://www.jurnalkaltara.com/feed")
    assert same_url.code == 1
    assert (
        same_url.err == "feedsvc: source jurnal already polls https://www.jurnalkaltara.com/feed/\n"
    )


def test_config_sources_cannot_be_removed_and_unknown_ones_fail(cli: Cli) -> None:
    config = cli("sources", "remove", "kaltara")
    assert config.code == 1
    assert config.err == f"feedsvc: source kaltara is defined in {cli.config}; remove it there\n"
    unknown = cli("sources", "remove", "nope")
    assert unknown.code == 1
    assert unknown.err == "feedsvc: no source named 'nope'\n"


def test_sources_list_as_a_real_process(cli: Cli, redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "feedsvc", "--config", str(cli.config), "sources", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert CONFIG_FEED in done.stdout
    assert done.stderr == ""


# --- import-opml / export-opml ----------------------------------------------------------


def test_import_a_reader_export(cli: Cli, redis_url: str) -> None:
    result = cli("import-opml", str(OPML / "kaltara-reader.opml"))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith(
        "kaltara-reader.opml: 5 added, 2 skipped, 2 invalid, 1 outlines without xmlUrl ignored"
    )
    assert "  skipped: line 13: Jurnal Kaltara – Rubrik Kaltara <" in result.out
    assert "already a source: kaltara" in result.out
    assert "  skipped: line 20: Jurnal Kaltara (http) <http://www.jurnalkaltara.com/feed>: " \
        "repeats line 11 (jurnal-kaltara)" in result.out  # fmt: skip
    assert "  invalid: line 26: Rusak <javascript:alert(1)>: " in result.out
    assert "  invalid: line 27: Kosong <>: the outline's xmlUrl is empty" in result.out

    added = {s.name: s for s in registry_sources(cli, redis_url) if s.origin == "added"}
    assert sorted(added) == [
        "antara-kaltara", "berita-bulungan", "berita-bulungan-2", "ekonomi-bisnis",
        "jurnal-kaltara",
    ]  # fmt: skip
    assert added["berita-bulungan"].category == "Bulungan"
    assert added["antara-kaltara"].url == "http://kaltara.antaranews.com/rss/terkini.xml"
    assert added["ekonomi-bisnis"].category == "Ekonomi"
    assert {s.interval for s in added.values()} == {300}

    again = cli("import-opml", str(OPML / "kaltara-reader.opml"))
    assert "0 added, 7 skipped, 2 invalid" in again.out.splitlines()[0]


def test_import_options_and_dry_run(cli: Cli, redis_url: str) -> None:
    dry = cli(
        "import-opml", str(OPML / "reader-1.0.opml"), "--category", "Tarakan", "--interval", "900",
        "--dry-run",
    )  # fmt: skip
    assert dry.code == 0
    assert "2 would add, 0 skipped, 0 invalid" in dry.out
    assert "  add: cafe-tarakan: http://tarakan.example.id/rss.xml (Tarakan)" in dry.out
    assert [s.name for s in registry_sources(cli, redis_url)] == ["kaltara"]

    real = cli(
        "import-opml", str(OPML / "reader-1.0.opml"), "--category", "Tarakan", "--interval", "900"
    )
    assert "2 added" in real.out
    added = [s for s in registry_sources(cli, redis_url) if s.origin == "added"]
    assert {(s.name, s.category, s.interval) for s in added} == {
        ("kaltara-pos", "Tarakan", 900),
        ("cafe-tarakan", "Tarakan", 900),
    }


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("broken.opml", "broken.opml: not well-formed XML: Opening and ending tag mismatch"),
        ("missing.opml", "cannot read"),
    ],
)
def test_import_of_a_bad_file_is_one_line_and_exit_2(cli: Cli, file: str, message: str) -> None:
    result = cli("import-opml", str(OPML / file))
    assert result.code == 2
    assert result.err.count("\n") == 1 and message in result.err
    assert result.out == ""


def test_import_rejects_a_bad_category_before_reading(cli: Cli) -> None:
    result = cli("import-opml", str(OPML / "reader-1.0.opml"), "--category", "-")
    assert result.code == 2
    assert result.err.startswith("feedsvc: --category:")


def test_export_then_import_round_trips(cli: Cli, redis_url: str, tmp_path: Path) -> None:
    cli(
        "sources", "add", "jurnal", "https://www.jurnalkaltara.com/feed/",
        "--category", "Hukum & Kriminal",
    )  # fmt: skip
    cli(
        "sources", "add", "listing", "https://a.example/kategori/kaltara/", "--kind", "html",
        "--interval", "1200", "--link-selector", "h2.entry-title > a",
    )  # fmt: skip
    before = registry_sources(cli, redis_url)

    to_stdout = cli("export-opml")
    assert to_stdout.code == 0
    root = etree.fromstring(to_stdout.out.encode())
    outlines = {o.get("text"): o.attrib for o in root.findall("body/outline")}
    assert [o["xmlUrl"] for o in outlines.values()] == [s.url for s in before]
    assert outlines["jurnal"]["type"] == "rss"
    assert outlines["jurnal"]["category"] == "/Hukum & Kriminal"
    assert "htmlUrl" not in outlines["jurnal"]  # not known for a feed
    assert outlines["listing"]["htmlUrl"] == "https://a.example/kategori/kaltara/"

    exported = tmp_path / "sources.opml"
    to_file = cli("export-opml", "-o", str(exported))
    assert to_file.code == 0 and to_file.out == ""
    assert "Wrote 3 sources" in to_file.err
    assert exported.read_bytes() == to_stdout.out.encode()

    asyncio.run(flush(redis_url))
    cli.config.write_text("")  # the config source comes back as an added one
    result = cli("import-opml", str(exported))
    assert "3 added, 0 skipped, 0 invalid" in result.out
    after = registry_sources(cli, redis_url)
    by_name = operator.attrgetter("name")
    expected = [dataclasses.replace(s, origin="added") for s in before]
    assert sorted(after, key=by_name) == sorted(expected, key=by_name)


def test_a_large_import_is_quick_and_shows_progress(
    cli: Cli, redis_url: str, tmp_path: Path
) -> None:
    outlines = [
        Outline(text=f"Berita Daerah {i}", xml_url=f"https://s{i}.example.id/feed/", folders=())
        for i in range(5000)
    ]
    big = tmp_path / "big.opml"
    big.write_bytes(write_opml(outlines, title="big"))
    started = time.monotonic()
    result = cli("import-opml", str(big))
    elapsed = time.monotonic() - started
    assert result.code == 0
    assert "5000 added, 0 skipped, 0 invalid" in result.out
    assert elapsed < 30, f"5,000 outlines took {elapsed:.1f}s"
    progress = result.err.splitlines()
    assert progress[0] == "importing: 10% (500/5000)"
    assert progress[-1] == "importing: 100% (5000/5000)"
    assert len(progress) == 10
    assert len(registry_sources(cli, redis_url)) == 5001

    again = cli("import-opml", str(big), "--dry-run")
    assert "0 would add, 5000 skipped" in again.out
    assert again.out.splitlines()[-1] == "  … and 4980 more"
    assert again.err == ""  # nothing to add, no progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_on_a_terminal() -> None:
    screen = Terminal()
    progress = Progress(400, "importing", screen)
    for _ in range(400):
        progress.advance()
    progress.finish()
    text = screen.getvalue()
    assert text.count("\r") == 100  # once per percent, not once per item
    assert text.endswith("\rimporting [" + "#" * 30 + "] 100% 400/400\n")
    assert "[###############---------------]  50% 200/400" in text


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
