"""Which categories the index page, /opml and /kategori show (docs/DESIGN.md says the rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lxml import etree, html

from feedsvc.models import Article, stable_id
from feedsvc.publish.categories import MAX_SHOWN, MIN_ARTICLES, shown_categories
from feedsvc.storage.store import Category, Store
from tests.conftest import BASE


def cats(*counts: int) -> list[Category]:
    return [Category(f"c{i}", f"C{i}", n) for i, n in enumerate(counts)]


def test_few_categories_are_all_shown() -> None:
    few = cats(*([1] * MAX_SHOWN))
    assert shown_categories(few, []) == few


def test_many_categories_keep_the_configured_and_the_busy_ones_largest_first() -> None:
    many = cats(9, 7, 5, 4, *([1] * 100))
    assert MIN_ARTICLES == 5
    shown = shown_categories(many, ["c50", "c99"])
    assert [c.slug for c in shown] == ["c0", "c1", "c2", "c50", "c99"]


def test_the_list_is_capped_but_never_drops_a_configured_category() -> None:
    many = cats(*range(500, 400, -1))
    shown = shown_categories(many, ["c99"], limit=10)
    assert [c.slug for c in shown] == [f"c{i}" for i in range(9)] + ["c99"]
    assert len(shown_categories(many, [f"c{i}" for i in range(50, 70)], limit=10)) == 20


async def fill_with_tags(store: Store) -> None:
    """Five busy categories, one configured one with a single post, and 60 one-off tags."""
    now = datetime.now(UTC)
    n = 0

    async def post(*names: str) -> None:
        nonlocal n
        n += 1
        link = f"https://news.example/2026/11/20/berita-{n}/"
        await store.upsert(
            Article(stable_id(link), f"Berita {n}", link, names, now - timedelta(minutes=n))
        )

    for busy in range(5):
        for _ in range(MIN_ARTICLES):
            await post(f"Rubrik {busy}")
    await post("KALTARA")  # telegram.push_categories names it
    for tag in range(60):
        await post(f"Tag sekali {tag}")


async def test_index_and_opml_show_the_categories_that_mean_something(client, store) -> None:
    await fill_with_tags(store)
    doc = html.fromstring(await (await client.get("/")).text())
    listed = [li.cssselect("b")[0].text for li in doc.cssselect(".cats li")]
    assert sorted(listed) == ["KALTARA", *(f"Rubrik {i}" for i in range(5))]

    root = etree.fromstring(await (await client.get("/opml")).read())
    feeds = [o.get("xmlUrl") for o in root.findall("body/outline")]
    assert len(feeds) == 1 + 6 and f"{BASE}/feeds/kaltara.rss" in feeds

    # The rest are still categories: their feeds answer and the API lists them.
    assert (await client.get("/feeds/tag-sekali-7.rss")).status == 200
    body = await (await client.get("/api/categories")).json()
    assert len(body["categories"]) == 66
