"""A real `feedsvc web` process (embedded Redis) against hostile clients and a dying Redis.

What the in-process tests check piece by piece, once through the process as it
is deployed: the server options `serve` gives its runner, the process's logging,
and the supervisor of its embedded redis-server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request
from pathlib import Path

from tests.cli.test_cli import config, feedsvc, free_port, redis_pids, wait_healthy

TOKEN = "process-test-token-0123"
LONG_TOKEN = "Qw7" + "rT5yU" * 40  # 203 characters


def raw(port: int, data: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def dripped_until_closed(port: int, limit: float) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
        sock.settimeout(0.1)
        n = 0
        while time.monotonic() - started < limit:
            try:
                sock.sendall(f"X-Drip-{n}: a\r\n".encode())
                if sock.recv(4096) == b"":
                    break
            except TimeoutError:
                n += 1
            except OSError:  # reset by the server
                break
        return time.monotonic() - started


def post_article(port: int) -> int:
    body = json.dumps(
        {"title": "Tetap ada", "link": "https://contoh.id/tetap/", "categories": ["KALTARA"]}
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/articles",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_feedsvc_web_drops_slow_clients_logs_bad_ones_once_and_outlives_its_redis(
    tmp_path: Path,
) -> None:
    port = free_port()
    path = config(
        tmp_path, port, service="header_timeout = 1\n", extra=f"[api]\ntokens = ['{TOKEN}']\n"
    )
    proc = feedsvc("web", "--config", path)
    try:
        wait_healthy(port, proc)
        took = dripped_until_closed(port, limit=6)
        assert 0.8 <= took < 4, took

        for _ in range(4):
            raw(port, b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
                + LONG_TOKEN.encode() * 50 + b"\r\n\r\n")  # fmt: skip
            raw(port, b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
                + LONG_TOKEN.encode() + b"\x01\r\n\r\n")  # fmt: skip

        assert post_article(port) == 201
        (redis_pid,) = redis_pids(tmp_path / "data")
        os.kill(redis_pid, signal.SIGKILL)
        started = time.monotonic()
        while health(port) != 200 or redis_pids(tmp_path / "data") in ([], [redis_pid]):
            assert time.monotonic() - started < 10, "embedded Redis not back within 10 s"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/articles", timeout=5) as r:
            titles = [a["title"] for a in json.load(r)["articles"]]
        assert titles == ["Tetap ada"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    for start in range(0, len(LONG_TOKEN) - 12, 5):
        assert LONG_TOKEN[start : start + 12] not in err
    assert "Traceback" not in err
    malformed = [line for line in err.splitlines() if "malformed request (" in line]
    assert 1 <= len(malformed) <= 2, malformed  # one line per kind, not one per request
    assert "embedded Redis exited (code -9); restarting it" in err
