"""Push delivery: article events in, one Telegram message per (article, chat) out
(and its corrections).

- `consumer.py`: the event consumer. Reads the store's event stream through the
  `telegram` consumer group, acknowledges an event once every recipient is done,
  takes over the events of bot processes that died, hands its own back when it
  stops, and waits out Redis outages.
- `push.py`: one event's fan-out, and the send path: recipients, the rate-limit
  slot, the claim, the message (method and arguments), and acting on the outcome.
- `corrections.py`: a pushed article changed or removed: its messages edited in
  place, through the same send path.
- `ledger.py`: the delivery ledger in Redis: claims, outcomes, message ids.
- `outcomes.py`: pure: what happens after a send, from Telegram's answer.
"""
