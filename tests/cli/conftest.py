"""What the CLI tests share: `feedsvc` run in-process against the session Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.cli import main
from feedsvc.config import load_settings
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import Source
from feedsvc.storage.connection import client_from_url

CONFIG_FEED = "https://www.jurnalkaltara.com/category/kaltara/feed/"


USING = "feedsvc: using "  # the line naming the config and the Redis a command used


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str  # stderr without the `using` line
    used: str = ""  # that line, if any


class Cli:
    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config = config
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        try:
            code = main(["--config", str(self.config), *args])
        except SystemExit as exc:  # argparse rejects an option
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        lines = err.splitlines(keepends=True)
        used = "".join(line for line in lines if line.startswith(USING))
        rest = "".join(line for line in lines if not line.startswith(USING))
        return Result(code, out, rest, used)


@pytest.fixture
def cli(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Cli]:
    asyncio.run(flush(redis_url))
    config = tmp_path / "config.toml"
    config.write_text(
        "[poll]\ntimeout = 5\n"
        f"[[sources]]\nname = 'kaltara'\nurl = '{CONFIG_FEED}'\ncategory = 'KALTARA'\n"
    )
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("FEEDSVC_CONFIG", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield Cli(config, capsys)
    root.handlers[:] = handlers  # main() set up logging for a process; this is a test
    root.setLevel(level)


async def flush(url: str) -> None:
    client = client_from_url(url)
    await client.flushdb()
    await client.aclose()


def registry_sources(cli: Cli, redis_url: str) -> list[Source]:
    async def read() -> list[Source]:
        client = client_from_url(redis_url)
        try:
            return await SourceRegistry(client, load_settings(str(cli.config))).all()
        finally:
            await client.aclose()

    return asyncio.run(read())
