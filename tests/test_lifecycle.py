"""How a process stops: real subprocesses, real signals, a stop that hangs on purpose."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.cli.test_cli import config, free_port, redis_pids, wait_healthy

# A web process (embedded Redis) with one more part whose stop never ends:
# "await" hangs in a coroutine (the loop still runs), "block" blocks the loop.
HANGING = textwrap.dedent(
    """
    import asyncio, sys, time
    from feedsvc.app import make_app
    from feedsvc.config import load_settings
    from feedsvc.lifecycle import serve
    from feedsvc.logs import setup_logging

    async def hang(app):
        yield
        print("hanging", flush=True)
        if sys.argv[2] == "block":
            time.sleep(3600)
        await asyncio.sleep(3600)

    settings = load_settings(sys.argv[1])
    setup_logging()
    app = make_app(settings, ("web",))
    app.cleanup_ctx.append(hang)
    sys.exit(asyncio.run(serve(app, "127.0.0.1", settings.service.port)))
    """
)


def start_hanging(tmp_path: Path, how: str, timeout: float) -> subprocess.Popen[str]:
    port = free_port()
    path = config(tmp_path, port, service=f"shutdown_timeout = {timeout}\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING, path, how],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_healthy(port, proc)
    assert redis_pids(tmp_path / "data")
    return proc


def stop_and_time(proc: subprocess.Popen[str], wait: float) -> tuple[int, float, str]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=wait)
    finally:
        proc.kill()
    return proc.returncode, time.monotonic() - started, err


def no_redis_left(data_dir: Path) -> bool:
    deadline = time.monotonic() + 10
    while redis_pids(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not redis_pids(data_dir)


def test_a_stop_that_hangs_ends_after_shutdown_timeout_with_1(tmp_path: Path) -> None:
    proc = start_hanging(tmp_path, "await", timeout=2)
    code, took, err = stop_and_time(proc, wait=20)
    assert code == 1
    assert 1.8 <= took < 12, took  # cut near the 2 s, not after the hour it hangs
    assert "did not stop within 2s (service.shutdown_timeout)" in err
    assert no_redis_left(tmp_path / "data"), "embedded redis-server left running"


def test_a_stop_that_blocks_the_loop_is_cut_just_after_the_timeout(tmp_path: Path) -> None:
    proc = start_hanging(tmp_path, "block", timeout=2)
    code, took, err = stop_and_time(proc, wait=20)
    assert code == 1
    assert 2.5 <= took < 12, took
    assert "still not stopped 3s after the signal; exiting" in err
    assert no_redis_left(tmp_path / "data"), "embedded redis-server left running"


def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    proc = start_hanging(tmp_path, "await", timeout=600)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.readline() == "hanging\n"  # the orderly stop is under way
    code, took, err = stop_and_time(proc, wait=10)
    assert code == 128 + signal.SIGTERM
    assert took < 5, took
    assert "SIGTERM again: exiting now" in err
    assert no_redis_left(tmp_path / "data"), "embedded redis-server left running"
