"""The feeds bench/poll.py polls: N distinct WordPress-style RSS feeds of made-up
regional news, served by a process of their own on loopback, with strong ETags
and 304 on a matching If-None-Match.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import multiprocessing.connection
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from aiohttp import web

ITEMS = 50
NEWEST = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # the newest post of the newest feed
CONTENT_TYPE = {"Content-Type": "application/rss+xml; charset=UTF-8"}
FEED_VERSION = "1"  # part of every ETag: bump it to make every feed "changed"

# Regional news vocabulary for made-up but plausible Indonesian posts.
PLACES = ["TANJUNG SELOR", "TARAKAN", "NUNUKAN", "MALINAU", "TANA TIDUNG", "SEBATIK", "KRAYAN"]
ACTORS = [
    "Pemprov Kaltara", "Pemkab Bulungan", "Pemkot Tarakan", "DPRD Kaltara", "Dinas Kesehatan",
    "Bappeda dan Litbang Kaltara", "Polda Kaltara", "BPBD Nunukan", "Pemkab Malinau",
    "Dinas Pendidikan dan Kebudayaan", "Kantor Imigrasi Nunukan", "Basarnas Tarakan",
]  # fmt: skip
VERBS = [
    ("Tinjau", "meninjau"), ("Resmikan", "meresmikan"), ("Percepat", "mempercepat"),
    ("Dorong", "mendorong"), ("Evaluasi", "mengevaluasi"), ("Perkuat", "memperkuat"),
    ("Bahas", "membahas"), ("Targetkan", "menargetkan"), ("Sosialisasikan", "menyosialisasikan"),
]  # fmt: skip
TOPICS = [
    "pembangunan jalan perbatasan", "ketahanan pangan daerah", "penanganan stunting",
    "layanan kesehatan di pedalaman", "digitalisasi layanan publik", "pasokan listrik desa",
    "pelabuhan penyeberangan", "harga bahan pokok", "penanganan banjir musiman",
    "beasiswa mahasiswa daerah", "pendapatan asli daerah", "air bersih di pesisir",
]  # fmt: skip
CLAUSES = [
    "agar manfaatnya dirasakan langsung oleh masyarakat", "sesuai arahan gubernur",
    "dengan melibatkan pemerintah desa", "sebelum akhir tahun anggaran",
    "bersama instansi vertikal terkait", "demi pemerataan pembangunan di wilayah utara",
]  # fmt: skip
PEOPLE = ["Bertius", "Syarwani", "Rahmawati", "Hendra Saputra", "Yohanes Lalung", "Nurhayati"]
AUTHORS = ["Wira", "Redaksi", "Agus Salim", "Fitriani", "Yusuf"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
CATEGORIES = [
    "KALTARA", "Bulungan", "Tarakan", "Nunukan", "Malinau", "Tana Tidung",
    "Ekonomi", "Politik", "Pendidikan", "Kesehatan", "Hukum & Kriminal", "Olahraga",
]  # fmt: skip


def sentence(rng: random.Random) -> str:
    verb = rng.choice(VERBS)[1]
    return f"{rng.choice(ACTORS)} {verb} {rng.choice(TOPICS)} {rng.choice(CLAUSES)}."


def quote(rng: random.Random, when: datetime) -> str:
    said = f"Kami ingin {rng.choice(TOPICS)} ditangani {rng.choice(CLAUSES)}"
    day = DAYS[when.weekday()]
    return f"“{said},” kata {rng.choice(PEOPLE)}, {day} ({when.day}/{when.month})."


def post(rng: random.Random, site: str, number: int, when: datetime) -> str:
    """One <item> as WordPress writes it, with content:encoded."""
    actor, (verb, _), topic = rng.choice(ACTORS), rng.choice(VERBS), rng.choice(TOPICS)
    title = f"{actor} {verb} {topic.title()}"
    slug = "-".join(title.lower().split())
    link = f"{site}/{when:%Y/%m/%d}/{slug}-{number}/"  # unique, as WordPress keeps slugs
    lead = f"{rng.choice(PLACES)} – {sentence(rng)}"
    paragraphs = [lead, quote(rng, when)]
    content = "".join(f"<p>{escape(p, quote=False)}</p>\n" for p in paragraphs)
    categories = rng.sample(CATEGORIES, rng.choice((1, 2, 2, 3)))
    return "".join(
        [
            f"\t<item>\n\t\t<title>{escape(title)}</title>\n\t\t<link>{link}</link>\n",
            f"\t\t<dc:creator><![CDATA[{rng.choice(AUTHORS)}]]></dc:creator>\n",
            f"\t\t<pubDate>{format_datetime(when)}</pubDate>\n",
            *(f"\t\t<category><![CDATA[{c}]]></category>\n" for c in categories),
            f'\t\t<guid isPermaLink="false">{site}/?p={number}</guid>\n',
            f"\t\t<description><![CDATA[{lead[:90]} [&#8230;]]]></description>\n",
            f"\t\t<content:encoded><![CDATA[{content}]]></content:encoded>\n",
            "\t</item>\n",
        ]
    )


def feed_body(n: int, total: int) -> bytes:
    """Feed `n` of `total`: 50 posts, newest first; later feeds hold newer posts."""
    rng = random.Random(n)
    site = f"https://berita{n}.example"
    newest = NEWEST - timedelta(minutes=total - 1 - n)
    head = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:atom="http://www.w3.org/2005/Atom"
\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
\t>
<channel>
\t<title>Berita Kaltara {n}</title>
\t<atom:link href="{site}/feed/" rel="self" type="application/rss+xml" />
\t<link>{site}</link>
\t<description>Kabar terkini dari Kalimantan Utara</description>
\t<lastBuildDate>{format_datetime(newest)}</lastBuildDate>
\t<language>id</language>
\t<sy:updatePeriod>hourly</sy:updatePeriod>
\t<sy:updateFrequency>1</sy:updateFrequency>
\t<generator>https://wordpress.org/?v=6.7.1</generator>
"""
    items = (
        post(rng, site, 90_000 - 7 * i, newest - timedelta(minutes=67 * i)) for i in range(ITEMS)
    )
    return (head + "".join(items) + "</channel>\n</rss>\n").encode()


def feed_etag(n: int) -> str:
    """A strong validator, known without building the body (which is fixed by `n`)."""
    return '"' + hashlib.sha256(f"{n}:{FEED_VERSION}".encode()).hexdigest()[:20] + '"'


# The feed server: its own process, so it shares neither our event loop nor our GIL.


def serve(total: int, conn: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(total, conn))


async def _serve(total: int, conn: multiprocessing.connection.Connection) -> None:
    counts = {"200": 0, "304": 0}

    async def feed(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if not 0 <= n < total:
            raise web.HTTPNotFound()
        tag = feed_etag(n)
        if request.headers.get("If-None-Match") == tag:
            counts["304"] += 1
            return web.Response(status=304, headers={"ETag": tag})
        counts["200"] += 1
        headers = {"ETag": tag, "Content-Type": "application/rss+xml; charset=UTF-8"}
        return web.Response(body=feed_body(n, total), headers=headers)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"cpu": time.process_time(), **counts})

    app = web.Application()
    app.router.add_get(r"/feed/{n:\d+}/", feed)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, backlog=4096).start()
    conn.send(runner.addresses[0][1])
    with contextlib.suppress(EOFError):
        await asyncio.to_thread(conn.recv)  # until the bench says stop, or is gone
    await runner.cleanup()


@contextlib.contextmanager
def feed_server(total: int) -> Iterator[str]:
    """Start the server process; yields its base URL."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=serve, args=(total, theirs), daemon=True
    )
    process.start()
    try:
        yield f"http://127.0.0.1:{ours.recv()}"
    finally:
        ours.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()
