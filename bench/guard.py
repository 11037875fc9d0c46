"""What the Redis budget on every request (publish/outage.redis_guard) costs a feed hit.

    .venv/bin/python bench/guard.py [--requests 4000] [--rounds 5] [--concurrency 16]

One process, one event loop: a private embedded Redis with 50 articles in
`kaltara`, the web application served on loopback twice, once as shipped and
once with redis_guard replaced by a middleware that only calls the handler
(the baseline), and an aiohttp client driving `/feeds/kaltara.rss` at both in
alternating rounds: 200s (render cache warm) and 304s (If-None-Match). CPU per
request is this process's CPU time (server and client together) over the
requests; the difference between the two is the guard's cost. Medians of the
rounds; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from sample_news import sample_articles

from feedsvc.app import make_app
from feedsvc.config import FeedsSettings, RedisSettings, Settings
from feedsvc.publish import outage
from feedsvc.storage.connection import unix_client
from feedsvc.storage.embedded import EmbeddedRedis
from feedsvc.storage.store import Store

PATH = "/feeds/kaltara.rss"


@web.middleware
async def passthrough(request, handler):  # type: ignore[no-untyped-def]
    return await handler(request)


async def serve(settings: Settings, guarded: bool) -> tuple[web.AppRunner, str]:
    shipped = outage.redis_guard
    outage.redis_guard = shipped if guarded else lambda *_: passthrough  # read by make_app
    try:
        app = make_app(settings)
    finally:
        outage.redis_guard = shipped
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"


async def drive(session: aiohttp.ClientSession, url: str, n: int, c: int, etag: str) -> float:
    """CPU seconds per request for `n` requests, `c` at a time."""
    headers = {"If-None-Match": etag} if etag else {}
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.get(url, headers=headers) as response:
                await response.read()
                assert response.status == (304 if etag else 200), response.status

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(c)))
    return (time.process_time() - started) / n


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "data")
        await server.start()
        client = unix_client(str(server.socket_path))
        try:
            store = Store(client)
            for article in sample_articles(50, "KALTARA"):
                await store.upsert(article)
            settings = dataclasses.replace(
                Settings(),
                redis=RedisSettings(url=server.url),
                feeds=FeedsSettings(default_limit=50, max_limit=100),
            )
            await run(settings, args)
        finally:
            await client.aclose()
            await server.stop()


async def run(settings: Settings, args: argparse.Namespace) -> None:
    guarded, guarded_url = await serve(settings, True)
    plain, plain_url = await serve(settings, False)
    results: dict[tuple[str, str], list[float]] = {}
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            async with session.get(guarded_url) as response:
                etag = response.headers["ETag"]
            for url in (guarded_url, plain_url):  # warm both render caches
                await drive(session, url, 200, args.concurrency, "")
            for _ in range(args.rounds):
                for scenario, tag in (("200", ""), ("304", etag)):
                    for name, url in (("guarded", guarded_url), ("baseline", plain_url)):
                        cpu = await drive(session, url, args.requests, args.concurrency, tag)
                        results.setdefault((scenario, name), []).append(cpu)
    finally:
        await guarded.cleanup()
        await plain.cleanup()
    print("| scenario | CPU/req with the guard | CPU/req without (baseline) | ratio |")
    print("|---|---:|---:|---:|")
    for scenario in ("200", "304"):
        with_guard = statistics.median(results[(scenario, "guarded")])
        baseline = statistics.median(results[(scenario, "baseline")])
        print(
            f"| {scenario} | {with_guard * 1e6:.0f} µs | {baseline * 1e6:.0f} µs "
            f"| {with_guard / baseline:.3f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
