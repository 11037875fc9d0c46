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
from urllib.parse import urlencode

import aiohttp
import orjson
import pytest
from aiohttp import web
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
DESKTOP = (1280, 900)
# Screenshots tall enough to show the category rows below the posts.
TALL_PHONE, TALL_DESKTOP = (PHONE[0], 2800), (DESKTOP[0], 1800)
# Screenshots are kept for a person to look at (the folder is ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
# Headless chromium lays a page out at least 500 px wide, whatever --window-size says,
# so pages are shown in a frame of the exact size (a test-only page on the same
# origin). When the frame has loaded, the script measures the category rows where
# they are drawn and writes the boxes into the outer page, which --dump-dom returns.
FRAME = """<!doctype html><html><body style="margin:0">
<script>
function measure(frame) {
  const box = (e) => { const b = e.getBoundingClientRect();
    return {left: b.left, top: b.top, right: b.right, bottom: b.bottom}; };
  const doc = frame.contentDocument;
  const rows = [...doc.querySelectorAll(".cats > li")].map((li) => ({
    row: box(li), name: box(li.querySelector("b")), count: box(li.querySelector(".count")),
    feeds: box(li.querySelector(".feeds")), first: box(li.querySelector(".feeds a")),
  }));
  const width = frame.contentWindow.innerWidth;
  const out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({width, scroll: doc.documentElement.scrollWidth, rows});
  document.body.append(out);
}
</script>
<iframe src="PATH" onload="measure(this)"
 style="border:0;display:block;width:WIDTHpx;height:HEIGHTpx"></iframe>
</body></html>"""
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
    ("Hukum dan Kriminal Kabupaten Nunukan", "Sidang Perkara Narkotika Ditunda", 600),
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
    app = make_app(settings)

    async def framed(request: web.Request) -> web.Response:
        """One of our pages in a frame of the exact size, measured when it has loaded."""
        query = request.query
        page = FRAME.replace("PATH", query["path"]).replace("WIDTH", query["w"])
        return web.Response(text=page.replace("HEIGHT", query["h"]), content_type="text/html")

    app.router.add_get("/test-frame", framed)
    await aiohttp_server(app, host="127.0.0.1", port=port)
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
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {
        name: ARTIFACTS / f"{name}.png" for name in ("index-390", "index-1280", "kategori-390")
    }
    dom, *_ = await asyncio.gather(
        chromium(tmp_path / "dump", "--dump-dom", f"{site}/"),
        screenshot(tmp_path / "s1", shots["index-390"], TALL_PHONE, site, "/"),
        screenshot(tmp_path / "s2", shots["index-1280"], TALL_DESKTOP, site, "/"),
        screenshot(tmp_path / "s3", shots["kategori-390"], PHONE, site, "/kategori/kaltara"),
    )
    doc = html.fromstring(dom)
    assert doc.findtext(".//title") == "Berita Kaltara"
    assert doc.cssselect("h1")[0].text == "Berita Kaltara"
    categories = [b.text for b in doc.cssselect(".cats b")]
    assert categories == [
        "KALTARA",
        "Bulungan",
        "Hukum dan Kriminal Kabupaten Nunukan",
        "Pendidikan",
    ]
    titles = [a.text_content() for a in doc.cssselect("ol.posts h3 a")]
    assert titles == [title for _, title, _ in POSTS]
    assert [t.text for t in doc.cssselect("ol.posts time")][:3] == [
        "10 jam lalu",
        "10 jam lalu",
        "1 hari lalu",
    ]
    assert png_size(shots["index-390"]) == TALL_PHONE
    assert png_size(shots["index-1280"]) == TALL_DESKTOP
    assert png_size(shots["kategori-390"]) == PHONE

    await check_links(doc, site)


def framed(site: str, path: str, size: tuple[int, int]) -> str:
    return f"{site}/test-frame?" + urlencode({"path": path, "w": size[0], "h": size[1]})


async def screenshot(
    profile: Path, shot: Path, size: tuple[int, int], site: str, path: str
) -> bytes:
    window = f"--window-size={size[0]},{size[1]}"
    return await chromium(profile, f"--screenshot={shot}", window, framed(site, path, size))


async def measure(site: str, profile: Path, size: tuple[int, int]) -> dict:
    window = f"--window-size={max(size[0], 500)},{size[1]}"
    dom = await chromium(profile, "--dump-dom", window, framed(site, "/", size))
    return orjson.loads(html.fromstring(dom).get_element_by_id("measure").text)


def same(values: list[float]) -> bool:
    return max(values) - min(values) < 0.5  # CSS pixels


async def test_category_rows_line_up_on_a_phone_and_a_desktop(site: str, tmp_path: Path) -> None:
    phone, desktop = await asyncio.gather(
        measure(site, tmp_path / "m1", PHONE), measure(site, tmp_path / "m2", DESKTOP)
    )
    for found, size in ((phone, PHONE), (desktop, DESKTOP)):
        rows = found["rows"]
        assert found["width"] == size[0] and len(rows) == 4
        assert found["scroll"] <= size[0]  # nothing wider than the screen
        # Names start in one column and so do the feed links, whatever the name's length.
        assert same([r["name"]["left"] for r in rows]), size
        assert same([r["first"]["left"] for r in rows]), size
        assert same([r["feeds"]["right"] for r in rows]), size
        for r in rows:
            assert r["feeds"]["right"] <= r["row"]["right"] + 0.5
    for r in phone["rows"]:  # stacked: the links under the name, at its left edge
        assert r["feeds"]["top"] >= r["name"]["bottom"] - 0.5
        assert abs(r["feeds"]["left"] - r["name"]["left"]) < 0.5
    for r in desktop["rows"]:  # side by side: the links right of the name, on its line
        assert r["first"]["left"] > r["count"]["right"]
        assert r["feeds"]["top"] < r["name"]["bottom"]


async def check_links(doc: html.HtmlElement, site: str) -> None:
    """Our own links answer 200; article links are absolute http(s) and not followed."""
    article_links = {post(n, *fields).link for n, fields in enumerate(POSTS)}
    own = [e for e in doc.cssselect("a[href], link[href]") if e.get("href").startswith(site)]
    outside = [
        a.get("href") for a in doc.cssselect("a[href]") if not a.get("href").startswith(site)
    ]
    assert set(outside) == article_links
    assert len(own) >= 3 + 3 + 3 * 4 + 1  # autodiscovery, all, categories, OPML
    async with aiohttp.ClientSession() as session:
        for element in own:
            async with session.get(element.get("href")) as resp:
                assert resp.status == 200, element.get("href")
                media = element.get("type")
                if media in FEED_TYPES:
                    assert resp.content_type == media, element.get("href")
