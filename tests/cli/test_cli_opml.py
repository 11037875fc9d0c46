"""`feedsvc sources import-opml` and `export-opml`.

Reader exports, options, bad files, round trips, progress.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import operator
import time
from pathlib import Path

import pytest
from lxml import etree

from feedsvc.cli.opml import Progress
from feedsvc.publish.opml import Outline, write_opml
from tests.cli.conftest import Cli, flush, registry_sources

OPML = Path(__file__).resolve().parents[1] / "data" / "opml"


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
