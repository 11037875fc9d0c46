"""`feedsvc sources`, `ingest`, `import-opml` and `export-opml` against a real Redis.

Commands run in-process through `feedsvc.cli.main` (it calls asyncio.run, so the
async tests run it in a thread while their loop serves the loopback news site).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from feedsvc.cli.sources import sources_table
from feedsvc.models import Source, SourceStatus
from feedsvc.publish.api import source_json
from tests.cli.conftest import Cli

CONFIG_FEED = "https://www.jurnalkaltara.com/category/kaltara/feed/"
WITA = ZoneInfo("Asia/Makassar")


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
    assert done.stderr == (
        f"feedsvc: using config {cli.config} and Redis {redis_url} (from REDIS_URL)\n"
    )
