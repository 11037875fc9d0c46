"""A fake Bot API on a loop of its own, for tests that drive a bot subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from tests.fakes.telegram_api import FakeTelegram

T = TypeVar("T")


class Threaded:
    """A FakeTelegram serving from an event loop in a thread of its own.

    For tests and benches whose bot is another process: the fake keeps answering
    while the test blocks. `run` and `call` act on the fake inside its loop;
    plain reads of `fake.sent` and friends are safe from any thread.
    """

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-telegram")
        self._ready = threading.Event()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.fake.start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Bot API did not start")

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def inside() -> Any:
            return fn(*args, **kwargs)

        return self.run(inside())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.fake.close(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def in_thread(fake: FakeTelegram | None = None) -> Iterator[Threaded]:
    """A started `Threaded` fake, stopped on the way out."""
    threaded = Threaded(fake or FakeTelegram())
    threaded.start()
    try:
        yield threaded
    finally:
        threaded.stop()
