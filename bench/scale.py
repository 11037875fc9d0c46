"""Scaling benchmark: feed requests/s with 1, 2 and 4 web processes, with uvloop, and
through the shipped nginx cache against nginx serving the same bytes as a file.

    .venv/bin/python bench/scale.py [--duration 8] [--rounds 2] [--connections 64]

One run on one machine, everything in a temporary directory: a private
embedded Redis with the 50-item `kaltara` feed (as bench/serve.py), then, all
at once and each on a port of its own, `feedsvc web --reuse-port` x1, x2 and
x4, one more x1 on uvloop, nginx with deploy/nginx/feedsvc-locations.conf (the
shipped cache, included as it is) in front of the x2 processes, and nginx
serving the feed's bytes as static files. Only the one being measured gets
load; configurations alternate within each round. Each row is set next to its
baseline from the same run: web xN and uvloop against web x1, the nginx cache
against nginx static. The shipped TLS site is checked with `nginx -t` first.

Prints a Markdown table; paste it into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import nginx
from feedload import (
    FEED_PATH,
    SCENARIOS,
    Measured,
    Target,
    check,
    check_load_options,
    client_line,
    fill,
    load_options,
    measure,
    median_of,
    redis_facts,
    start_webs,
    validators,
)
from harness import Children, fetch, free_port, say

from feedsvc.storage.embedded import EmbeddedRedis

CATEGORY = "kaltara"
GOAL_CACHE = 0.9
# (row, baseline) pairs of the table
PAIRS = [
    ("web x1", "web x1"),
    ("web x2", "web x1"),
    ("web x4", "web x1"),
    ("web x1, uvloop", "web x1"),
    ("nginx cache -> web x2", "nginx static file"),
]


async def targets(
    args: argparse.Namespace, tmp: Path, children: Children, server: EmbeddedRedis
) -> tuple[list[Target], bytes, bytes]:
    _, redis_pid = await redis_facts(server)
    found: list[Target] = []
    served = {}
    for name, count, uvloop in (("web x1", 1, False), ("web x2", 2, False),
                                ("web x4", 4, False), ("web x1, uvloop", 1, True)):  # fmt: skip
        say(f"starting {name}")
        web = served[name] = await start_webs(children, tmp, server, count, uvloop=uvloop)
        found.append(Target(name, web.url, web.pids, [redis_pid], validators(web.etag)))
    plain, gzipped = served["web x1"].plain, served["web x1"].gzipped
    upstream = served["web x2"]
    www, port = nginx.static_site(tmp, plain.body, gzipped.body, CATEGORY)
    static_url = f"http://127.0.0.1:{port}{FEED_PATH}"
    pids = await nginx.start(
        children, args.nginx, tmp, nginx.static_conf(tmp, port, www), static_url
    )
    etag = (await fetch(static_url)).headers["etag"]
    static = Target("nginx static file", static_url, pids, [], validators(etag))
    cache_port = free_port()
    cache_url = f"http://127.0.0.1:{cache_port}{FEED_PATH}"
    conf = nginx.cache_conf(tmp, cache_port, upstream.port)
    pids = await nginx.start(children, args.nginx, tmp, conf, cache_url)
    cache = Target(
        "nginx cache -> web x2", cache_url, pids + upstream.pids, [redis_pid],
        validators(upstream.etag),
    )  # fmt: skip
    return [*found, cache, static], plain.body, gzipped.body


async def run(args: argparse.Namespace, tmp: Path, children: Children) -> str:
    server = EmbeddedRedis(tmp / "redis")
    await server.start()
    try:
        await fill(server)
        site_check = nginx.check_shipped_site(args.nginx, tmp)
        found, rss, rss_gz = await targets(args, tmp, children, server)
        for scenario in SCENARIOS:
            for target in found:
                await check(target, scenario, rss, rss_gz)
        results: dict[tuple[str, str], list[Measured]] = {}
        for n in range(1, args.rounds + 1):
            for scenario in SCENARIOS:
                for target in found:
                    say(f"round {n}: {target.name}, {scenario.name}")
                    measured = await measure(target, scenario, args)
                    results.setdefault((target.name, scenario.name), []).append(measured)
        version, _ = await redis_facts(server)
        return report(results, args, version, await nginx.nginx_version(args.nginx), site_check)
    finally:
        await children.stop_all()
        await server.stop()


def report(
    results: dict[tuple[str, str], list[Measured]],
    args: argparse.Namespace,
    redis: str,
    nginx_version: str,
    site_check: str,
) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Redis {redis}, nginx {nginx_version}. "
        f"Load: {client_line(args)}; median of {args.rounds} rounds. "
        f"Shipped site: {site_check}.",
        "",
        "| configuration | scenario | req/s | p99 | CPU/req | baseline | req/s | ratio |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for scenario in SCENARIOS:
        for row, base in PAIRS:
            ours, theirs = results[row, scenario.name], results[base, scenario.name]
            rps, base_rps = median_of(ours, "rps"), median_of(theirs, "rps")
            lines.append(
                f"| {row} | {scenario.name} | {rps:,.0f} | {median_of(ours, 'p99'):.1f} ms "
                f"| {median_of(ours, 'cpu'):.0f} µs | {base} | {base_rps:,.0f} "
                f"| {rps / base_rps:.2f} |"
            )
    cache = [
        median_of(results["nginx cache -> web x2", s.name], "rps")
        / median_of(results["nginx static file", s.name], "rps")
        for s in SCENARIOS
    ]
    lines += [
        "",
        f"Goal (nginx cache at least {GOAL_CACHE}x nginx static): "
        + ", ".join(f"{s.name} {r:.2f}x" for s, r in zip(SCENARIOS, cache, strict=True))
        + (" (met)" if min(cache) >= GOAL_CACHE else " (MISSED)")
        + ".",
    ]
    for (name, scenario), ms in results.items():
        for m in ms:
            if m.load.errors:
                lines.append(f"- {name}, {scenario}: {m.load.errors}")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    load_options(parser)
    parser.set_defaults(duration=8, rounds=2)
    parser.add_argument("--nginx", default="", help="nginx binary (default: from PATH)")
    args = parser.parse_args()
    check_load_options(parser, args)
    args.nginx = nginx.find_nginx(parser, args.nginx)
    return args


async def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="feedsvc-scale-"))
    children = Children()
    try:
        print(await run(args, tmp, children))
    except Exception:
        print(f"failed; logs and configs are kept in {tmp}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        await children.stop_all()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
