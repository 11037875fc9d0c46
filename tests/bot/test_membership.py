"""Chat membership end to end: a group that becomes a supergroup keeps its subscriptions,
and a group the bot was removed from is unsubscribed.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.subscriptions import Subscriptions
from tests.bot.helpers import NOW, not_, until


async def test_group_migration_message_moves_subscriptions(telegram, redis: Redis, running) -> None:
    subs = Subscriptions(redis)
    await subs.add(-777, ["kaltara"])
    telegram.add_update(
        {
            "message": {
                "message_id": 9,
                "date": int(NOW.timestamp()),
                "chat": {"id": -777, "type": "group", "title": "Grup"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "migrate_to_chat_id": -100777,
            }
        }
    )
    await until(lambda: subs.of_chat(-100777))
    assert await subs.of_chat(-777) == set()


async def test_removed_from_a_group_unsubscribes(telegram, redis: Redis, running) -> None:
    subs = Subscriptions(redis)
    await subs.add(-888, ["kaltara"])
    member = {"user": {"id": telegram.bot_id, "is_bot": True, "first_name": "Bot"}}
    telegram.add_update(
        {
            "my_chat_member": {
                "chat": {"id": -888, "type": "supergroup", "title": "Grup"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "date": int(NOW.timestamp()),
                "old_chat_member": {**member, "status": "member"},
                "new_chat_member": {**member, "status": "left"},
            }
        }
    )
    await until(lambda: not_(subs.of_chat(-888)))
