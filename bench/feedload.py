"""Measuring feed requests: the scenarios, a target under load, one measured run.

Used by bench/serve.py (feedsvc against nginx serving the same bytes) and
bench/scale.py (1, 2 and 4 web processes; nginx's cache in front).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import (
    Children,
    Fetched,
    Load,
    children_cpu,
    cpu_seconds,
    drive,
    feedsvc_command,
    fetch,
    free_port,
    wait_http,
    wait_listening,
)
from sample_news import sample_articles

from feedsvc.storage.connection import unix_client
from feedsvc.storage.embedded import EmbeddedRedis
from feedsvc.storage.store import Store

CATEGORY = "kaltara"
ITEMS = 50
FEED_PATH = f"/feeds/{CATEGORY}.rss"
WARMUP_SECONDS = 2
UVLOOP = (
    "import asyncio, sys, uvloop; from feedsvc.cli import main; "
    "asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()); sys.exit(main())"
)


async def fill(server: EmbeddedRedis) -> int:
    """50 articles in the measured category, a few elsewhere; the mean content size."""
    redis = unix_client(str(server.socket_path))
    try:
        store = Store(redis)
        docs = sample_articles(ITEMS, CATEGORY) + sample_articles(10, "ekonomi", seed=5)
        await store.upsert_many([(a, False) for a in docs])
        return round(statistics.mean(len(a.content.encode()) for a in docs[:ITEMS]))
    finally:
        await redis.aclose()


@dataclass(frozen=True)
class Scenario:
    name: str
    status: int
    gzip: bool
    conditional: bool


SCENARIOS = [
    Scenario("200, no compression", 200, gzip=False, conditional=False),
    Scenario("304 (If-None-Match)", 304, gzip=False, conditional=True),
    Scenario("200, gzip", 200, gzip=True, conditional=False),
]


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    pids: list[int]  # whose CPU time counts as serving
    helper_pids: list[int]  # serving too, counted apart (feedsvc's Redis)
    validators: dict[Scenario, dict[str, str]]  # request headers per scenario


@dataclass(frozen=True)
class Measured:
    load: Load
    cpu_us_per_request: float  # pids and helper_pids
    helper_cpu_us_per_request: float
    client_cpu_share: float  # of the whole machine, during the run


async def measure(target: Target, scenario: Scenario, args: argparse.Namespace) -> Measured:
    headers = target.validators[scenario]
    await drive(target.url, headers, WARMUP_SECONDS, args)
    cpu_before, helper_before = cpu_seconds(target.pids), cpu_seconds(target.helper_pids)
    client_before = children_cpu()
    started = time.monotonic()
    load = await drive(target.url, headers, args.duration, args)
    wall = time.monotonic() - started
    helper_us = (cpu_seconds(target.helper_pids) - helper_before) / max(load.requests, 1) * 1e6
    server_us = (cpu_seconds(target.pids) - cpu_before) / max(load.requests, 1) * 1e6
    client_share = (children_cpu() - client_before) / (wall * (os.cpu_count() or 1))
    return Measured(load, server_us + helper_us, helper_us, client_share)


async def check(target: Target, scenario: Scenario, rss: bytes, rss_gz: bytes) -> None:
    """One request per scenario before loading it: the right status and the same bytes."""
    got = await fetch(target.url, target.validators[scenario])
    expected = rss_gz if scenario.gzip else rss
    if got.status != scenario.status:
        raise RuntimeError(f"{target.name}, {scenario.name}: status {got.status}")
    if got.status == 200 and got.body != expected:
        raise RuntimeError(f"{target.name}, {scenario.name}: not the bytes feedsvc served")
    if scenario.gzip != (got.headers.get("content-encoding") == "gzip"):
        raise RuntimeError(f"{target.name}, {scenario.name}: wrong Content-Encoding")


def validators(etag: str) -> dict[Scenario, dict[str, str]]:
    """Request headers per scenario; `etag` is what the server sent for the plain body."""
    headers: dict[Scenario, dict[str, str]] = {}
    for scenario in SCENARIOS:
        headers[scenario] = {}
        if scenario.conditional:
            headers[scenario]["If-None-Match"] = etag
        if scenario.gzip:
            headers[scenario]["Accept-Encoding"] = "gzip"
    return headers


def write_feedsvc_config(path: Path, port: int, redis_url: str, data_dir: Path) -> None:
    path.write_text(
        f"""[service]
host = "127.0.0.1"
port = {port}
base_url = "https://berita-kaltara.example"  # one for every process: the same bytes

[redis]
url = "{redis_url}"
data_dir = "{data_dir}"

[feeds]
default_limit = {ITEMS}
"""
    )


@dataclass
class Served:
    """feedsvc web processes on one port (SO_REUSEPORT) and the feed they serve."""

    url: str
    pids: list[int]
    plain: Fetched
    gzipped: Fetched

    @property
    def items(self) -> int:
        return self.plain.body.count(b"<item>")

    @property
    def etag(self) -> str:
        return self.plain.headers["etag"]

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])


async def start_webs(
    children: Children, tmp: Path, server: EmbeddedRedis, count: int, *, uvloop: bool = False
) -> Served:
    """`count` feedsvc web processes sharing one port, warmed up; the feed fetched once."""
    port = free_port()
    name = f"web{count}{'-uvloop' if uvloop else ''}"
    config = tmp / f"{name}.toml"
    write_feedsvc_config(config, port, server.url, tmp / "data")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "FEEDSVC_BASE_URL")}
    env.update(REDIS_URL=server.url, FEEDSVC_CONFIG=str(config))
    command = [sys.executable, "-c", UVLOOP] if uvloop else feedsvc_command()
    logs = [tmp / f"{name}-{i}.log" for i in range(count)]
    webs = [
        await children.start(log.stem, [*command, "web", "--reuse-port"], log, env) for log in logs
    ]
    await wait_listening(logs, webs)
    url = f"http://127.0.0.1:{port}{FEED_PATH}"
    await wait_http(f"http://127.0.0.1:{port}/healthz", webs[0], "feedsvc web")
    for _ in range(20 * count):  # new connections each: the kernel spreads them over all
        await fetch(url)
        await fetch(url, {"Accept-Encoding": "gzip"})
    plain = await fetch(url)
    gzipped = await fetch(url, {"Accept-Encoding": "gzip"})
    if plain.status != 200 or gzipped.headers.get("content-encoding") != "gzip":
        raise RuntimeError(f"feedsvc did not serve the feed: {plain.status} {plain.body[:200]!r}")
    if gzip.decompress(gzipped.body) != plain.body:
        raise RuntimeError("feedsvc's gzip body does not decompress to its plain body")
    return Served(url, [p.pid for p in webs], plain, gzipped)


async def redis_facts(server: EmbeddedRedis) -> tuple[str, int]:
    """The embedded server's version and pid (its CPU counts as serving)."""
    redis = unix_client(str(server.socket_path))
    try:
        info = await redis.info("server")
    finally:
        await redis.aclose()
    return info["redis_version"], int(info["process_id"])


def load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario; medians")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--wrk-cpus", default="", help="pin wrk with taskset -c LIST, e.g. 1")
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")


def check_load_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "aiohttp"
        if args.client == "aiohttp":
            print("wrk not found: using the aiohttp client instead", file=sys.stderr)
    if args.wrk_cpus and not shutil.which("taskset"):
        parser.error("--wrk-cpus needs taskset (util-linux)")


def client_line(args: argparse.Namespace) -> str:
    if args.client == "wrk":
        pinned = f", pinned to CPU {args.wrk_cpus} (taskset)" if args.wrk_cpus else ""
        return f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency{pinned}"
    return f"aiohttp client in one process, {args.connections} connections, {args.duration}s"


def median_of(runs: list[Measured], field: str) -> float:
    values = {
        "rps": [m.load.rps for m in runs],
        "p99": [m.load.p99_ms for m in runs],
        "cpu": [m.cpu_us_per_request for m in runs],
        "helper": [m.helper_cpu_us_per_request for m in runs],
    }[field]
    return statistics.median(values)
