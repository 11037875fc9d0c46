"""The index page in a real headless browser (Debian's chromium): it renders, its links resolve.

Skips when no chromium is installed; `.ci/run` installs Debian's `chromium` package.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import unused_port
from lxml import html
from redis.asyncio import Redis

from feedsvc.app import make_app
from feedsvc.config import RedisSettings, ServiceSettings, Settings
from feedsvc.models import Article, stable_id
from feedsvc.storage.store import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_TIMEOUT = 30.0
PHONE = (390, 844)  # CSS pixels of a common phone screen
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no usable sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--hide-scrollbars",
    "--mute-audio",
)
FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "text/x-opml",
}

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium or chromium-browser on PATH; install Debian's `chromium` package "
    "(.ci/run does) to run the headless-browser test",
)

POSTS = [
    ("KALTARA", "Pemkab Bulungan Integrasikan Data Pajak dan Pertanahan", 10),
    ("KALTARA", "Bupati Sampaikan 3 Isu Strategis ke Ditjen Otonomi Daerah", 10.5),
    ("Bulungan", "Tingkatkan PAD, Bulungan Genjot Retribusi Parkir dan Jasa Pelabuhan", 30),
    (
        "Pendidikan",
        "Menyalakan Literasi di Utara Kalimantan bersama Balai Bahasa Provinsi Kalimantan Timur",
        120,
    ),
    ("KALTARA", 'Rapimwil TBBR Kaltara: "Adat & Pembangunan" <Sinergi>', 500),
]
LEAD = (
    "TANJUNG SELOR - Bupati Bulungan, Syarwani, S.Pd, M.Si menandatangani nota "
    "kesepakatan (MoU) dengan Badan Pertanahan Nasional untuk integrasi data."
)


def post(n: int, category: str, title: str, hours_ago: float) -> Article:
    link = f"https://news.example/2026/11/berita-{n}/"
    return Article(
        id=stable_id(link),
        title=title,
        link=link,
        categories=(category,),
        published=datetime.now(UTC) - timedelta(hours=hours_ago),
        author="Wira",
        summary=LEAD,
        source="test",
    )


@pytest.fixture
async def site(aiohttp_server, redis: Redis, redis_url: str) -> str:
    """The app on a real loopback port, its base_url naming that port; some posts stored."""
    port = unused_port()
    base = f"http://127.0.0.1:{port}"
    settings = dataclasses.replace(
        Settings(),
        service=ServiceSettings(base_url=base, port=port),
        redis=RedisSettings(url=redis_url),
    )
    store = Store(redis)
    for n, (category, title, hours_ago) in enumerate(POSTS):
        await store.upsert(post(n, category, title, hours_ago))
    await aiohttp_server(make_app(settings), host="127.0.0.1", port=port)
    return base


async def chromium(profile: Path, *args: str) -> bytes:
    """Run chromium once with its own (new) profile; its stdout, or fail with its stderr."""
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        *FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(profile)},
        start_new_session=True,  # its own process group: a timeout ends every child too
    )
    try:
        async with asyncio.timeout(CHROMIUM_TIMEOUT):
            out, err = await process.communicate()
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT:.0f} s")
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_index_renders_in_chromium_and_its_links_resolve(site: str, tmp_path: Path) -> None:
    screenshot = tmp_path / "index.png"
    dom, _ = await asyncio.gather(
        chromium(tmp_path / "dump", "--dump-dom", f"{site}/"),
        chromium(
            tmp_path / "shot",
            f"--screenshot={screenshot}",
            f"--window-size={PHONE[0]},{PHONE[1]}",
            f"{site}/",
        ),
    )
    doc = html.fromstring(dom)
    assert doc.findtext(".//title") == "Berita Kaltara"
    assert doc.cssselect("h1")[0].text == "Berita Kaltara"
    categories = [b.text for b in doc.cssselect(".cats b")]
    assert categories == ["KALTARA", "Bulungan", "Pendidikan"]
    titles = [a.text_content() for a in doc.cssselect("ol.posts h3 a")]
    assert titles == [title for _, title, _ in POSTS]
    assert [t.text for t in doc.cssselect("ol.posts time")][:3] == [
        "10 jam lalu",
        "10 jam lalu",
        "1 hari lalu",
    ]
    assert png_size(screenshot) == PHONE

    await check_links(doc, site)


async def check_links(doc: html.HtmlElement, site: str) -> None:
    """Our own links answer 200; article links are absolute http(s) and not followed."""
    article_links = {post(n, *fields).link for n, fields in enumerate(POSTS)}
    own = [e for e in doc.cssselect("a[href], link[href]") if e.get("href").startswith(site)]
    outside = [
        a.get("href") for a in doc.cssselect("a[href]") if not a.get("href").startswith(site)
    ]
    assert set(outside) == article_links
    assert len(own) >= 3 + 3 + 3 * 3 + 1  # autodiscovery, all, categories, OPML
    async with aiohttp.ClientSession() as session:
        for element in own:
            async with session.get(element.get("href")) as resp:
                assert resp.status == 200, element.get("href")
                media = element.get("type")
                if media in FEED_TYPES:
                    assert resp.content_type == media, element.get("href")
