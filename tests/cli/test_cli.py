"""The `feedsvc` command as a user runs it: a real process, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path: Path, port: int, extra: str = "", service: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f"[service]\nport = {port}\nbase_url = 'http://127.0.0.1:{port}'\n{service}"
        f"[redis]\ndata_dir = '{tmp_path / 'data'}'\n{extra}"
    )
    return str(path)


def feedsvc(*args: str, **kw) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FEEDSVC_CONFIG")}
    env.update(kw.pop("env", {}))
    return subprocess.Popen(
        [sys.executable, "-m", "feedsvc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def wait_healthy(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"feedsvc exited early: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return {"status": r.status}
        except OSError:
            time.sleep(0.1)
    pytest.fail("feedsvc did not become healthy")


def redis_pids(data_dir: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_and_stops_cleanly_on_signal(tmp_path: Path, sig: int) -> None:
    port = free_port()
    proc = feedsvc("run", "--config", config(tmp_path, port))
    try:
        assert wait_healthy(port, proc)["status"] == 200
        assert redis_pids(tmp_path / "data")
        proc.send_signal(sig)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    assert not redis_pids(tmp_path / "data"), "embedded redis-server left running"
    assert not (tmp_path / "data" / "redis.sock").exists()


def test_unreachable_redis_url_is_one_line_and_nonzero(tmp_path: Path) -> None:
    port = free_port()
    proc = feedsvc(
        "web",
        "--config",
        config(tmp_path, port),
        env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    line = err.strip().splitlines()[-1]
    assert line.startswith("feedsvc: cannot reach Redis at redis://127.0.0.1")
    assert "(from REDIS_URL)" in line  # the variable is named: it wins over the file
    assert "Traceback" not in err


def test_a_bad_redis_url_variable_is_blamed_on_the_variable(tmp_path: Path) -> None:
    proc = feedsvc("web", "--config", config(tmp_path, free_port()), env={"REDIS_URL": "http://x"})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert err.strip().splitlines()[-1] == (
        "feedsvc: environment: REDIS_URL must start with one of redis, rediss, unix, "
        "redis+sentinel, redis+cluster, rediss+cluster://"
    )


def test_unwritable_data_dir_is_one_line_and_nonzero(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[service]\nport = {free_port()}\n[redis]\ndata_dir = '/proc/feedsvc'\n")
    proc = feedsvc("web", "--config", str(path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "redis.data_dir /proc/feedsvc cannot be created" in err
    assert "Traceback" not in err


def test_port_in_use_is_one_line_exit_2_and_stops_what_started(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = feedsvc("web", "--config", config(tmp_path, port))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == (
        f"feedsvc: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "Traceback" not in err
    assert not redis_pids(tmp_path / "data")


def test_port_flag_and_port_env_and_reuse_port(tmp_path: Path, redis_url: str) -> None:
    """--port beats $PORT beats the file; a second web on a taken port fails unless both
    were started with --reuse-port."""
    env = {"REDIS_URL": redis_url}
    path = config(tmp_path, free_port())
    by_env, by_flag = free_port(), free_port()
    first = feedsvc("web", "--config", path, env={**env, "PORT": str(by_env)})
    second = feedsvc("web", "--config", path, "--host", "127.0.0.1", "--port", str(by_flag),
                     "--reuse-port", env={**env, "PORT": str(by_env)})  # fmt: skip
    try:
        assert wait_healthy(by_env, first)["status"] == 200
        assert wait_healthy(by_flag, second)["status"] == 200
        taken = feedsvc("web", "--config", path, "--port", str(by_env), env=env)
        assert taken.wait(60) == 2
        shared = feedsvc("web", "--config", path, "--port", str(by_flag), "--reuse-port", env=env)
        try:
            for line in shared.stderr:  # it started and listens beside `second`
                if "listening on" in line:
                    break
            assert shared.poll() is None, shared.stderr.read()
        finally:
            shared.send_signal(signal.SIGTERM)
            assert shared.wait(30) == 0
    finally:
        for proc in (first, second):
            proc.send_signal(signal.SIGTERM)
        assert [first.wait(30), second.wait(30)] == [0, 0]


def test_the_procfile_web_line_serves_on_the_platforms_port(tmp_path: Path, redis_url: str) -> None:
    """The Procfile's web line as a platform runs it: through a shell, PORT set by the
    platform, the feedsvc script on PATH; it serves there and stops cleanly on SIGTERM."""
    procfile = Path(__file__).resolve().parents[2] / "Procfile"
    lines = dict(line.split(": ", 1) for line in procfile.read_text().splitlines() if line)
    assert lines["web"] == "feedsvc web --port $PORT"
    port = free_port()
    path = tmp_path / "config.toml"
    path.write_text("[service]\nhost = '0.0.0.0'\nport = 9\n")  # the file's port loses to PORT
    scripts = str(Path(sys.executable).parent)
    env = {"PORT": str(port), "REDIS_URL": redis_url, "FEEDSVC_CONFIG": str(path),
           "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}  # fmt: skip
    proc = subprocess.Popen(
        ["sh", "-c", "exec " + lines["web"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, **env},
    )  # fmt: skip
    try:
        assert wait_healthy(port, proc)["status"] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()


def test_bad_port_flag_is_a_usage_error() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "feedsvc", "web", "--port", "70000"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "--port: must be a port number between 1 and 65535, got 70000" in out.stderr


def test_version_and_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "feedsvc", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("feedsvc ")
    out = subprocess.run(
        [sys.executable, "-m", "feedsvc", "--help"], capture_output=True, text=True, check=True
    )
    assert "run" in out.stdout and "web" in out.stdout
