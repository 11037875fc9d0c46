"""The Telegram side of feedsvc: commands and push delivery."""

import os

# python-telegram-bot 22 gives durations (a 429's retry_after) as timedeltas only when
# asked to, and warns on every RetryAfter otherwise; v23 makes timedeltas the default.
os.environ.setdefault("PTB_TIMEDELTA", "1")
