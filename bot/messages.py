"""What the bot says, in Indonesian, as Telegram HTML (parse_mode="HTML").

Everything from upstream is escaped here: titles, leads and names are plain text
in the store, and Telegram rejects a whole message over one stray "<".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from html import escape, unescape

from feedsvc.dates import format_wita, relative_age
from feedsvc.ingest.sanitize import html_to_text, summarize
from feedsvc.models import Article
from feedsvc.storage.store import Category

LEAD_LENGTH = 160  # about two lines on a phone, like the site's "Recent Posts"
MAX_TEXT = 4096  # Telegram's limit on a message's text, markup excluded
_TAG = re.compile(r"<[^>]*>")


def link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}">{escape(text)}</a>'


def lead(article: Article, limit: int = LEAD_LENGTH) -> str:
    """The opening of the article as plain text, cut at a word with "…"."""
    text = article.summary or html_to_text(article.content)
    return summarize(text, limit) if text else ""


def recent_posts(articles: list[Article], now: datetime, heading: str) -> str:
    """The /terbaru list: linked title, lead, age, one block per post.

    Posts that would take the message past Telegram's limit are left off.
    """
    blocks = [f"<b>{escape(heading)}</b>"]
    length = len(heading)
    for article in articles:
        block = [f"<b>{link(article.link, article.title)}</b>"]
        if text := lead(article):
            block.append(escape(text))
        block.append(f"<i>{relative_age(article.published, now)}</i>")
        html = "\n".join(block)
        length += 2 + visible_length(html)
        if length > MAX_TEXT:
            break
        blocks.append(html)
    return "\n\n".join(blocks)


def visible_length(html: str) -> int:
    """What Telegram counts against its limit: the text, without tags or entities."""
    return len(unescape(_TAG.sub("", html)))


def push(article: Article) -> str:
    """One new post: title, lead, category, author, time in WITA, link."""
    lines = [f"<b>{link(article.link, article.title)}</b>"]
    if text := lead(article, 300):
        lines += ["", escape(text)]
    about = [f"🏷 {escape(', '.join(article.categories))}"]
    if article.author:
        about.append(f"✍️ {escape(article.author)}")
    lines += ["", " · ".join(about), f"🕒 {format_wita(article.published)}"]
    lines.append(link(article.link, "Baca selengkapnya »"))
    return "\n".join(lines)


def categories(found: list[Category]) -> str:
    if not found:
        return "Belum ada kategori: belum ada berita yang masuk."
    rows = [f"• {escape(c.name)} ({c.count})" for c in found]
    return "<b>Kategori</b>\n" + "\n".join(rows) + "\n\nBerlangganan: /langganan NAMA_KATEGORI"


def names(slugs: Iterable[str], known: dict[str, str]) -> str:
    """Display names of slugs, "semua kategori" for the all-subscription."""
    shown = ["semua kategori" if s == "all" else known.get(s, s.upper()) for s in sorted(slugs)]
    return ", ".join(escape(n) for n in shown)


def greeting(bot_title: str, default: str) -> str:
    return (
        f"Halo! Saya bot berita <b>{escape(bot_title)}</b>.\n\n"
        "Saya mengirim setiap berita baru dari kategori yang Anda langgani, "
        "begitu berita itu terbit.\n\n"
        f"• /langganan — berlangganan {escape(default)}\n"
        "• /terbaru — berita terbaru\n"
        "• /kategori — daftar kategori\n"
        "• /bantuan — semua perintah"
    )


HELP = """<b>Perintah</b>
/terbaru [kategori] [jumlah] — berita terbaru (bawaan: semua kategori, 5 berita)
/kategori — daftar kategori dan jumlah beritanya
/langganan [kategori] — berlangganan berita baru (tanpa nama: kategori bawaan;
    "semua": semua kategori)
/berhenti [kategori] — berhenti berlangganan (tanpa nama: semuanya)
/status — langganan chat ini
/bantuan — pesan ini

English: /latest, /categories, /subscribe, /unsubscribe, /help.
Contoh: <code>/terbaru kaltara 3</code>"""

ADMIN_HELP = """<b>Perintah admin</b>
/sumber (/sources) — status setiap sumber berita
/statistik (/stats) — pelanggan per kategori"""
