"""The fake Telegram Bot API (tests/fakes/telegram_api.py) against the real PTB client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import telegram
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_html import check_text
from tests.fakes.telegram_thread import in_thread
from tests.fakes.telegram_wire import Limits


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:  # initialize: getMe
        yield bot


async def test_get_me(fake: FakeTelegram, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == 123456
    assert me.username == "kaltara_test_bot"
    assert me.can_join_groups
    assert bot.username == "kaltara_test_bot"
    assert fake.calls[0] == ("getMe", {})


async def test_send_message_is_recorded_with_decoded_params(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Baca", url="https://example.com/a")]])
    msg = await bot.send_message(
        -100123,
        "<b>42</b>",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        disable_notification=True,
    )
    assert msg.chat.id == -100123
    assert msg.chat.type == "supergroup"
    assert msg.text == "<b>42</b>"
    assert msg.reply_markup == markup

    [sent] = fake.sent
    assert sent.chat_id == -100123
    assert sent.text == "<b>42</b>"
    assert sent.parse_mode == "HTML"
    assert sent.params["disable_notification"] is True
    assert sent.params["link_preview_options"] == {"is_disabled": True}
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Baca"
    assert sent.at <= time.monotonic()


async def test_texts_that_look_like_json_stay_strings(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    # On the wire PTB sends the string "42" and the int 42 alike; text must stay a string.
    await bot.send_message(7, "42")
    await bot.send_message("@kaltara_news", "true")
    one, two = await fake.wait_sent(2)
    assert (one.chat_id, one.text) == (7, "42")
    assert (two.chat_id, two.text) == ("@kaltara_news", "true")
    assert fake.sent_to("7") == [one]
    assert fake.sent_to("@kaltara_news") == [two]


async def test_message_ids_increase_and_chat_types_follow_ids(bot: telegram.Bot) -> None:
    private = await bot.send_message(5, "a")
    group = await bot.send_message(-5, "b")
    channel = await bot.send_message("@kaltara_news", "c")
    assert private.message_id < group.message_id < channel.message_id
    assert [m.chat.type for m in (private, group, channel)] == ["private", "supergroup", "channel"]
    assert channel.chat.username == "kaltara_news"


async def test_get_updates_returns_queued_command(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.command(-4001, "/terbaru@kaltara_test_bot kaltara 3", user_id=77, chat_type="group")
    [update] = await bot.get_updates(timeout=0)
    msg = update.message
    assert msg.chat.id == -4001
    assert msg.chat.type == "group"
    assert msg.from_user.id == 77
    assert msg.text == "/terbaru@kaltara_test_bot kaltara 3"
    [(entity, command)] = msg.parse_entities(["bot_command"]).items()
    assert command == "/terbaru@kaltara_test_bot"
    assert entity.offset == 0


async def test_get_updates_honours_offset_and_limit(fake: FakeTelegram, bot: telegram.Bot) -> None:
    for i in range(3):
        fake.command(10, f"/start {i}")
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first] == ["/start 0", "/start 1"]
    # Confirming through the offset drops those updates for good.
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest] == ["/start 2"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert fake.updates == []


async def test_get_updates_long_polls_and_wakes_on_new_update(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()  # the fake caps the wait at 1 s
    assert 0.9 < time.monotonic() - started < 3

    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    fake.command(10, "/start")
    [update] = await poll
    assert update.message.text == "/start"
    assert time.monotonic() - started < 0.5


async def test_flood_error_is_retry_after(
    fake: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 warns about int retry_after unless opted in to timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.fail(10, "flood", retry_after=7)
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(10, "hi")
    assert err.value.retry_after == timedelta(seconds=7)
    await bot.send_message(10, "hi")  # times=1: the next one goes through
    assert [m.text for m in fake.sent] == ["hi"]
    assert len(fake.calls_to("sendMessage")) == 2


async def test_blocked_error_is_forbidden_forever(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.fail(10, "blocked", times=-1)
    for _ in range(3):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(10, "hi")
    await bot.send_message(11, "other chats still work")
    assert [m.chat_id for m in fake.sent] == [11]


async def test_migrated_error_is_chat_migrated(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.fail(-42, "migrated", migrate_to=-100042)
    with pytest.raises(ChatMigrated) as err:
        await bot.send_message(-42, "hi")
    assert err.value.new_chat_id == -100042


async def test_not_found_error_is_bad_request(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.fail("@gone", "not_found", times=2)
    for _ in range(2):
        with pytest.raises(BadRequest, match="Chat not found"):  # PTB strips "Bad Request: "
            await bot.send_message("@gone", "hi")
    await bot.send_message("@gone", "hi")
    assert len(fake.sent_to("@gone")) == 1


async def test_every_fifth_send_is_a_bad_gateway(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.fail_every(5)
    failed = []
    for chat in range(1, 11):
        try:
            await bot.send_message(chat, "hi")
        except NetworkError as exc:
            assert "Bad Gateway (502)" in exc.message
            failed.append(chat)
    assert failed == [5, 10]
    assert sorted(fake.counts()) == [1, 2, 3, 4, 6, 7, 8, 9]
    assert [kind for kind, _, _ in fake.faults] == ["bad_gateway", "bad_gateway"]
    await bot.get_me()  # only sending calls count and fail
    assert len(fake.faults) == 2


async def test_a_reset_connection_is_a_network_error(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.fail_every(2, "reset")
    await bot.send_message(1, "hi")
    with pytest.raises(NetworkError, match="httpx"):
        await bot.send_message(2, "hi")
    await bot.send_message(3, "hi")  # a new connection
    assert list(fake.counts()) == [1, 3]
    assert len(fake.calls_to("sendMessage")) == 3


async def test_limits_count_by_arrival_and_answer_429(
    fake: FakeTelegram, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.limits = Limits(per_second=5, chat_interval=0.3, group_per_minute=2)
    await bot.send_message(1, "a")
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(1, "b")  # the same chat within its interval
    assert err.value.retry_after == timedelta(seconds=1)  # Telegram says whole seconds
    await asyncio.gather(*(bot.send_message(chat, "c") for chat in range(2, 6)))
    with pytest.raises(RetryAfter):
        await bot.send_message(6, "d")  # a sixth message within a second
    assert len(fake.floods) == 2 and fake.busiest_second() == 5
    await asyncio.sleep(1.05)  # the overall window moves on
    await bot.send_message(-100, "g1")
    await asyncio.sleep(0.35)
    await bot.send_message(-100, "g2")
    await asyncio.sleep(0.35)
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(-100, "g3")  # a group's third within the minute (limit 2)
    assert err.value.retry_after >= timedelta(seconds=56)
    assert fake.counts()[-100] == 2 and [c for c, _ in fake.floods] == [1, 6, -100]


def test_a_fake_in_its_own_thread_serves_a_blocking_caller() -> None:
    with in_thread() as threaded:
        fake = threaded.fake

        async def send() -> None:
            async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
                await bot.send_message(7, "dari luar")

        asyncio.run(send())  # another loop, as another process would be
        assert fake.counts() == {7: 1}
        threaded.call(fake.fail, 7, "blocked")
        assert fake._failures[7]


async def test_unknown_token_is_invalid_token(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:wrong", base_url=fake.base_url):
            pass
    assert fake.calls == []


async def test_webhook_and_commands(fake: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.set_webhook("https://example.com/hook", secret_token="s3cret", max_connections=5)
    assert fake.webhook["url"] == "https://example.com/hook"
    assert fake.webhook["secret_token"] == "s3cret"
    assert fake.webhook["max_connections"] == 5
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook()
    assert fake.webhook is None

    await bot.set_my_commands([BotCommand("terbaru", "Berita terbaru")])
    assert [c.command for c in await bot.get_my_commands()] == ["terbaru"]
    assert fake.commands() == [{"command": "terbaru", "description": "Berita terbaru"}]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_callback_query_and_channel_post(fake: FakeTelegram, bot: telegram.Bot) -> None:
    query_id = fake.callback(10, "more:kaltara", message_id=3)
    fake.message(-100900, "halo", chat_type="channel", title="Kaltara News")
    query, post = await bot.get_updates()
    assert query.callback_query.data == "more:kaltara"
    assert query.callback_query.message.message_id == 3
    assert post.channel_post.chat.title == "Kaltara News"
    assert await bot.answer_callback_query(query.callback_query.id, text="ok")
    assert fake.calls_to("answerCallbackQuery") == [{"callback_query_id": query_id, "text": "ok"}]


async def test_wait_sent_times_out_with_what_was_sent(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    await bot.send_message(1, "only one")
    with pytest.raises(AssertionError, match="only one"):
        await fake.wait_sent(2, timeout=0.2)


async def test_application_polls_and_replies(fake: FakeTelegram) -> None:
    # The whole PTB stack: ApplicationBuilder, Updater long polling, CommandHandler.
    from telegram.ext import ApplicationBuilder, CommandHandler

    async def terbaru(update: telegram.Update, context: object) -> None:
        await update.effective_message.reply_text(f"args: {' '.join(context.args)}")

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("terbaru", terbaru))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0)
        fake.command(-5, "/terbaru@kaltara_test_bot kaltara 3", chat_type="supergroup")
        [reply] = await fake.wait_sent(1)
        await app.updater.stop()
        await app.stop()
    assert (reply.chat_id, reply.text) == (-5, "args: kaltara 3")
    assert fake.calls_to("deleteWebhook")


@pytest.mark.parametrize(
    ("text", "parse_mode", "problem"),
    [
        ('<b><a href="https://x.id/?a=1&amp;b=2">A &amp; B</a></b>', "HTML", ""),
        ("<i>10 jam lalu</i> &lt;5% &#x27;", "HTML", ""),
        ("<p>paragraf</p>", "HTML", "unsupported start tag"),
        ("<b>tebal", "HTML", "is not closed"),
        ("<b><i>x</b></i>", "HTML", "unexpected end tag"),
        ("A & B", "HTML", "unescaped"),
        ("&nbsp;", "HTML", "unsupported entity"),
        ("A & B <p>", None, ""),
        ("x" * 4097, None, "message is too long"),
        ("<b>" + "x" * 4096 + "</b>", "HTML", ""),
    ],
)
def test_text_is_checked_as_telegram_does(text: str, parse_mode: str | None, problem: str) -> None:
    found = check_text(text, parse_mode)
    assert (problem in found) if problem else found == ""
