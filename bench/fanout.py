"""Push fan-out: new posts to many subscribed chats against the fake Bot API enforcing
Telegram's limits (30 msg/s overall, 1/s per chat, 429 past them, by arrival time).

    .venv/bin/python bench/fanout.py [--chats 1000] [--max-rate 28] [--only NAME ...]

Each scenario runs in a world of its own (bench/fanout_rig.py): a new fake Bot API
on loopback, a flushed Redis (embedded, or --redis-url), and push delivery as a bot
process runs it: the event consumer reading the store's event stream and the real
pusher with its Redis rate limiter. The clock starts at the ingest (the store's
upsert that appends the new-article event). Each row sets the time to deliver
everything next to the ideal of the same run: every expected message at exactly
`telegram.max_rate` from the ingest on. It counts what the fake accepted per chat
(lost, duplicates), the 429s it answered and the faults it injected.

Scenarios (`SCENARIOS`; add one with `@scenario`):
- one-post: one new post, every chat subscribed (goal <= 1.15x, 0 x 429, first
  message <= 1 s after ingest);
- one-post-502: the same with a 502 answered to every 5th sending call (goal <=
  1.4x, 0 lost, 0 duplicates);
- digest: every chat takes a daily digest; the sender's look at that hour sends
  one digest to each (goal <= 1.15x, 0 x 429; the clock starts at the look).

Prints a Markdown table; paste it into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes

from fanout_rig import Expect, Report, Rig, post, rig
from harness import say

from bot.delivery.digest import DigestSender
from bot.delivery.push import Pusher, push_bot
from bot.digests import Digests
from bot.ratelimit import RedisRateLimiter
from feedsvc.config import RedisSettings, Settings
from feedsvc.dates import WITA
from feedsvc.lifecycle import open_redis

Run = Callable[[Rig, argparse.Namespace], Awaitable[Report]]


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Run


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Run], Run]:
    def add(run: Run) -> Run:
        SCENARIOS[name] = Scenario(name, run)
        return run

    return add


async def one_post(rig: Rig, args: argparse.Namespace, name: str, goal: float) -> Report:
    """Every chat subscribed to kaltara; one new KALTARA post."""
    chats = range(1, args.chats + 1)
    await rig.subscribe(chats, ["kaltara"])
    async with rig.delivering():
        await rig.ingest(post())
        return await rig.measure(name, Expect({str(c): 1 for c in chats}), goal_ratio=goal)


@scenario("one-post")
async def one_post_plain(rig: Rig, args: argparse.Namespace) -> Report:
    return await one_post(rig, args, "one-post", goal=1.15)


@scenario("one-post-502")
async def one_post_bad_gateway(rig: Rig, args: argparse.Namespace) -> Report:
    rig.fake.fail_every(5, "bad_gateway")  # Telegram's front end in an incident
    return await one_post(rig, args, "one-post-502", goal=1.4)


@scenario("digest")
async def digest(rig: Rig, args: argparse.Namespace) -> Report:
    """Every chat takes a daily digest at 07:00 WITA; the day had 5 posts. The clock
    starts when the digest sender looks at 07:00 (the moved clock), not at an ingest."""
    chats = range(1, args.chats + 1)
    await rig.subscribe(chats, ["kaltara"])
    seven = datetime(2026, 12, 2, 7, 0, tzinfo=WITA)
    chosen = Digests(rig.redis)
    for chat in chats:
        await chosen.set(chat, 7, seven - timedelta(days=1))
    for n in range(1, 6):
        await rig.store.upsert(post(n, when=seven - timedelta(hours=n)), pushable=False)
    telegram = rig.settings.telegram
    limiter = RedisRateLimiter(rig.redis, max_rate=telegram.max_rate)
    async with push_bot(telegram, rig.fake.base_url) as bot:
        pusher = Pusher(
            rig.redis, rig.store, rig.subs, bot, limiter, telegram, owner="bench",
            count=rig.count,
        )  # fmt: skip
        sender = DigestSender(rig.redis, rig.store, rig.subs, pusher, owner="bench")
        rig.ingested = time.monotonic()
        await sender.send_due(seven)
    return await rig.measure("digest", Expect({str(c): 1 for c in chats}), goal_ratio=1.15)


HEADER = (
    "| scenario | chats | messages | took | ideal at max_rate | took / ideal (goal) "
    "| first after ingest | lost | duplicates | 429s | faults | retries | in doubt "
    "| most in 1 s |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def row(report: Report) -> str:
    retries = report.outcomes.get("retry", 0)
    doubt = report.outcomes.get("in_doubt", 0)
    verdict = "met" if report.met else "MISSED"
    return (
        f"| {report.name} | {report.chats:,} | {report.delivered:,} / {report.expected:,} "
        f"| {report.took:.1f} s | {report.ideal:.1f} s "
        f"| {report.ratio:.3f}x (<= {report.goal_ratio}x, {verdict}) "
        f"| {report.first_after:.2f} s | {report.lost} | {report.duplicates} "
        f"| {report.floods} | {report.faults} | {retries} | {doubt} | {report.busiest} |"
    )


def quiet_logs() -> None:
    # Each injected 502 is a warning of ours and a traceback of PTB's: counted, not shown.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("telegram").setLevel(logging.CRITICAL)


async def main(args: argparse.Namespace) -> int:
    quiet_logs()
    names = args.only or list(SCENARIOS)
    data = tempfile.mkdtemp(prefix="feedsvc-fanout-")
    settings = Settings(redis=RedisSettings(url=args.redis_url, data_dir=data))
    reports = []
    async with open_redis(settings) as (redis, mode):
        for name in names:
            say(f"{name}: {args.chats} chats at max_rate {args.max_rate}/s")
            async with rig(redis, args.max_rate) as world:
                report = await SCENARIOS[name].run(world, args)
            reports.append(report)
            say(row(report))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"Redis: {mode}; max_rate {args.max_rate}/s; load average before the end: {load}")
    print(HEADER)
    for report in reports:
        print(row(report))
        for note in report.notes:
            print(f"  {report.name}: {note}")
    return 0 if all(r.met for r in reports) else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--max-rate", type=float, default=28)
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), metavar="NAME")
    parser.add_argument("--redis-url", default="", help="a Redis to flush and use (else embedded)")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
