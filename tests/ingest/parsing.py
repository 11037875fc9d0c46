"""What the parse tests share: sample data, the seed article's facts, small feed builders."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from feedsvc.ingest.parse import Entry
from tests.fakes.site import SHARED

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = SHARED / "corpora" / "feedparser"
NOW = datetime(2025, 9, 25, 12, 0, tzinfo=UTC)
UNSAFE = re.compile(r"<script|\son[a-z]+\s*=|javascript:", re.IGNORECASE)

SITE = "https://kaltara.example"
SEED_URL = (
    f"{SITE}/2025/09/25/target-pembangunan-merata-pemprov-kaltara-intensif-dampingi-kabupaten-kota/"
)
SEED_TITLE = "Target Pembangunan Merata, Pemprov Kaltara Intensif Dampingi Kabupaten/Kota"
SEED_FIRST = (
    "TANJUNG SELOR – Bappeda dan Litbang Kaltara memperkuat sinergi pembangunan dengan "
    "melakukan pendampingan langsung terhadap perencanaan di seluruh kabupaten/kota."
)
SEED_LAST = (
    "“Tujuan akhirnya adalah mendorong tercapainya pembangunan yang merata dan "
    "berkeadilan di seluruh Kaltara,” pungkasnya. (adv)"
)
HTML = {"Content-Type": "text/html; charset=UTF-8"}
RSS = {"Content-Type": "application/rss+xml; charset=UTF-8"}


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Kaltara</title><link>{SITE}/</link>{channel}{items}</channel></rss>"
    ).encode()


def item(**fields: str) -> str:
    return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>"


def assert_safe(entry: Entry) -> None:
    for text in (entry.title, entry.summary, entry.content, entry.author, *entry.categories):
        assert not UNSAFE.search(text), text


# --- listing pages ---

LISTING = f"{SITE}/category/kaltara/"
