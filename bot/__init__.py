"""The Telegram side of feedsvc: commands and push delivery.

Telegram updates (polling or webhook) and the store's new-article events in;
command answers and one push per (article, chat) out, within Telegram's limits.
Reads the core (storage, config); the core never imports this package, the
composition root (feedsvc/app.py, lifecycle.py) wires it in.
"""

import os

# python-telegram-bot 22 gives durations (a 429's retry_after) as timedeltas only when
# asked to, and warns on every RetryAfter otherwise; v23 makes timedeltas the default.
os.environ.setdefault("PTB_TIMEDELTA", "1")
