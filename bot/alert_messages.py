"""What the bot says about keywords, quiet hours and search, as Telegram HTML."""

from __future__ import annotations

from html import escape

from telegram import InlineQueryResultArticle, InputTextMessageContent
from telegram.constants import ParseMode

from bot import messages
from bot.subscriptions import ChatSettings
from feedsvc.ingest.sanitize import summarize
from feedsvc.models import Article
from feedsvc.words import MAX_KEYWORDS, MAX_KEYWORDS_TEXT, MAX_WORD_LENGTH, KeywordError, Problem

KEYWORDS_FORM = (
    "Kata kunci ditulis setelah nama kategori, dipisah koma atau spasi:\n"
    "<code>/langganan kaltara banjir, longsor</code>\n"
    "Awali dengan tanda minus untuk mengecualikan: <code>/langganan kaltara banjir -hoaks</code>\n"
    f"Setiap kata kunci satu kata biasa (huruf dan angka, paling panjang {MAX_WORD_LENGTH}), "
    f"paling banyak {MAX_KEYWORDS} kata. Tanpa kata kunci: semua berita kategori itu."
)

QUIET_FORM = (
    "Jam senyap ditulis sebagai dua jam WITA (0–23), misalnya <code>/senyap 22-6</code>: "
    "berita pukul 22.00 sampai 06.00 WITA datang tanpa bunyi. "
    "<code>/senyap mati</code> mematikannya."
)

SEARCH_FORM = (
    "Tulis kata yang dicari setelah perintahnya, misalnya <code>/cari banjir tarakan</code>: "
    "berita terbaru yang judul atau ringkasannya memuat semua kata itu."
)

KEYWORD_RULES = (
    "Kata kunci cocok dengan kata utuh di judul atau ringkasan berita; huruf besar/kecil dan "
    "aksen diabaikan, dan kata berimbuhan ikut cocok lewat kata dasarnya "
    "(<i>banjir</i> cocok dengan <i>kebanjiran</i>, <i>bangun</i> dengan <i>pembangunan</i>). "
    "Bukan frasa, bukan pola: satu kata biasa per kata kunci."
)


def bad_keywords(error: KeywordError) -> str:
    """Why keywords were refused, and the right form; nothing was stored."""
    if error.problem is Problem.TOO_MANY:
        why = f"Terlalu banyak kata kunci: paling banyak {MAX_KEYWORDS}."
    elif error.problem is Problem.TOO_LONG:
        why = f"Kata kunci terlalu panjang: paling banyak {MAX_KEYWORDS_TEXT} karakter."
    else:
        word = escape(error.word[:40])
        why = f"<code>{word}</code> bukan kata biasa (hanya huruf dan angka)."
    return f"{why} Langganan tidak diubah.\n\n{KEYWORDS_FORM}"


def keyword_list(stored: str) -> str:
    """ "banjir longsor -hoaks" as shown: "banjir, longsor, kecuali hoaks"."""
    words = stored.split()
    shown = ", ".join(escape(w) for w in words if not w.startswith("-"))
    excluded = ", ".join(escape(w[1:]) for w in words if w.startswith("-"))
    if excluded:
        shown = f"{shown}, kecuali {excluded}" if shown else f"semua kecuali {excluded}"
    return shown


def status(chat: ChatSettings, known: dict[str, str]) -> str:
    """/status: categories, each with its keywords, and the quiet hours."""
    if not chat.slugs:
        return "Chat ini belum berlangganan. Ketik /langganan untuk mulai."
    shown = []
    for slug in chat.slugs:
        name = messages.names([slug], known)
        words = chat.keywords.get(slug)
        shown.append(f"{name} (kata kunci: {keyword_list(words)})" if words else name)
    text = f"Langganan chat ini: {', '.join(shown)}."
    if chat.quiet:
        text += f"\nJam senyap: {escape(quiet_hours(chat.quiet))} WITA."
    return text


def quiet_hours(window: str) -> str:
    """ "22-6" as shown: "22.00–06.00"."""
    start, _, end = window.partition("-")
    return f"{int(start):02d}.00–{int(end):02d}.00" if start.isdigit() and end.isdigit() else window


def quiet_set(window: str) -> str:
    return (
        f"🔕 Jam senyap: {quiet_hours(window)} WITA. Berita di jam itu datang tanpa bunyi.\n"
        "Matikan dengan <code>/senyap mati</code>."
    )


QUIET_OFF = "🔔 Jam senyap dimatikan: setiap berita datang dengan bunyi."
NOT_FOUND = "Tidak ada berita yang cocok dengan <b>{query}</b>."


def inline_result(article: Article) -> InlineQueryResultArticle:
    """One post offered in inline mode: shared, it is the post as a push shows it."""
    return InlineQueryResultArticle(
        id=article.id,
        title=summarize(article.title, 200),
        input_message_content=InputTextMessageContent(messages.push(article), ParseMode.HTML),
        url=article.link,
        description=messages.lead(article) or None,
        thumbnail_url=article.image or None,
    )
