"""Log lines for operators: text or JSON, context fields, the access log, no secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from feedsvc.logs import AccessLog, setup_logging

TOKEN = "123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOpp"
API_TOKEN = "api-token-0123456789"
log = logging.getLogger("feedsvc.test")


@pytest.fixture
def service_logging() -> Iterator[None]:
    """The service's own log set-up for one test, then pytest's again."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    access = logging.getLogger("aiohttp.access").level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(access)


async def logged_client(aiohttp_client, app: web.Application):
    """A test client whose server logs requests as `serve` does."""
    server = TestServer(app)
    await server.start_server(access_log_class=AccessLog)
    return await aiohttp_client(server)


async def feed(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * 321)


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_is_one_object_per_event_with_context_fields(service_logging, capsys) -> None:
    setup_logging(logging.INFO, [TOKEN, API_TOKEN], fmt="json")
    log.info("source %s: 2 new", "kaltara-pos", extra={"source": "kaltara-pos"})
    log.warning("push failed", extra={"chat_id": -100123, "article_id": "a1b2"})
    try:
        raise RuntimeError(f"boom\nwith {TOKEN} inside")
    except RuntimeError:
        log.exception("source %s: poll crashed", "x", extra={"source": "x"})
    log.debug("not at info")
    err = capsys.readouterr().err
    first, second, third = events(err)  # three events, three lines
    assert first["message"] == "source kaltara-pos: 2 new"
    assert first["source"] == "kaltara-pos" and first["level"] == "info"
    assert first["logger"] == "feedsvc.test" and first["time"].endswith("+00:00")
    assert (second["chat_id"], second["article_id"]) == (-100123, "a1b2")
    assert "Traceback" in third["traceback"] and "RuntimeError: boom" in third["traceback"]
    assert third["source"] == "x" and third["level"] == "error"
    assert TOKEN not in err and "***" in third["traceback"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_secret_in_any_part_of_a_line(service_logging, capsys, fmt: str) -> None:
    setup_logging(logging.DEBUG, [TOKEN, API_TOKEN], fmt=fmt)
    log.info("GET https://api.telegram.org/bot%s/sendMessage", TOKEN)
    log.info(f"Authorization: Bearer {API_TOKEN}")
    log.info("field", extra={"source": f"x{TOKEN}", "article_id": API_TOKEN})
    try:
        raise ValueError(API_TOKEN)
    except ValueError:
        log.exception("failed")
    err = capsys.readouterr().err
    assert TOKEN not in err and API_TOKEN not in err
    assert err.count("***") >= (5 if fmt == "json" else 3)  # text shows no extra fields


async def test_access_log_is_off_by_default_and_one_readable_line_when_on(
    aiohttp_client, service_logging, capsys
) -> None:
    app = web.Application()
    app.router.add_get("/feeds/kaltara.rss", feed)
    setup_logging(logging.INFO)
    client = await logged_client(aiohttp_client, app)
    await client.get("/feeds/kaltara.rss")
    assert "/feeds/kaltara.rss" not in capsys.readouterr().err

    setup_logging(logging.INFO, access_log=True)
    client = await logged_client(aiohttp_client, app)
    headers = {"User-Agent": "Newsboat/2.36"}
    await client.get("/feeds/kaltara.rss?limit=5", headers=headers)
    await client.get("/nope", headers=headers)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "aiohttp.access" in ln]
    assert len(lines) == 2
    assert (
        lines[0].split("aiohttp.access: ")[1].startswith("GET /feeds/kaltara.rss?limit=5 200 321B ")
    )
    assert lines[0].split("ms ")[1] == '"Newsboat/2.36" 127.0.0.1'
    assert "GET /nope 404 " in lines[1]

    setup_logging(logging.INFO, fmt="json", access_log=True)
    client = await logged_client(aiohttp_client, app)
    await client.get("/feeds/kaltara.rss", headers=headers)
    [event] = [e for e in events(capsys.readouterr().err) if e["logger"] == "aiohttp.access"]
    assert {k: event[k] for k in ("method", "path", "status", "bytes", "user_agent")} == {
        "method": "GET",
        "path": "/feeds/kaltara.rss",
        "status": 200,
        "bytes": 321,
        "user_agent": "Newsboat/2.36",
    }
    assert event["ms"] >= 0


def test_verbose_turns_the_access_log_on_too(service_logging) -> None:
    setup_logging(logging.DEBUG)
    assert logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO)
    setup_logging(logging.INFO)
    assert not logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO)
