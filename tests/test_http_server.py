"""The listening server holds up: slow clients dropped, bad requests logged once, quietly.

The application runs behind a real `web.AppRunner` with the options `feedsvc run`
gives it (`server_options`), on loopback; clients are raw sockets.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from feedsvc.app import make_app
from feedsvc.config import ApiSettings, ServiceSettings, Settings
from feedsvc.httpserver import ClientErrorLog, Throttle, server_options

HEADER_TIMEOUT = 0.5
TOKEN = "t" * 40
LONG_TOKEN = "Zq9" + "x7Kp2" * 40  # 203 characters


@pytest.fixture
async def port(settings: Settings, redis) -> AsyncIterator[int]:
    settings = dataclasses.replace(
        settings,
        service=dataclasses.replace(settings.service, header_timeout=HEADER_TIMEOUT),
        api=ApiSettings(tokens=(TOKEN,)),
    )
    runner = web.AppRunner(make_app(settings), shutdown_timeout=1.0, **server_options(settings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the server closes the connection (reading and dropping its answer)."""
    started = time.monotonic()
    async with asyncio.timeout(limit):
        while await reader.read(65536):
            pass
    return time.monotonic() - started


async def test_a_client_dripping_a_partial_header_is_dropped_after_the_timeout(port) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")

    async def drip() -> None:
        for n in range(100):
            writer.write(f"X-Drip-{n}: a\r\n".encode())
            await asyncio.sleep(0.05)

    dripping = asyncio.create_task(drip())
    try:
        took = await closed_after(reader, 5)
    finally:
        dripping.cancel()
        writer.close()
    # Dropped at the timeout, although a byte came every 50 ms.
    assert HEADER_TIMEOUT * 0.8 <= took < HEADER_TIMEOUT + 2


async def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(port) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
    status = await reader.readline()
    assert status.startswith(b"HTTP/1.1 200")
    took = await closed_after(reader, 5)
    writer.close()
    assert took < HEADER_TIMEOUT + 2


async def test_a_normal_request_on_a_connection_is_answered(port) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()


async def send(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()


MALFORMED = [
    b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + LONG_TOKEN.encode() * 50 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + LONG_TOKEN.encode() + b"\x01\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nBearer " + LONG_TOKEN.encode() + b"\r\n\r\n",
    b"GET /" + LONG_TOKEN.encode() * 60 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\n\r\n",
    LONG_TOKEN.encode() + b" / HTTP/1.1\r\nHost: a\r\n\r\n",  # logged at debug level
    b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
    b"POST /api/articles HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
    b"POST /api/articles HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
]


async def test_malformed_requests_are_one_line_a_minute_per_kind_and_never_echo_a_token(
    port, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    for _ in range(5):
        for request in MALFORMED:
            answer = await send(port, request)
            assert answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:60]
    records = server_lines(caplog)
    kinds = [r.getMessage().partition(";")[0] for r in records]
    assert records, "malformed requests are said"
    assert len(kinds) == len(set(kinds)), kinds  # one line per kind
    assert all(k.startswith("malformed request (") for k in kinds), kinds
    assert all(r.exc_info is None and r.exc_text is None for r in records)
    _assert_no_token_in(caplog)


async def test_clients_going_away_mid_body_are_one_line(
    port, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    for _ in range(5):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /api/articles HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
            + TOKEN.encode()
            + b'\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"ti'
        )
        await writer.drain()
        await asyncio.sleep(0.05)  # the handler is reading the body
        writer.transport.abort()
    await asyncio.sleep(0.2)
    records = server_lines(caplog)
    assert [r.getMessage().partition(";")[0] for r in records] == ["client went away mid-request"]
    assert records[0].exc_info is None


async def test_a_refused_long_token_is_not_logged(port, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await send(
        port,
        b"POST /api/articles HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAuthorization: Bearer "
        + LONG_TOKEN.encode()
        + b"\r\nContent-Length: 2\r\n\r\n{}",
    )
    assert answer.startswith(b"HTTP/1.1 403")
    _assert_no_token_in(caplog)


def server_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server said about requests, apart from the access log."""
    return [r for r in caplog.records if r.name == "aiohttp.server" and r.levelno >= logging.INFO]


def _assert_no_token_in(caplog: pytest.LogCaptureFixture) -> None:
    text = caplog.text + "".join(
        logging.Formatter().format(r) for r in caplog.records
    )  # tracebacks too
    for start in range(0, len(LONG_TOKEN) - 12, 5):
        assert LONG_TOKEN[start : start + 12] not in text


def test_the_throttle_says_a_kind_once_a_minute_with_the_count() -> None:
    throttle = Throttle(every=60)
    assert throttle.due("a", now=0) == 1
    assert [throttle.due("a", now=t) for t in (1, 30, 59)] == [None, None, None]
    assert throttle.due("b", now=59) == 1  # kinds are apart
    assert throttle.due("a", now=60) == 4  # this one and the 3 unsaid
    assert throttle.due("a", now=61) is None


def test_a_server_side_error_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    errors = ClientErrorLog(logging.getLogger("aiohttp.server"))
    try:
        raise RuntimeError("a bug of ours")
    except RuntimeError as exc:
        errors.exception("Error handling request from %s", "1.2.3.4", exc_info=exc)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_header_timeout_defaults_to_ten_seconds() -> None:
    assert ServiceSettings().header_timeout == 10
    assert server_options(Settings())["keepalive_timeout"] == 10
