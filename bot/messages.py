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
from feedsvc.ingest.sanitize import summarize
from feedsvc.models import Article
from feedsvc.storage.store import Category

LEAD_LENGTH = 160  # about two lines on a phone, like the site's "Recent Posts"
MAX_TEXT = 4096  # Telegram's limit on a message's text, markup excluded
MAX_CAPTION = 1024  # and on a photo's caption
CATEGORIES_LENGTH = 200  # the category line of a push
AUTHOR_LENGTH = 100
_TAG = re.compile(r"<[^>]*>")


def link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}">{escape(text)}</a>'


def lead(article: Article, limit: int = LEAD_LENGTH) -> str:
    """The opening of the article as plain text, cut at a word with "…".

    The stored summary is that text: ingest and the API make it from the content
    when a source gives none, so nothing is cleaned again here.
    """
    return summarize(article.summary, limit) if article.summary.strip() else ""


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


def utf16_length(html: str) -> int:
    """`visible_length` in UTF-16 code units, as Telegram counts (an emoji is two)."""
    return len(unescape(_TAG.sub("", html)).encode("utf-16-le")) // 2


def push(article: Article, limit: int = MAX_TEXT) -> str:
    """One new post: title, lead, category, author, time in WITA, link.

    Within `limit` UTF-16 units (a photo's caption has 1024): the lead is cut at a
    word first, then the title.
    """
    title, text = article.title, lead(article, 300)
    html = _push_html(article, title, text)
    over = utf16_length(html) - limit
    if over > 0 and text:
        text = cut_utf16(text, _units(text) - over)
        html = _push_html(article, title, text)
        over = utf16_length(html) - limit
    if over > 0:
        title = cut_utf16(title, max(1, _units(title) - over))
        html = _push_html(article, title, text)
    return html


def _push_html(article: Article, title: str, text: str) -> str:
    lines = [f"<b>{link(article.link, title)}</b>"]
    if text:
        lines += ["", escape(text)]
    about = [f"🏷 {escape(summarize(', '.join(article.categories), CATEGORIES_LENGTH))}"]
    if article.author:
        about.append(f"✍️ {escape(summarize(article.author, AUTHOR_LENGTH))}")
    lines += ["", " · ".join(about), f"🕒 {format_wita(article.published)}"]
    lines.append(link(article.link, "Baca selengkapnya »"))
    return "\n".join(lines)


def cut_utf16(text: str, units: int) -> str:
    """Plain text cut at a word (with "…") to at most `units` UTF-16 units; "" if none fit."""
    chars = units
    while chars > 0:
        cut = summarize(text, chars)
        if _units(cut) <= units:
            return cut
        chars -= max(1, (_units(cut) - units) // 2)
    return ""


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def categories(found: list[Category]) -> str:
    """The /kategori list; rows that would pass Telegram's limit are summed up instead."""
    if not found:
        return "Belum ada kategori: belum ada berita yang masuk."
    head, foot = "<b>Kategori</b>", "\n\nBerlangganan: /langganan NAMA_KATEGORI"
    rows: list[str] = []
    room = MAX_TEXT - utf16_length(head + foot) - 40  # 40: the "… lain" line
    for c in found:
        row = f"• {escape(summarize(c.name, 64))} ({c.count})"
        room -= utf16_length(row) + 1
        if room < 0:
            rows.append(f"… dan {len(found) - len(rows)} kategori lain")
            break
        rows.append(row)
    return head + "\n" + "\n".join(rows) + foot


def names(slugs: Iterable[str], known: dict[str, str]) -> str:
    """Display names of slugs, "semua kategori" for the all-subscription."""
    shown = ["semua kategori" if s == "all" else known.get(s, s.upper()) for s in sorted(slugs)]
    return ", ".join(escape(n) for n in shown)


def greeting(bot_title: str, default: str) -> str:
    return (
        f"Halo! Saya bot berita <b>{escape(bot_title)}</b>.\n\n"
        "Saya mengirim setiap berita baru dari kategori yang Anda langgani, "
        "begitu berita itu terbit.\n\n"
        "<b>Cara berlangganan</b>\n"
        f"• /langganan — berlangganan {escape(default)}\n"
        "• <code>/langganan NAMA_KATEGORI</code> — kategori lain (lihat /kategori)\n"
        "• <code>/langganan kaltara banjir, longsor</code> — hanya berita dengan kata itu\n"
        "• /berhenti — berhenti berlangganan\n\n"
        "• /terbaru — berita terbaru\n"
        "• /id — id chat ini dan id Anda (untuk <code>telegram.admins</code>)\n"
        "• /bantuan — semua perintah"
    )


def ids(chat_id: int, user_id: int | None, thread_id: int | None = None) -> str:
    """The /id answer: what to put in telegram.admins and telegram.channels."""
    lines = [f"ID chat ini: <code>{chat_id}</code>"]
    if thread_id is not None:
        lines.append(f"ID topik ini: <code>{thread_id}</code>")
    if user_id is not None:
        lines.append(f"ID Anda: <code>{user_id}</code>")
        lines += [
            "",
            "Admin bot: tambahkan ID Anda ke <code>telegram.admins</code> di config.toml, "
            f"misalnya <code>admins = [{user_id}]</code>, lalu mulai ulang feedsvc.",
        ]
    if chat_id < 0:
        lines += [
            "",
            "Kanal atau grup yang selalu menerima berita: ID chat ini ke "
            "<code>telegram.channels</code>.",
        ]
    return "\n".join(lines)


def unknown_category(name: str, found: list[Category]) -> str:
    """An unknown category, with the real ones listed right there."""
    head = f"Kategori <b>{escape(name)}</b> tidak ditemukan."
    if not found:
        return head + " Belum ada kategori: belum ada berita yang masuk."
    shown = ", ".join(f"<code>{escape(c.name)}</code>" for c in found)
    return f"{head}\nKategori yang ada: {shown}.\nDaftar lengkap: /kategori."


HELP = """<b>Perintah</b>
/terbaru [kategori] [jumlah] — berita terbaru (bawaan: semua kategori, 5 berita)
/kategori — daftar kategori dan jumlah beritanya
/langganan [kategori] — berlangganan berita baru (tanpa nama: kategori bawaan;
    "semua": semua kategori)
/langganan kategori kata, kata — hanya berita yang memuat salah satu kata itu
    (contoh: <code>/langganan kaltara banjir, longsor -hoaks</code>; "-kata" mengecualikan;
    tanpa kata: semua berita kategori itu lagi)
/berhenti [kategori] — berhenti berlangganan (tanpa nama: semuanya)
/status — langganan chat ini
/senyap 22-6 — berita pukul 22.00–06.00 WITA datang tanpa bunyi (/senyap mati: selesai)
/cari kata — berita tersimpan yang memuat semua kata itu, terbaru dulu; di chat mana pun:
    ketik @nama_bot kata untuk membagikan berita
/ringkasan [jam|mati] — satu ringkasan sehari pada jam itu (WITA), bukan tiap berita
/id — id chat ini dan id Anda
/bantuan — pesan ini

<b>Berlangganan</b>
Di chat pribadi: kirim /langganan. Di grup: admin grup mengirim /langganan.
Di kanal: jadikan bot admin kanal, lalu kirim /langganan di kanal itu.

<b>Admin bot</b>
Kirim /id ke bot: ID Anda masuk ke <code>telegram.admins</code> di config.toml.

<b>Kata kunci</b>
Cocok dengan kata utuh di judul atau ringkasan; huruf besar/kecil dan aksen diabaikan;
kata berimbuhan cocok lewat kata dasarnya (banjir → kebanjiran). Satu kata biasa per
kata kunci, paling banyak 20; bukan frasa atau pola.

Di topik grup forum, perintah berlaku untuk topik itu saja.

English: /latest, /categories, /subscribe, /unsubscribe, /quiet, /search, /digest, /help.
Contoh: <code>/terbaru kaltara 3</code>"""

ADMIN_HELP = """<b>Perintah admin</b>
/sumber (/sources) — status setiap sumber berita
/statistik (/stats) — pelanggan per kategori"""
