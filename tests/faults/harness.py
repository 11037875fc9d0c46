"""What the fault tests share: feedsvc processes of one test, their logs, waiting.

Every process is a real `python -m feedsvc ...` on a config of the test's own;
all of its stderr is kept, so a test can check every log line it produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

# Secrets the fault tests configure, to check that no log line carries them.
BOT_TOKEN = "424242:FAULT-test-token-abcdefghijklmnop"
API_TOKEN = "fault-api-token-0123456789abcdef"


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.process.returncode is None


class Fleet:
    """The feedsvc processes of one test, all on one config file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.procs: dict[str, Proc] = {}

    async def start(self, name: str, *args: str) -> Proc:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "FEEDSVC_CONFIG", "TELEGRAM_BOT_TOKEN", "PORT")
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "feedsvc", *args, "--config", str(self.config),
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        proc = Proc(name, process)
        proc.reader = asyncio.create_task(_read_lines(process, proc.lines))
        self.procs[name] = proc
        return proc

    async def wait_log(self, name: str, text: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        proc = self.procs[name]
        await until(lambda: any(text in line for line in proc.lines) or not proc.running, timeout)
        if not any(text in line for line in proc.lines):
            pytest.fail(f"{name} never logged {text!r}:\n" + "".join(proc.lines[-20:]))

    async def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> int:  # noqa: ASYNC109
        proc = self.procs[name]
        if proc.running:
            proc.process.send_signal(sig)
        await asyncio.wait_for(proc.process.wait(), timeout)
        if proc.reader is not None:
            await asyncio.wait_for(proc.reader, 10)  # stderr's end
        return proc.process.returncode

    def lines(self) -> list[str]:
        return [line for proc in self.procs.values() for line in proc.lines]

    async def close(self) -> None:
        for proc in self.procs.values():
            if proc.running:
                proc.process.kill()
            await asyncio.wait_for(proc.process.wait(), 10)
            if proc.reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.reader, 10)


async def _read_lines(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    assert process.stderr is not None
    async for raw in process.stderr:
        lines.append(raw.decode(errors="replace"))


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float = 30,  # noqa: ASYNC109
    every: float = 0.05,
) -> bool:
    """Wait until `check()` holds (it may be async); False when the time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)


async def get(url: str, **headers: str) -> tuple[int, Mapping[str, str], bytes]:
    """One GET: status, headers, body; status 0 when nothing answered."""
    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http,
            http.get(url, headers=headers) as resp,
        ):
            return resp.status, resp.headers.copy(), await resp.read()
    except (aiohttp.ClientError, TimeoutError):
        return 0, {}, b""


def config_text(
    redis_url: str,
    sources: dict[str, str],
    *,
    interval: float = 1,
    poll: str = "",
    telegram: str = "",
    logging: str = 'format = "json"\nlevel = "debug"\naccess_log = true\n',
) -> str:
    """A config for fault tests: short intervals, JSON logs, the secrets above."""
    text = (
        "[service]\nbase_url = 'http://127.0.0.1:8080'\nshutdown_timeout = 15\n"
        f"[redis]\nurl = '{redis_url}'\n"
        f"[logging]\n{logging}"
        f"[api]\ntokens = ['{API_TOKEN}']\n"
        f"[poll]\nparse_processes = 0\n{poll}"
    )
    if telegram:
        text += f"[telegram]\ntoken = '{BOT_TOKEN}'\n{telegram}"
    for name, url in sources.items():
        text += f"[[sources]]\nname = '{name}'\nurl = '{url}'\ninterval = {interval}\n"
    return text


def assert_logs_clean(lines: list[str]) -> None:
    """Every line one JSON event, and no secret in any of them."""
    import json

    assert lines, "the processes logged nothing"
    for line in lines:
        assert BOT_TOKEN not in line and BOT_TOKEN.split(":")[1] not in line, line
        assert API_TOKEN not in line, line
        event = json.loads(line)
        assert {"time", "level", "logger", "message"} <= event.keys(), line
