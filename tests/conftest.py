"""Shared fixtures: one real Redis per test session, flushed before every test.

Set REDIS_URL to use an existing server instead; it must be a throwaway
database, because every test flushes it.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import FeedsSettings, RedisSettings, ServiceSettings, Settings
from feedsvc.storage.connection import client_from_url
from feedsvc.storage.embedded import redis_server_binary
from feedsvc.storage.store import Store
from tests.fakes.site import Site


class RedisProcess:
    """A private redis-server on a unix socket, stoppable and restartable by tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(redis_server_binary()),
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "yes",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers():
                return
            time.sleep(0.02)
        raise RuntimeError("test redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(self.socket))
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    # A short directory: unix socket paths are limited to about 100 bytes.
    server = RedisProcess(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = client_from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis: Redis) -> Store:
    return Store(redis, retention=1000)


@pytest.fixture
async def site(aiohttp_server) -> Site:
    """A WordPress-like news site on loopback (tests/fakes/site.py); tests add its pages."""
    site = Site()
    server = await aiohttp_server(site.app())
    site.base = str(server.make_url("")).rstrip("/")
    return site


BASE = "https://berita.example"  # service.base_url of the web tests


@pytest.fixture
def settings(redis_url: str) -> Settings:
    """Settings for web tests: the session Redis, a fixed base URL, small pages."""
    return dataclasses.replace(
        Settings(),
        service=ServiceSettings(base_url=BASE),
        redis=RedisSettings(url=redis_url),
        feeds=FeedsSettings(default_limit=5, max_limit=50),
    )


@pytest.fixture
async def client(aiohttp_client, redis: Redis, settings: Settings):
    """The whole web application on the session Redis (flushed first)."""
    return await aiohttp_client(make_app(settings))


@pytest.fixture
def redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A server of the test's own, for tests that stop and restart Redis."""
    server = RedisProcess(Path(tmp_path_factory.mktemp("own-redis")))
    server.start()
    yield server
    server.stop()
