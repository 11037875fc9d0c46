"""Hostile HTTP input: no header, query or body a client sends gets a 500.

One real feedsvc web + bot application (webhook mode, against the fake Bot API)
runs on its own event loop in a thread for the whole module; requests are raw
bytes over a socket, so they can carry what aiohttp's client refuses to send
(non-UTF-8 header bytes, control characters, absurd dates, huge values).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.webhook import SECRET_HEADER
from feedsvc import appkeys
from feedsvc.app import make_app
from feedsvc.config import (
    ApiSettings,
    FeedsSettings,
    RedisSettings,
    ServiceSettings,
    Settings,
    TelegramSettings,
)
from feedsvc.models import Article, stable_id
from tests.bot.helpers import until
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "hostile-test-token-1"
SECRET = "hostile-webhook-secret"
WEBHOOK = "/telegram/webhook"
ABSURD_DATE = "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"


class Server:
    """The application on a loop of its own, so sync hypothesis tests can call it."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.port = 0
        self.article_id = ""
        self.routes: list[tuple[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("test server did not start")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with FakeTelegram() as telegram:
            app = make_app(self._settings(telegram), ("web", "bot"))
            runner = web.AppRunner(app, shutdown_timeout=1.0)
            await runner.setup()
            try:
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                self.port = runner.addresses[0][1]
                await self._seed(app)
                await until(lambda: app[appkeys.BOT].running, timeout=20)
                self._ready.set()
                await self._stop.wait()
            finally:
                await runner.cleanup()

    def _settings(self, telegram: FakeTelegram) -> Settings:
        return dataclasses.replace(
            Settings(),
            service=ServiceSettings(base_url="https://berita.example", shutdown_timeout=5),
            redis=RedisSettings(url=self.redis_url),
            feeds=FeedsSettings(default_limit=5, max_limit=50),
            api=ApiSettings(tokens=(TOKEN,)),
            telegram=TelegramSettings(
                token=telegram.token,
                api_base_url=telegram.base_url,
                mode="webhook",
                webhook_url="https://berita.example" + WEBHOOK,
                webhook_secret=SECRET,
            ),
        )

    async def _seed(self, app: web.Application) -> None:
        store = app[appkeys.STORE]
        await app[appkeys.REDIS].flushdb()
        now = datetime.now(UTC)
        for n in range(3):
            link = f"https://news.example/berita-{n}/"
            await store.upsert(
                Article(
                    id=stable_id(link),
                    title=f"Berita {n}",
                    link=link,
                    categories=("KALTARA",),
                    source="test",
                    published=now - timedelta(hours=n),
                    content="<p>Isi</p>",
                )
            )
        self.article_id = stable_id("https://news.example/berita-0/")


@pytest.fixture(scope="module")
def server(standalone_redis_url: str) -> Iterator[Server]:
    server = Server(standalone_redis_url)
    server.start()
    server.routes = routes(server)
    yield server
    server.stop()


def raw_request(port: int, head: bytes, body: bytes = b"") -> int:
    """Send `head` (request line and headers, no final blank line) and `body`; the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.partition(b"\r\n")[0]
    parts = status_line.split(b" ")
    assert len(parts) >= 2 and parts[0].startswith(b"HTTP/1."), f"no answer: {answer[:80]!r}"
    return int(parts[1])


def request_head(
    method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers]
    if body or method == "POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines)


def routes(server: Server) -> list[tuple[str, str]]:
    """(method, path) of every route of the application, its parameters filled in."""
    fill = {
        "{file}": "kaltara.rss", "{slug}": "kaltara", "{id}": server.article_id, "{name}": "situs",
    }  # fmt: skip
    found = {
        ("GET", "/"), ("GET", "/opml"), ("GET", "/healthz"), ("GET", "/metrics"),
        ("GET", "/feeds/kaltara.rss"), ("GET", "/feeds/all.atom"), ("GET", "/feeds/all.json"),
        ("GET", "/feed/"), ("GET", "/category/kaltara/feed/atom/"),
        ("GET", "/api/articles"), ("GET", f"/api/articles/{server.article_id}"),
        ("GET", "/api/categories"), ("GET", "/api/sources"),
        ("POST", "/api/articles"), ("POST", WEBHOOK),
    }  # fmt: skip
    return sorted(found | set(_declared_routes(fill)))


def _declared_routes(fill: dict[str, str]) -> Iterator[tuple[str, str]]:
    # Routes added later (by other parts) are covered too: read them off a fresh app.
    app = make_app(
        dataclasses.replace(
            Settings(),
            telegram=TelegramSettings(
                token="1:x", mode="webhook", webhook_url="https://h" + WEBHOOK
            ),
        ),
        ("web", "bot"),
    )
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS") or route.resource is None:
            continue
        path = route.resource.canonical
        for name, value in fill.items():
            path = path.replace(name, value)
        if "{" not in path:
            yield route.method, path


# --- the bugs found from outside, one by one ---------------------------------------------


@pytest.mark.parametrize("path", ["/feeds/kaltara.rss", "/feeds/all.json", "/", "/opml"])
def test_an_absurd_if_modified_since_is_ignored(server: Server, path: str) -> None:
    head = request_head("GET", path.encode(), [(b"If-Modified-Since", ABSURD_DATE.encode())], b"")
    assert raw_request(server.port, head) == 200


def test_non_utf8_bytes_in_the_bearer_token_are_a_403(server: Server) -> None:
    body = orjson.dumps({"title": "t", "link": "https://a.example/", "categories": ["X"]})
    head = request_head(
        "POST", b"/api/articles", [(b"Authorization", b"Bearer \xff\xfe" + TOKEN.encode())], body
    )
    assert raw_request(server.port, head, body) == 403


def test_non_utf8_bytes_in_the_webhook_secret_are_a_403(server: Server) -> None:
    head = request_head("POST", WEBHOOK.encode(), [(SECRET_HEADER.encode(), b"\xc3\x28")], b"{}")
    assert raw_request(server.port, head, b"{}") == 403


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"5",
        b"null",
        b"{}",
        b'{"update_id": "x"}',
        b'{"update_id": 1, "message": 5}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1e20, '
        b'"chat": {"id": 1, "type": "private"}}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": []}}',
    ],
)
def test_a_malformed_update_with_the_right_secret_is_a_400(server: Server, body: bytes) -> None:
    head = request_head("POST", WEBHOOK.encode(), [(SECRET_HEADER.encode(), SECRET.encode())], body)
    assert raw_request(server.port, head, body) == 400


def _post(server: Server, **fields: object) -> tuple[int, dict]:
    article = {"title": "Judul", "link": "https://contoh.id/a/", "categories": ["KALTARA"]}
    body = orjson.dumps({**article, **fields})
    head = request_head(
        "POST", b"/api/articles", [(b"Authorization", f"Bearer {TOKEN}".encode())], body
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), orjson.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize(
    "published",
    ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+00:00", "1899-12-31T23:59:59+00:00"],
)
def test_a_published_time_python_cannot_hold_is_a_400_naming_the_field(
    server: Server, published: str
) -> None:
    status, body = _post(server, published=published)
    assert status == 400
    assert body["field"] == "published"


@pytest.mark.parametrize("link", ["http://", "https://", "http://[::1", "http:///path"])
def test_a_link_without_a_host_is_a_400(server: Server, link: str) -> None:
    status, body = _post(server, link=link)
    assert (status, body["field"]) == (400, "link")


@pytest.mark.parametrize(
    "before", ["0001-01-01T00:00:00%2B14:00", "0001-01-01", "9999-12-31T23:59:59-23:59"]
)
def test_an_absurd_before_cursor_is_not_a_500(server: Server, before: str) -> None:
    head = request_head("GET", f"/api/articles?before={before}".encode(), [], b"")
    assert raw_request(server.port, head) < 500


# --- the property: any header, query or body, on every route -----------------------------

HEADER_NAMES = [
    b"If-Modified-Since", b"If-None-Match", b"Authorization", b"Accept-Encoding",
    b"Content-Type", b"Accept", b"Range", b"Cookie", b"Origin", b"User-Agent", b"Referer",
    b"X-Forwarded-For", b"X-Forwarded-Proto", b"Forwarded", b"Accept-Language",
    SECRET_HEADER.encode(), b"X-Unknown",
]  # fmt: skip
# Any byte a header value can carry on the wire (not CR, LF or NUL).
HEADER_BYTES = st.binary(max_size=60).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
)
ABSURD_DATES = st.sampled_from(
    [
        ABSURD_DATE,
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "Mon, 01 Jan 0001 00:00:00 +2359",
        "Mon, 01 Jan 2020 00:00:00 +99999999999999999999",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "0",
        "",
    ]
).map(str.encode)
HEADER_VALUES = st.one_of(
    HEADER_BYTES,
    ABSURD_DATES,
    st.sampled_from(
        [
            f"Bearer {TOKEN}".encode(),
            SECRET.encode(),
            b"Bearer " + b"A" * 200,
            b"gzip;q=nan, *;q=1e999",
            b"bytes=0-",
            b'W/"x", *',
            b"x" * 9000,
        ]
    ),
)
QUERY = st.lists(
    st.tuples(
        st.sampled_from([b"limit", b"page", b"before", b"category", b"q", b"x", b"%ff"]),
        st.one_of(
            st.binary(max_size=20).map(lambda b: "".join(f"%{c:02x}" for c in b).encode()),
            st.sampled_from([b"0", b"-1", b"99999999999999999999", b"1e3", b"%", b"%zz"]),
            st.sampled_from([b"0001-01-01T00:00:00%2B14:00", b"9999-12-31", b"\xff\xfe"]),
        ),
    ),
    max_size=4,
).map(lambda pairs: b"&".join(k + b"=" + v for k, v in pairs))
BODIES = st.one_of(
    st.binary(max_size=80),
    st.dictionaries(
        st.sampled_from(
            ["title", "link", "categories", "published", "guid", "image", "author", "update_id"]
        ),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(),
            st.text(max_size=20),
            st.lists(st.text(max_size=5), max_size=3),
            st.sampled_from(["http://", "0001-01-01T00:00:00+14:00", "https://a.example/"]),
        ),
        max_size=5,
    ).map(lambda fields: json.dumps(fields).encode()),  # big ints and NaN too
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUES), max_size=4),
    query=QUERY,
    body=BODIES,
)
def test_no_header_query_or_body_gets_a_500(
    server: Server, data: st.DataObject, headers: list, query: bytes, body: bytes
) -> None:
    method, path = data.draw(st.sampled_from(server.routes), label="route")
    target = path.encode() + (b"?" + query if query else b"")
    if method != "POST":
        body = b""
    status = raw_request(server.port, request_head(method, target, headers, body), body)
    assert status < 500, (method, target, headers, body)
