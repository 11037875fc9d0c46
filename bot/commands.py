"""The bot's commands: Indonesian names first, English aliases beside them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from telegram import LinkPreviewOptions, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PrefixHandler,
    filters,
)

from bot import alert_messages, digests, messages
from bot.subscriptions import ALL, Subscriptions, recipient
from feedsvc.config import Settings
from feedsvc.dates import duration, relative_age
from feedsvc.ingest.sources import SourceRegistry
from feedsvc.models import slugify
from feedsvc.publish.categories import configured_slugs, shown_categories
from feedsvc.storage.store import Category, Store
from feedsvc.words import KeywordError, parse_keywords

log = logging.getLogger(__name__)

DEFAULT_COUNT = 5
MAX_COUNT = 10  # ten posts with leads stay well inside one 4096-character message
EVERYTHING = frozenset({"semua", "all"})
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
MAX_NAME_WORDS = 4  # a category name before keywords is at most this long
Commands = Sequence[tuple[tuple[str, ...], Callable[..., Awaitable[None]]]]


@dataclass(frozen=True)
class Services:
    """What the handlers need, kept in application.bot_data."""

    settings: Settings
    store: Store
    subscriptions: Subscriptions
    sources: SourceRegistry

    @property
    def default_slugs(self) -> list[str]:
        return list(self.settings.telegram.push_slugs)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


def recipient_of(update: Update) -> str:
    """The chat a command acts for: the forum topic it was given in, else the chat."""
    message = update.effective_message
    topic = message is not None and message.is_topic_message
    return recipient(update.effective_chat.id, message.message_thread_id if topic else None)


def add_handlers(application: Application, more: Commands = ()) -> None:
    """Our commands (`more` too, ahead of the catch-all for unknown ones)."""
    # Channel posts too: a channel's admins subscribe it by posting /langganan there.
    # Edited messages are left out, so correcting a typo does not answer twice.
    where = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
    every = [*COMMANDS, *more]
    for names, callback in every:
        application.add_handler(CommandHandler(names, callback, filters=where))
    # Telegram marks commands with a bot_command entity; a client or a Bot API
    # server that leaves it out still gets an answer to "/terbaru".
    for names, callback in every:
        application.add_handler(PrefixHandler("/", names, callback, filters=where))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))
    application.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    # Last: any other command in a private chat gets a pointer to the help.
    application.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    default = ", ".join(s.settings.telegram.push_categories) or "semua kategori"
    await _reply(update, messages.greeting(s.settings.service.title, default))


async def help_(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = messages.HELP
    if _is_admin(update, context):
        text += "\n\n" + messages.ADMIN_HELP
    await _reply(update, text)


async def ids(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """This chat's id and the sender's, for telegram.admins and telegram.channels."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    thread = message.message_thread_id if message is not None and message.is_topic_message else None
    await _reply(update, messages.ids(chat.id, user.id if user else None, thread))


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    words = list(context.args or [])
    numbers = [w for w in words if w.isdigit()]  # "/terbaru 3 kaltara" works too
    count = max(1, min(int(numbers[-1]), MAX_COUNT)) if numbers else DEFAULT_COUNT
    name = " ".join(w for w in words if not w.isdigit())
    slug, heading = None, "Berita terbaru"
    if name and name.lower() not in EVERYTHING:
        category = await _category(s, name)
        if category is None:
            await _reply(update, await _not_found(s, name))
            return
        slug, heading = category.slug, f"Berita terbaru: {category.name}"
    articles = await s.store.list(slug, limit=count)
    if not articles:
        await _reply(update, "Belum ada berita.")
        return
    await _reply(update, messages.recent_posts(articles, datetime.now(UTC), heading))


async def categories(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    found = shown_categories(await s.store.categories(), configured_slugs(s.settings))
    await _reply(update, messages.categories(found))


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Subscribe a category, with keywords after it (none: every post of it)."""
    s = services(context)
    chosen = await _chosen_slugs(update, context, with_keywords=True)
    if chosen is None:
        return
    slugs, words = chosen
    try:
        keywords = parse_keywords(words)
    except KeywordError as exc:
        await _reply(update, alert_messages.bad_keywords(exc))
        return  # nothing stored
    chat_id = recipient_of(update)
    slugs = slugs or s.default_slugs
    new = await s.subscriptions.add(chat_id, slugs, str(keywords))
    known = await _names(s)
    if new:
        log.info("chat %s subscribed to %s", chat_id, ", ".join(new))
        text = f"✅ Berlangganan: {messages.names(new, known)}. Berita baru akan dikirim ke sini."
    elif keywords:
        text = f"✅ Kata kunci untuk {messages.names(slugs, known)} diperbarui."
    else:
        text = "Chat ini sudah berlangganan kategori itu (tanpa kata kunci)."
    await _reply(update, text + "\n\n" + await _status(s, chat_id, known))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    chosen = await _chosen_slugs(update, context)
    if chosen is None:
        return
    slugs, _ = chosen
    chat_id = recipient_of(update)
    gone = await s.subscriptions.remove(chat_id, slugs or None)
    known = await _names(s)
    if gone:
        log.info("chat %s unsubscribed from %s", chat_id, ", ".join(gone))
        text = f"Berhenti berlangganan: {messages.names(gone, known)}."
    else:
        text = "Chat ini tidak berlangganan kategori itu."
    await _reply(update, text + "\n\n" + await _status(s, chat_id, known))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    s = services(context)
    await _reply(update, await _status(s, recipient_of(update), await _names(s)))


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admin_only(update, context):
        return
    s = services(context)
    found = await s.sources.all()
    statuses = await s.sources.statuses([src.name for src in found])
    now = datetime.now(UTC)
    rows = []
    for st in statuses:
        if st.last_error and st.failures:
            state = f"❌ gagal {st.failures}× — {escape(st.last_error[:120])}"
        elif st.last_success:
            state = f"✅ {relative_age(datetime.fromtimestamp(st.last_success, UTC), now)}"
        else:
            state = "⏳ belum diambil"
        due = ""
        if st.next_poll:
            due = f" (berikutnya {duration(max(0.0, st.next_poll - now.timestamp()))})"
        rows.append(f"• <b>{escape(st.name)}</b>: {state}{due}")
    await _reply(update, "<b>Sumber berita</b>\n" + ("\n".join(rows) or "Belum ada sumber."))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await _admin_only(update, context):
        return
    s = services(context)
    counts = await s.subscriptions.counts()
    known = await _names(s)
    rows = [f"• {messages.names([slug], known)}: {n} chat" for slug, n in sorted(counts.items())]
    total = await s.store.count()
    body = "\n".join(rows) or "Belum ada pelanggan."
    await _reply(update, f"<b>Statistik</b>\nBerita tersimpan: {total}\n{body}")


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _reply(update, "Perintah tidak dikenal. Ketik /bantuan untuk daftar perintah.")


async def chat_migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup: Telegram says so once, in the old group."""
    old, new = update.effective_message.chat_id, update.effective_message.migrate_to_chat_id
    if new and await services(context).subscriptions.move(old, new):
        log.info("chat %s moved to %s; its subscriptions follow", old, new)


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Blocked in a private chat, or removed from a group: stop pushing there."""
    change = update.my_chat_member
    if change.new_chat_member.status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        return
    if gone := await services(context).subscriptions.remove_chat(change.chat.id):
        log.info("chat %s removed the bot; unsubscribed from %s", change.chat.id, ", ".join(gone))


COMMANDS = [
    (("start",), start),
    (("terbaru", "latest"), latest),
    (("kategori", "categories"), categories),
    (("langganan", "subscribe"), subscribe),
    (("berhenti", "unsubscribe"), unsubscribe),
    (("status",), status),
    (("bantuan", "help"), help_),
    (("id",), ids),
    (("sumber", "sources"), sources),
    (("statistik", "stats"), stats),
]

# Shown in Telegram's command menu (admin commands stay out of it).
MENU = [
    ("terbaru", "Berita terbaru"),
    ("kategori", "Daftar kategori"),
    ("langganan", "Berlangganan berita baru"),
    ("berhenti", "Berhenti berlangganan"),
    ("status", "Langganan chat ini"),
    ("senyap", "Jam senyap, misalnya 22-6"),
    ("cari", "Cari berita"),
    ("ringkasan", "Ringkasan harian"),
    ("id", "ID chat ini dan ID Anda"),
    ("bantuan", "Bantuan"),
]
MENU_EN = [
    ("latest", "Latest news"),
    ("categories", "Categories"),
    ("subscribe", "Get new posts here"),
    ("unsubscribe", "Stop new posts"),
    ("status", "This chat's subscriptions"),
    ("quiet", "Quiet hours, e.g. 22-6"),
    ("search", "Search the news"),
    ("digest", "One message a day"),
    ("id", "This chat's id and yours"),
    ("help", "Help"),
]


async def _reply(update: Update, text: str) -> None:
    """Answer in the chat; in a group, as a reply, so it is clear whom it answers."""
    chat, message = update.effective_chat, update.effective_message
    quote = None
    if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) and message is not None:
        quote = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    topic = message is not None and message.is_topic_message
    await chat.send_message(
        text,
        parse_mode="HTML",
        link_preview_options=NO_PREVIEW,
        reply_parameters=quote,
        message_thread_id=message.message_thread_id if topic else None,
    )


def _slug(name: str) -> str | None:
    try:
        return slugify(name)
    except ValueError:
        return None


async def _category(s: Services, name: str) -> Category | None:
    slug = _slug(name)
    return await s.store.category(slug) if slug else None


async def _not_found(s: Services, name: str) -> str:
    return messages.unknown_category(name, await s.store.categories())


async def _chosen_slugs(
    update: Update, context: ContextTypes.DEFAULT_TYPE, with_keywords: bool = False
) -> tuple[list[str], str] | None:
    """The category named in the arguments ([] for none given) and, `with_keywords`,
    the words after it; None when it is unknown or this user may not change the
    chat's subscriptions."""
    s = services(context)
    if not await _may_manage(update, context):
        await _reply(update, "Maaf, hanya admin grup yang bisa mengubah langganan grup ini.")
        return None
    args = list(context.args or [])
    if not args:
        return [], ""
    # The category is the longest run of leading words naming one; keywords follow.
    longest = min(len(args), MAX_NAME_WORDS) if with_keywords else len(args)
    for n in range(longest, 0, -1):
        if n > 1 and not all(_slug(word) for word in args[1:n]):
            continue  # "kaltara ..." is the category and bad keywords, not a category
        slugs = await _known_slug(s, " ".join(args[:n]).rstrip(","))
        if slugs is not None:
            return slugs, " ".join(args[n:])
    name = args[0].rstrip(",") if with_keywords else " ".join(args)
    text = await _not_found(s, name)
    if with_keywords and len(args) > 1:
        text += "\n\n" + alert_messages.KEYWORDS_FORM
    await _reply(update, text)
    return None


async def _known_slug(s: Services, name: str) -> list[str] | None:
    if name.lower() in EVERYTHING:
        return [ALL]
    slug = _slug(name)
    # A default category counts before it has posts.
    if slug and (slug in s.default_slugs or await s.store.category(slug)):
        return [slug]
    return None


async def _names(s: Services) -> dict[str, str]:
    known = {slugify(n): n for n in s.settings.telegram.push_categories}
    known.update({c.slug: c.name for c in await s.store.categories()})
    return known


async def _status(s: Services, chat_id: str, known: dict[str, str]) -> str:
    text = alert_messages.status(await s.subscriptions.settings_of(chat_id), known)
    setting = await digests.Digests(s.subscriptions.redis).get(chat_id)
    return text + ("\n" + digests.told(setting) if setting else "")


async def _may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In a group, only its admins (or ours) decide what the whole group receives."""
    chat, message = update.effective_chat, update.effective_message
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP) or _is_admin(update, context):
        return True
    if message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous group admin writes as the group itself
    try:
        member = await chat.get_member(update.effective_user.id)
    except (TelegramError, AttributeError, TypeError, KeyError, ValueError) as exc:
        # The worst a wrong "yes" does is subscribe a group to news; a wrong "no"
        # locks every group out while Telegram cannot say who is an admin.
        log.warning("chat %s: cannot check the sender is an admin (%s); allowed", chat.id, exc)
        return True
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).settings.telegram.admins


async def _admin_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    if _is_admin(update, context):
        return True
    await _reply(update, "Maaf, perintah ini hanya untuk admin.")
    return False
