"""Shared fixtures: one real Redis per test session, flushed before every test.

Two Redis back ends: a standalone server on a unix socket, and a local 3-master
Redis Cluster (tests/fakes/cluster.py), started the first time a test asks for it.
Tests use the standalone one, except that the modules in BOTH_BACKENDS (and any
test marked `both_redis`) run once against each: `test_x[standalone]` and
`test_x[cluster]`. They get there through the shared fixtures (`redis_url`,
`redis`, `store`, `settings`, `client`), so a new test in those modules is
covered by using them.

Set REDIS_URL (and REDIS_CLUSTER_URL, a `redis+cluster://` URL) to use existing
servers instead; they must be throwaway databases, because every test flushes them.
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
from tests.fakes.cluster import LocalCluster
from tests.fakes.site import Site

# Test files (or directories, relative to tests/) run against both back ends.
BOTH_BACKENDS = (
    "bot/",
    "storage/test_store.py",
    "storage/test_removal.py",
    "storage/test_events.py",
    "storage/test_connection.py",
    "ingest/test_scheduler.py",
    "ingest/test_worker.py",
    "publish/test_api.py",
    "publish/test_feeds.py",
)
BACKENDS = ("standalone", "cluster")
TESTS = Path(__file__).parent


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


# Fault tests bound what real subprocesses do in real time (what is on the wire at a
# SIGKILL, a drain within shutdown_timeout, a CPU hog beside a fan-out): `make test` runs
# them on their own after the rest, so the other test workers do not skew those bounds.
SERIAL = ("tests/faults/", "tests/bot/test_faults.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_redis: run against the standalone Redis and the Redis Cluster"
    )
    config.addinivalue_line("markers", "serial: run alone, after the parallel part of make test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SERIAL):
            item.add_marker(pytest.mark.serial)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis_url" in metafunc.fixturenames and _on_both_backends(metafunc):
        metafunc.parametrize("redis_backend", BACKENDS, indirect=True)


def _on_both_backends(metafunc: pytest.Metafunc) -> bool:
    if metafunc.definition.get_closest_marker("both_redis"):
        return True
    where = Path(metafunc.definition.path).resolve().relative_to(TESTS).as_posix()
    return where.startswith(BOTH_BACKENDS)


@pytest.fixture
def redis_backend(request: pytest.FixtureRequest) -> str:
    """`standalone` or `cluster`: which Redis this test runs against."""
    return getattr(request, "param", "standalone")


@pytest.fixture(scope="session")
def standalone_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    # A short directory: unix socket paths are limited to about 100 bytes.
    server = RedisProcess(Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def cluster_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's Redis Cluster, started on first use (about 3 s)."""
    if os.environ.get("REDIS_CLUSTER_URL"):
        yield os.environ["REDIS_CLUSTER_URL"]
        return
    cluster = LocalCluster(Path(tmp_path_factory.mktemp("cluster")))
    cluster.start()
    yield cluster.url
    cluster.stop()


@pytest.fixture
def redis_url(redis_backend: str, request: pytest.FixtureRequest) -> str:
    """The URL of this test's Redis (the `redis.url` a feedsvc process would be given)."""
    return request.getfixturevalue(f"{redis_backend}_redis_url")


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


@pytest.fixture
def cluster_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A Redis Cluster of the test's own, for tests that stop and restart it."""
    cluster = LocalCluster(Path(tmp_path_factory.mktemp("own-cluster")))
    cluster.start()
    yield cluster
    cluster.stop()
