"""HTTP for sources: one shared client session, conditional GET, hard limits.

The fetcher returns bytes and headers and never parses; a failure is a
`FetchError` whose message is one line fit for the source's status.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC

import aiohttp

MAX_REDIRECTS = 5
PER_HOST_CONNECTIONS = 4
TOTAL_CONNECTIONS = 200
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


class FetchError(Exception):
    """A failed request. `retry_after` (seconds) comes from the server when it said so."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int  # 200 or 304
    url: str  # after redirects
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    moved_to: str | None = None  # set when every redirect on the way was permanent
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("Last-Modified")

    def max_age(self) -> float | None:
        """`Cache-Control: max-age` in seconds, a lower bound for the next poll."""
        if "no-cache" in self.headers.get("Cache-Control", "").lower():
            return None
        match = _MAX_AGE.search(self.headers.get("Cache-Control", ""))
        return float(match.group(1)) if match else None


def new_session(user_agent: str) -> aiohttp.ClientSession:
    """The one client session of a process; per-host limits keep polling polite."""
    connector = aiohttp.TCPConnector(
        limit=TOTAL_CONNECTIONS, limit_per_host=PER_HOST_CONNECTIONS, ttl_dns_cache=300
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": user_agent, "Accept": _ACCEPT},
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
    )


class Fetcher:
    def __init__(self, session: aiohttp.ClientSession, *, timeout: float, max_bytes: int) -> None:
        self.session = session
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                return await self._get(url, headers, started)
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout:g}s") from None
        except aiohttp.TooManyRedirects:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from None
        except aiohttp.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(f"cannot connect to {exc.host}:{exc.port}: {exc.os_error}") from None
        except aiohttp.ClientPayloadError as exc:
            raise FetchError(f"broken response body: {_first_line(exc)}") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"{type(exc).__name__}: {_first_line(exc)}") from None

    async def _get(self, url: str, headers: dict[str, str], started: float) -> FetchResult:
        async with self.session.get(
            url, headers=headers, allow_redirects=True, max_redirects=MAX_REDIRECTS
        ) as resp:
            if resp.status == 304:
                body = b""
            elif resp.status >= 400:
                raise _http_error(resp)
            elif resp.status != 200:
                raise FetchError(f"unexpected HTTP {resp.status} {resp.reason}", status=resp.status)
            else:
                body = await self._read(resp)
            return FetchResult(
                status=resp.status,
                url=str(resp.url),
                body=body,
                headers=resp.headers.copy(),
                moved_to=_permanent_target(resp),
                elapsed=time.monotonic() - started,
            )

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        length = resp.content_length
        if length is not None and length > self.max_bytes:
            raise FetchError(f"response of {length} bytes is over poll.max_bytes={self.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"response is over poll.max_bytes={self.max_bytes}; cut off")
            chunks.append(chunk)
        return b"".join(chunks)


def _http_error(resp: aiohttp.ClientResponse) -> FetchError:
    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    return FetchError(
        f"HTTP {resp.status} {resp.reason or ''}".strip(),
        status=resp.status,
        retry_after=retry_after,
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        at = when.timestamp()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None  # unreadable, or a date no datetime holds (year 99999999999)
    now = time.time() if now is None else now
    return max(0.0, at - now)


def _permanent_target(resp: aiohttp.ClientResponse) -> str | None:
    if resp.history and all(r.status in (301, 308) for r in resp.history):
        return str(resp.url)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
