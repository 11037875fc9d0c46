"""full_content on a feed source: each new entry's page gives the text, once; bad pages
keep the excerpt and say why; excerpt-only feeds are told in `sources list`."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import escape

import pytest
from redis.asyncio import Redis

from feedsvc.cli.sources import sources_table
from feedsvc.config import ConfigError, PollSettings, Settings, load_settings
from feedsvc.ingest import fullcontent
from feedsvc.ingest.fetch import new_session
from feedsvc.ingest.parse import parse_feed
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.ingest.sanitize import html_to_text
from feedsvc.ingest.sources import SourceError, check_source
from feedsvc.models import Source, SourceStatus
from feedsvc.publish.render import FeedInfo, render_rss
from tests.fakes.site import Item, Page, Site, article_page, rss

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
MAX_BYTES = 100_000
HTML = {"Content-Type": "text/html; charset=UTF-8"}
FEED = {"Content-Type": "application/rss+xml; charset=UTF-8"}


@pytest.fixture
async def ingestor(redis: Redis) -> AsyncIterator[Ingestor]:
    settings = dataclasses.replace(Settings(), poll=PollSettings(timeout=1.5, max_bytes=MAX_BYTES))
    session = new_session(settings.user_agent)
    yield Ingestor.from_settings(settings, redis, session, clock=NOW.timestamp, rand=lambda: 0.5)
    await session.close()


def excerpt_rss(items: list[Item]) -> bytes:
    """A WordPress feed set to "Summary": a description and no content:encoded."""
    body = "".join(
        f"<item><title>{escape(it.title)}</title><link>{escape(it.link)}</link>"
        f"<pubDate>{it.published:%a, %d %b %Y %H:%M:%S +0000}</pubDate>"
        f"<dc:creator>{escape(it.author)}</dc:creator>"
        + "".join(f"<category>{escape(c)}</category>" for c in it.categories)
        + f"<description>{escape(it.content)} [&#8230;]</description></item>"
        for it in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Warta</title>'
        f"<link>http://warta.example/</link><description>Berita</description>{body}"
        "</channel></rss>"
    ).encode()


def paragraphs(i: int) -> list[str]:
    return [
        f"TANJUNG SELOR – Berita nomor {i}: Pemerintah Provinsi Kalimantan Utara membuka "
        "pendaftaran beasiswa kuliah bagi pelajar dari desa-desa perbatasan mulai pekan ini.",
        "Kepala Dinas Pendidikan menyebut kuota tahun ini 250 orang, naik dari 180 orang tahun "
        "lalu, dengan prioritas bagi pelajar dari Krayan, Lumbis dan Sebatik.",
        "Pendaftaran dibuka secara daring hingga akhir Oktober, dan seleksi berkas dilakukan "
        "oleh tim dari tiga perguruan tinggi negeri di Kalimantan.",
        "Penerima beasiswa akan dibiayai penuh selama delapan semester, termasuk biaya hidup "
        "dan tiket pulang sekali setahun ke kampung halaman.",
        f"Informasi lengkap berita nomor {i} tersedia di laman resmi dinas dan di kantor "
        "kecamatan masing-masing.",
    ]


def entry(site: Site, i: int) -> Item:
    return Item(
        title=f"Judul dari feed {i}",
        link=site.url(f"/2026/11/27/berita-{i}/"),
        published=NOW - timedelta(hours=i + 1),
        categories=("KALTARA", "Bulungan"),
        author="Yoseph",
        content=f"Ringkasan berita {i} dari feed",
    )


def serve_page(site: Site, i: int) -> str:
    path = f"/2026/11/27/berita-{i}/"
    page = article_page(
        f"Judul halaman {i}", paragraphs(i), canonical=site.url(path), author="Orang Lain"
    )
    site.routes[path] = Page(page, headers=HTML)
    return path


async def test_each_new_entry_page_gives_the_text_once(
    site: Site, ingestor: Ingestor, redis: Redis
) -> None:
    paths = [serve_page(site, i) for i in range(3)]
    site.routes["/feed/"] = Page(excerpt_rss([entry(site, i) for i in range(2)]), headers=FEED)
    source = Source("warta", site.url("/feed/"), full_content=True)
    status = await ingestor.poll(source, SourceStatus("warta"))
    assert status.failures == 0 and status.warning == "" and status.excerpt_only
    stored = {a.link: a for a in await ingestor.store.list("kaltara")}
    assert len(stored) == 2
    for i in range(2):
        article = stored[site.url(paths[i])]
        text = html_to_text(article.content)
        assert text.startswith(paragraphs(i)[0]) and text.endswith(paragraphs(i)[-1])
        assert "Bagikan" not in text  # the page's share widget is not the article
        # The feed's title, date, categories, author and excerpt are kept.
        assert article.title == f"Judul dari feed {i}"
        assert article.published == NOW - timedelta(hours=i + 1)
        assert article.categories == ("KALTARA", "Bulungan")
        assert article.author == "Yoseph"
        assert article.summary.startswith(f"Ringkasan berita {i} dari feed")
    # The republished feed carries the full text.
    info = FeedInfo("Warta", "http://x.example/", "http://x.example/feeds/kaltara.rss")
    assert paragraphs(1)[-1].encode() in render_rss(info, list(stored.values()))

    # A later poll: one more entry; only its page is fetched, the others keep their text.
    site.routes["/feed/"] = Page(excerpt_rss([entry(site, i) for i in range(3)]), headers=FEED)
    status = await ingestor.poll(source, status)
    assert [len(site.hits_for(path)) for path in paths] == [1, 1, 1]
    again = {a.link: a for a in await ingestor.store.list("kaltara")}
    assert len(again) == 3 and status.new_articles == 3
    assert again[site.url(paths[0])].content == stored[site.url(paths[0])].content
    assert paragraphs(2)[0] in html_to_text(again[site.url(paths[2])].content)


async def test_pages_that_give_no_text_keep_the_excerpt_and_say_why(
    site: Site, ingestor: Ingestor
) -> None:
    wall = b"<html><head><title>Masuk</title></head><body><form><h1>Masuk</h1>"
    wall += b"<p>Silakan masuk.</p></form></body></html>"
    text = "Gubernur meresmikan jembatan – “jembatan ini penting” – kata dia. " * 12
    cp1252 = "<html><head><title>Jembatan</title></head><body><article><h1>Jembatan</h1>"
    cp1252 += f"<p>{text}</p></article></body></html>"
    pages = {
        "pdf": Page(b"%PDF-1.7 " + b"x" * 500, headers={"Content-Type": "application/pdf"}),
        "image": Page(b"\xff\xd8\xff\xe0" + b"x" * 500, headers={"Content-Type": "image/jpeg"}),
        "wall": Page(wall, headers=HTML),
        "gone": Page(b"not here", status=404),
        "huge": Page(b"<html><body><p>" + b"kata " * (MAX_BYTES // 4) + b"</p>", headers=HTML),
        "charset": Page(cp1252.encode("cp1252"), headers=HTML),  # declares UTF-8
    }
    items = []
    for n, (name, page) in enumerate(pages.items()):
        site.routes[f"/{name}/"] = page
        items.append(dataclasses.replace(entry(site, n), link=site.url(f"/{name}/")))
    site.routes["/feed/"] = Page(excerpt_rss(items), headers=FEED)
    source = Source("warta", site.url("/feed/"), full_content=True)
    status = await ingestor.poll(source, SourceStatus("warta"))
    assert status.failures == 0
    stored = await ingestor.store.list("kaltara")
    assert len(stored) == len(pages)
    for article in stored:  # whole, as the feed gave it
        n = int(article.title.rsplit(" ", 1)[1])
        assert html_to_text(article.content) == f"Ringkasan berita {n} dari feed […]"
    assert status.warning.startswith("full text of 6 of 6 new entries not taken")
    assert "not an HTML page (application/pdf)" in status.warning

    # Each page's reason, from the same code with a source that fetched none yet.
    parsed = parse_feed(excerpt_rss(items), {"content-type": "application/rss+xml"}, source.url)

    async def nothing_stored(_: object) -> str:
        return ""

    other = dataclasses.replace(source, name="warta-2")
    filled = await fullcontent.fill(
        ingestor.redis, ingestor.fetcher, ingestor._read_page, nothing_stored, other,
        parsed.entries, NOW.timestamp(),
    )  # fmt: skip
    reasons = dict(reason.split("/: ", 1) for reason in filled.reasons)
    assert len(reasons) == filled.fetched == len(pages)
    expected = {
        "pdf": "not an HTML page (application/pdf)",
        "image": "not an HTML page (image/jpeg)",
        "wall": "no article on the page",
        "gone": "HTTP 404",
        "huge": "over poll.max_bytes=100000",
        "charset": "its text does not decode in the charset the page declares",
    }
    for name, why in expected.items():
        assert why in reasons[site.url(f"/{name}")], (name, reasons[site.url(f"/{name}")])
    assert filled.entries == list(parsed.entries)  # nothing half taken


async def test_a_feed_with_the_text_is_not_excerpt_only(site: Site, ingestor: Ingestor) -> None:
    long = "<p>" + "Isi lengkap berita dari feed, kalimat demi kalimat. " * 20 + "</p>"
    items = [dataclasses.replace(entry(site, i), content=long) for i in range(2)]
    site.routes["/feed/"] = Page(rss(items), headers=FEED)
    status = await ingestor.poll(Source("penuh", site.url("/feed/")), SourceStatus("penuh"))
    assert status.failures == 0 and not status.excerpt_only
    site.routes["/feed/"] = Page(excerpt_rss(items), headers=FEED)
    status = await ingestor.poll(Source("ringkas", site.url("/feed/")), SourceStatus("ringkas"))
    assert status.excerpt_only


def test_sources_list_says_excerpt_only_until_full_content_is_on() -> None:
    status = SourceStatus("warta", last_success=1.0, excerpt_only=True)
    plain = sources_table([Source("warta", "http://w.example/feed/")], [status], 2.0, UTC)
    assert "excerpt only" in plain and "full_content = true" in plain
    full = Source("warta", "http://w.example/feed/", full_content=True)
    assert "excerpt only" not in sources_table([full], [status], 2.0, UTC)
    fine = dataclasses.replace(status, excerpt_only=False)
    plain_source = Source("warta", "http://w.example/feed/")
    assert "excerpt only" not in sources_table([plain_source], [fine], 2.0, UTC)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'kind = "html"\nfull_content = true',
            "'sources[0].full_content' only applies to kind = \"feed\"",
        ),
        ('full_content = "yes"', "'sources[0].full_content' must be true or false"),
    ],
)
def test_full_content_is_checked_in_the_config(tmp_path, extra: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[[sources]]\nname = "w"\nurl = "http://w.example/"\n{extra}\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), env={})
    assert message in str(caught.value)


def test_full_content_is_checked_for_added_sources() -> None:
    with pytest.raises(SourceError, match='full_content only applies to kind = "feed"'):
        check_source(Source("w", "http://w.example/", kind="html", full_content=True))
    check_source(Source("w", "http://w.example/feed/", full_content=True))


async def test_a_page_that_fails_for_a_moment_is_tried_again_on_the_next_poll(
    site: Site, ingestor: Ingestor
) -> None:
    paths = [serve_page(site, i) for i in range(4)]
    site.routes[paths[0]] = dataclasses.replace(site.routes[paths[0]], status=503)
    site.routes[paths[1]] = dataclasses.replace(site.routes[paths[1]], reset=True)
    site.routes[paths[2]] = Page(b"not here", status=404)
    site.routes["/feed/"] = Page(excerpt_rss([entry(site, i) for i in range(4)]), headers=FEED)
    source = Source("warta", site.url("/feed/"), full_content=True)
    status = await ingestor.poll(source, SourceStatus("warta"))
    assert status.failures == 0 and status.new_articles == 4
    assert status.warning.startswith("full text of 3 of 4 new entries not taken")
    first = {a.link: a for a in await ingestor.store.list("kaltara")}
    for i in range(3):  # stored with the feed's excerpt meanwhile
        text = html_to_text(first[site.url(paths[i])].content)
        assert text == f"Ringkasan berita {i} dari feed […]"
    assert paragraphs(3)[0] in html_to_text(first[site.url(paths[3])].content)

    # The site is well again: the 503 and the reset page are fetched once more and give
    # their text; the 404 (settled) and the page already read are not fetched again.
    for i in range(3):
        serve_page(site, i)
    before = [len(site.hits_for(path)) for path in paths]
    status = await ingestor.poll(source, status)
    after = [len(site.hits_for(path)) for path in paths]
    assert [n - m for n, m in zip(after, before, strict=True)] == [1, 1, 0, 0]
    assert status.warning == "" and status.new_articles == 4  # updated, not new
    again = {a.link: a for a in await ingestor.store.list("kaltara")}
    assert len(again) == 4
    for i in (0, 1):
        text = html_to_text(again[site.url(paths[i])].content)
        assert text.startswith(paragraphs(i)[0]) and text.endswith(paragraphs(i)[-1])
        assert again[site.url(paths[i])].summary.startswith(f"Ringkasan berita {i} dari feed")
    assert html_to_text(again[site.url(paths[2])].content) == "Ringkasan berita 2 dari feed […]"

    # Once read, a page is settled like the others: a third poll fetches none of them.
    await ingestor.poll(source, status)
    assert [len(site.hits_for(path)) for path in paths] == after
