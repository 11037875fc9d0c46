"""HTTP for sources: one shared client session, conditional GET, hard limits.

The fetcher returns bytes and headers and never parses; a failure is a
`FetchError` whose message is one line fit for the source's status.

Every fetch names its `origin`, the URL of the source as configured. When that
host is on the internet, the fetch may not reach an internal address (loopback,
private, link-local, cloud metadata): each redirect hop's host is resolved and
every address checked before the request, and the connected peer is checked
again, so neither a redirect nor a feed's article link can make feedsvc fetch
(and republish) an intranet page. A source configured on an internal host (a
newsroom's intranet feed) may use internal addresses.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC

import aiohttp
from yarl import URL

from feedsvc.urls import http_url

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
PER_HOST_CONNECTIONS = 4
TOTAL_CONNECTIONS = 200
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_internal_address(ip: IPAddress) -> bool:
    """True for every address that is not on the public internet.

    Loopback, private, link-local (169.254.169.254, the cloud metadata service),
    shared (100.64/10), unspecified, reserved and multicast; an IPv6 address that
    embeds an IPv4 one (mapped, 6to4, NAT64) is judged by that IPv4 address.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_internal_address(embedded)
    return not ip.is_global or ip.is_multicast


class FetchError(Exception):
    """A failed request. `retry_after` (seconds) comes from the server when it said so.

    `transient`: the same request may well work later (a timeout, a refused or reset
    connection, a cut body, HTTP 5xx or 429); a 404, a refused address or a body
    over poll.max_bytes will not.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        retry_after: float | None = None,
        transient: bool = False,
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.transient = transient


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
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        max_bytes: int,
        is_internal: Callable[[IPAddress], bool] = is_internal_address,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.is_internal = is_internal  # tests stand a loopback address in for the internet

    async def get(
        self,
        url: str,
        *,
        origin: str,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET `url` for the source configured at `origin`, following redirects.

        `origin` decides whether internal addresses may be reached: only when the
        source's own host is internal.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                guard = _Guard(self.is_internal)
                guard.allow_internal = await guard.is_internal_host(_host(origin))
                return await self._get(url, headers, started, guard)
        except TimeoutError:
            raise FetchError(f"timed out after {self.timeout:g}s", transient=True) from None
        except (aiohttp.InvalidURL, ValueError) as exc:
            raise FetchError(f"invalid URL: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            message = f"cannot connect to {exc.host}:{exc.port}: {exc.os_error}"
            raise FetchError(message, transient=True) from None
        except aiohttp.ClientPayloadError as exc:
            message = f"broken response body: {_first_line(exc)}"
            raise FetchError(message, transient=True) from None
        except aiohttp.ClientError as exc:
            # Server disconnected, connection reset and the like.
            message = f"{type(exc).__name__}: {_first_line(exc)}"
            raise FetchError(message, transient=True) from None

    async def _get(
        self, url: str, headers: dict[str, str], started: float, guard: _Guard
    ) -> FetchResult:
        # Redirects are followed here, not by aiohttp, so every hop's host is checked.
        hops: list[int] = []
        target = URL(url)
        while True:
            await guard.check_host(target)
            async with self.session.get(target, headers=headers, allow_redirects=False) as resp:
                guard.check_peer(resp)
                location = resp.headers.get("Location") if resp.status in REDIRECTS else None
                if location is None:
                    return await self._result(resp, started, hops)
                if len(hops) == MAX_REDIRECTS:
                    raise FetchError(f"more than {MAX_REDIRECTS} redirects")
                hops.append(resp.status)
                target = _redirect_target(resp.url, location)

    async def _result(
        self, resp: aiohttp.ClientResponse, started: float, hops: list[int]
    ) -> FetchResult:
        if resp.status == 304:
            body = b""
        elif resp.status >= 400:
            raise _http_error(resp)
        elif resp.status != 200:
            raise FetchError(f"unexpected HTTP {resp.status} {resp.reason}", status=resp.status)
        else:
            body = await self._read(resp)
        permanent = bool(hops) and all(code in PERMANENT_REDIRECTS for code in hops)
        return FetchResult(
            status=resp.status,
            url=str(resp.url),
            body=body,
            headers=resp.headers.copy(),
            moved_to=str(resp.url) if permanent else None,
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
        transient=resp.status >= 500 or resp.status == 429,
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


class _Guard:
    """The internal-address rule for one fetch and the addresses it looked up."""

    def __init__(self, is_internal: Callable[[IPAddress], bool]) -> None:
        self.is_internal = is_internal
        self.allow_internal = False
        self._resolved: dict[str, list[IPAddress]] = {}

    async def is_internal_host(self, host: str) -> bool:
        try:
            return any(self.is_internal(ip) for ip in await self._addresses(host))
        except OSError:
            return False  # unresolvable: treated as public, and its fetch fails anyway

    async def check_host(self, url: URL) -> None:
        if self.allow_internal:
            return
        host = url.raw_host or ""
        try:
            addresses = await self._addresses(host)
        except OSError:
            return  # the request fails to connect and says why
        for ip in addresses:
            if self.is_internal(ip):
                raise FetchError(f"refused: {host} is an internal address ({ip})")

    def check_peer(self, resp: aiohttp.ClientResponse) -> None:
        # The address actually connected to: a DNS answer that changed since the
        # check (or a pooled connection) cannot slip an internal page through.
        if self.allow_internal or resp.connection is None or resp.connection.transport is None:
            return
        peer = resp.connection.transport.get_extra_info("peername")
        if not peer:
            return
        ip = ipaddress.ip_address(str(peer[0]).split("%")[0])
        if self.is_internal(ip):
            raise FetchError(f"refused: {resp.url.host} connected to an internal address ({ip})")

    async def _addresses(self, host: str) -> list[IPAddress]:
        host = host.strip("[]")
        if host not in self._resolved:
            try:
                self._resolved[host] = [ipaddress.ip_address(host.split("%")[0])]
            except ValueError:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, None, type=socket.SOCK_STREAM
                )
                self._resolved[host] = [
                    ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos
                ]
        return self._resolved[host]


def _host(url: str) -> str:
    try:
        return URL(url).raw_host or ""
    except ValueError:
        return ""


def _redirect_target(current: URL, location: str) -> URL:
    try:
        target = current.join(URL(location))
    except ValueError:
        raise FetchError(f"redirect to an invalid URL: {location[:200]!r}") from None
    if http_url(str(target)) is None:
        raise FetchError(f"redirect to a non-web URL: {location[:200]!r}")
    return target


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
