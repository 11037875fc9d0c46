"""The process-wide stop: begun once by `lifecycle.serve` on the first SIGTERM/SIGINT.

Long-running parts read it from `app[appkeys.SHUTDOWN]`: they stop taking new work
when `event` is set, and a part that drains (in-flight polls, claimed sends) keeps
within `time_left()`, leaving room for the parts stopped after it.
"""

from __future__ import annotations

import asyncio
import time


class Shutdown:
    """When the orderly stop began and how long it may take in all."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.event = asyncio.Event()
        self.deadline: float | None = None  # time.monotonic() by which the process is gone

    @property
    def started(self) -> bool:
        return self.event.is_set()

    def begin(self) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout
        self.event.set()

    def time_left(self) -> float:
        """Seconds until the stop must be done: the whole timeout before it began."""
        if self.deadline is None:
            return self.timeout
        return max(0.0, self.deadline - time.monotonic())

    async def wait(self) -> None:
        await self.event.wait()
