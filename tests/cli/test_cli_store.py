"""Which store a one-shot command uses, said on stderr; no new empty store by surprise.

In-process (`feedsvc.cli.main`), with no REDIS_URL: the embedded Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from feedsvc import appkeys, lifecycle
from feedsvc.cli import main
from feedsvc.config import load_settings

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def feedsvc(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("FEEDSVC_CONFIG", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(cwd: Path, *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    root.handlers[:] = handlers  # main() set up logging for a process; this is a test
    root.setLevel(level)


def test_a_reading_command_never_creates_a_store(tmp_path: Path, feedsvc: Run) -> None:
    """Run from a directory without config or data: it says where it looked and stops."""
    data = tmp_path / "data"
    for args in (("sources", "list"), ("articles", "list"), ("export-opml",)):
        code, out, err = feedsvc(tmp_path, *args)
        assert code == 1, err
        assert err.splitlines() == [
            "feedsvc: using config built-in defaults (no --config, $FEEDSVC_CONFIG or "
            f"./config.toml) and Redis embedded, data in {data}",
            f"feedsvc: no store in {data} (redis.data_dir) yet, so nothing to read or change: "
            "run this where `feedsvc run` runs, or give it that --config",
        ]
        assert out == "" and not data.exists()


def test_sources_add_creates_it_and_says_so_then_others_use_it(
    tmp_path: Path, feedsvc: Run
) -> None:
    store = tmp_path / "store"
    config = tmp_path / "config.toml"
    config.write_text(f"[redis]\ndata_dir = '{store}'\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, _, err = feedsvc(elsewhere, "-c", str(config), "sources", "add", "a", "https://a.id/f/")
    assert code == 0, err
    assert err.splitlines() == [
        f"feedsvc: using config {config} and Redis embedded, data in {store}",
        f"feedsvc: no store in {store} yet: starting a new, empty one",
    ]
    code, out, err = feedsvc(elsewhere, "--config", str(config), "sources", "list")
    assert code == 0 and "https://a.id/f/" in out
    assert err == f"feedsvc: using config {config} and Redis embedded, data in {store}\n"
    assert not (elsewhere / "data").exists()


def test_a_command_without_the_services_config_points_at_it(tmp_path: Path, feedsvc: Run) -> None:
    """`make run` passes config.example.toml; a bare command in the same directory finds
    no config file, reads the same store, and is told which file the service used."""
    example = tmp_path / "config.example.toml"
    example.write_text("[service]\nbase_url = 'http://news.example/'\n")
    asyncio.run(start_and_stop_the_service(tmp_path, example))
    code, _, err = feedsvc(tmp_path, "sources", "list")
    assert code == 0, err
    assert err.splitlines()[1] == (
        "feedsvc: note: the service on this store started with --config config.example.toml; "
        "this command uses the built-in defaults: give it --config config.example.toml "
        "(or set FEEDSVC_CONFIG) to see what the service sees"
    )
    code, _, err = feedsvc(tmp_path, "--config", str(example), "sources", "list")
    assert code == 0 and "note:" not in err


async def start_and_stop_the_service(cwd: Path, config: Path) -> None:
    """The service's own start (its Redis context), run in `cwd`."""
    app = web.Application()
    app[appkeys.SETTINGS] = load_settings(str(config), env={})
    with contextlib.chdir(cwd):
        async with contextlib.asynccontextmanager(lifecycle.redis_ctx)(app):
            pass
