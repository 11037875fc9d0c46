"""Internal addresses: a public source may not reach them, by redirect, spelling or link."""

from __future__ import annotations

import ipaddress

import pytest

from feedsvc.ingest.fetch import is_internal_address
from feedsvc.ingest.pipeline import Ingestor
from feedsvc.models import Source
from feedsvc.storage.store import Store
from tests.fakes.site import Item, Page, Site, rss
from tests.ingest.hostile.conftest import NOW, poll_saved


@pytest.mark.parametrize("code", [301, 302, 307, 308])
async def test_a_public_source_may_not_redirect_to_an_internal_address(
    site: Site, internal: Site, guarded: Ingestor, store: Store, code: int
) -> None:
    site.routes["/feed/"] = Page(status=code, headers={"Location": internal.url("/admin/")})
    source = Source("publik", site.url("/feed/"))
    for _ in range(3):
        status = await poll_saved(guarded, source)
        assert status.failures and "refused: 127.0.0.2 is an internal address" in status.last_error
        assert status.url == source.url and not status.moved_to  # never becomes the polled URL
    assert internal.hits == [] and await store.count(None) == 0


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[::ffff:127.0.0.2]:{port}/admin/",  # IPv4-mapped IPv6
        "http://2130706434:{port}/admin/",  # 127.0.0.2 as one decimal number
        "http://127.0.0.2.nip.invalid:{port}/admin/",  # unresolvable: fails to connect
    ],
)
async def test_internal_addresses_in_any_spelling_are_refused(
    site: Site, internal: Site, guarded: Ingestor, location: str
) -> None:
    port = internal.base.rsplit(":", 1)[1]
    site.routes["/feed/"] = Page(status=302, headers={"Location": location.format(port=port)})
    status = await poll_saved(guarded, Source("publik", site.url("/feed/")))
    assert status.failures == 1 and status.last_error
    assert internal.hits == []


async def test_article_links_of_a_public_source_may_not_point_inside(
    site: Site, internal: Site, guarded: Ingestor, store: Store
) -> None:
    inside = internal.url("/2025/09/25/rapat-internal-redaksi-hari-ini/")
    internal.routes[inside.removeprefix(internal.base)] = Page(b"<html><h1>RAHASIA</h1></html>")
    outside = site.url("/2025/09/25/berita-publik-hari-ini/")
    site.routes[outside.removeprefix(site.base)] = Page(
        b"<html><head><title>Berita publik</title></head><body><article><h1>Berita publik"
        b"</h1><p>Isi berita publik yang cukup panjang untuk dibaca.</p></article></body></html>"
    )
    listing = (
        f'<html><body><a class="post" href="{inside}">a</a><a class="post" href="{outside}">b</a>'
    )
    site.routes["/kategori/"] = Page(listing.encode())
    source = Source("web", site.url("/kategori/"), kind="html", link_selector="a.post")
    status = await poll_saved(guarded, source)
    assert status.failures == 0, status.last_error
    assert internal.hits == []
    assert [a.link for a in await store.list(None)] == [outside]


async def test_full_content_pages_of_a_public_feed_may_not_be_inside(
    site: Site, internal: Site, guarded: Ingestor, store: Store
) -> None:
    inside = internal.url("/2025/09/25/rapat-internal-redaksi-hari-ini/")
    internal.routes[inside.removeprefix(internal.base)] = Page(
        b"<html><head><title>RAHASIA</title></head><body><article><h1>RAHASIA</h1>"
        b"<p>Notulen rapat redaksi yang tidak boleh keluar dari kantor.</p></article></html>"
    )
    site.routes["/2025/09/25/dialihkan/"] = Page(status=302, headers={"Location": inside})
    items = [
        Item("Berita dalam", inside, NOW, content="Ringkasan dalam"),
        Item("Berita dialihkan", site.url("/2025/09/25/dialihkan/"), NOW, content="Ringkasan"),
    ]
    site.routes["/feed/"] = Page(rss(items))
    source = Source("publik", site.url("/feed/"), full_content=True)
    status = await poll_saved(guarded, source)
    assert status.failures == 0, status.last_error
    assert status.warning.startswith("full text of 2 of 2 new entries not taken")
    assert status.warning.count("refused: 127.0.0.2 is an internal address") == 2
    # Refused is settled: the next poll asks neither page again.
    status = await poll_saved(guarded, source)
    assert status.failures == 0 and status.warning == ""
    assert internal.hits == []
    assert len(site.hits_for("/2025/09/25/dialihkan/")) == 1
    stored = {a.title: a for a in await store.list(None)}
    assert set(stored) == {"Berita dalam", "Berita dialihkan"}
    assert all("RAHASIA" not in a.content + a.title for a in stored.values())


async def test_a_source_on_an_internal_host_may_use_internal_addresses(
    internal: Site, guarded: Ingestor, store: Store
) -> None:
    internal.routes["/intranet/feed/"] = Page(status=302, headers={"Location": "/admin/"})
    status = await poll_saved(guarded, Source("intranet", internal.url("/intranet/feed/")))
    assert status.failures == 0, status.last_error
    assert [a.title for a in await store.list(None)] == ["RAHASIA"]


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
        ("::1", True), ("fe80::1", True), ("fd00:ec2::254", True), ("::ffff:10.0.0.1", True),
        ("64:ff9b::7f00:1", True), ("2002:7f00:1::", True), ("ff02::1", True),
        ("8.8.8.8", False), ("103.10.10.10", False), ("2001:4860:4860::8888", False),
        ("::ffff:8.8.8.8", False),
    ],
)  # fmt: skip
def test_which_addresses_are_internal(address: str, internal: bool) -> None:
    assert is_internal_address(ipaddress.ip_address(address)) is internal
