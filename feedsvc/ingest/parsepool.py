"""Processes that parse large feeds and pages, each within a memory and CPU-time limit.

A hostile document can make a parser hungry: a megabyte of unclosed tags takes
feedparser's forgiving parser to hundreds of MiB and tens of seconds. In a worker
with an address-space limit (`poll.parse_memory_mb`) and a CPU-time limit per
parse, such a document fails its own poll ("too large to parse") and nothing
else: the feedsvc process never holds it, and a worker that dies is replaced.
Workers are killed by the kernel when feedsvc dies, however it dies.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import math
import multiprocessing
import os
import resource
import signal
import sys
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from types import FrameType
from typing import TypeVar

from feedsvc.ingest.parse import ParseError

log = logging.getLogger(__name__)

T = TypeVar("T")
PARSE_CPU_SECONDS = 10.0  # a 5 MB feed parses in well under a second
WALL_SLACK_SECONDS = 20.0  # starting a worker on a busy machine
_PR_SET_PDEATHSIG = 1


class ParsePool:
    """`run(call)`: `call()` in a worker process; started on first use."""

    def __init__(
        self, processes: int, *, memory_mb: int, cpu_seconds: float = PARSE_CPU_SECONDS
    ) -> None:
        self.processes = processes
        self.memory_mb = memory_mb
        self.cpu_seconds = cpu_seconds
        # The CPU limit cannot catch a worker that is stuck without spending CPU
        # (seen once: a worker at its memory limit that never answered).
        self.wall_seconds = 3 * cpu_seconds + WALL_SLACK_SECONDS
        self._executor: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(processes)  # the wall clock starts at the worker
        self.replaced = 0  # workers lost and replaced, for tests and logs

    async def run(self, call: Callable[[], T]) -> T:
        """`call()`'s result; ParseError when it needs more memory or CPU than allowed."""
        loop = asyncio.get_running_loop()
        # A dying worker fails every parse then in its pool, not only its own: each
        # gets a second try on a fresh pool, and only a second death is its fault.
        for _ in range(2):
            async with self._slots:
                executor = self._pool()
                work = loop.run_in_executor(executor, _limited, call, self.cpu_seconds)
                try:
                    return await asyncio.wait_for(work, self.wall_seconds)
                except BrokenExecutor:
                    self._replace(executor)
                except TimeoutError:
                    self._kill(executor)
                    raise ParseError(
                        f"too large to parse: no answer from the parse process within "
                        f"{self.wall_seconds:g} s (near poll.parse_memory_mb="
                        f"{self.memory_mb} or {self.cpu_seconds:g} s of CPU)"
                    ) from None
        raise ParseError(
            f"too large to parse: the parse process died (over poll.parse_memory_mb="
            f"{self.memory_mb} or {self.cpu_seconds:g} s of CPU)"
        )

    def shutdown(self, *, wait: bool = False) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.processes,
                # spawn: no forked copy of our event loop and sockets.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(), self.memory_mb * 1024 * 1024),
            )
        return self._executor

    def _replace(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is not executor:
            return  # another parse replaced it already
        self.replaced += 1
        log.warning("a parse process died (out of memory or time); starting a new one")
        executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None

    def _kill(self, executor: ProcessPoolExecutor) -> None:
        """Stop a pool whose worker hangs: the executor cannot cancel a running call."""
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        self._replace(executor)


# --- in the worker -----------------------------------------------------------------


class _OutOfTime(BaseException):
    """Not an Exception: parsers that catch everything must not swallow it."""


_parsing = False


def _start_worker(parent: int, memory_bytes: int) -> None:
    # A Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGXCPU, _out_of_time)


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when feedsvc exits (Linux), even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(0)


def _out_of_time(signum: int, frame: FrameType | None) -> None:
    if _parsing:
        raise _OutOfTime


def _limited(call: Callable[[], T], cpu_seconds: float) -> T:
    """`call()` with SIGXCPU due `cpu_seconds` of CPU time from now."""
    global _parsing
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(used + cpu_seconds), hard))
    _parsing = True
    try:
        return call()
    except MemoryError:
        raise ParseError("too large to parse: over poll.parse_memory_mb") from None
    except _OutOfTime:
        raise ParseError(f"too large to parse: over {cpu_seconds:g} s of CPU") from None
    finally:
        _parsing = False
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
