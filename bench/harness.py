"""What the benchmarks share: child processes, waiting for them, load, CPU time.

Every process a bench starts dies with it (even on SIGKILL: PR_SET_PDEATHSIG)
and is stopped in reverse order at the end. Load comes from wrk (Debian's
package) or, without it, from an aiohttp client in a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import re
import resource
import signal
import socket
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aiohttp

START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child when this bench dies, even by SIGKILL.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Children:
    """Every process this bench starts; `stop_all` ends them, newest first."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, asyncio.subprocess.Process]] = []

    async def start(
        self,
        name: str,
        argv: list[str],
        log: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> asyncio.subprocess.Process:
        out = log.open("ab") if log else asyncio.subprocess.DEVNULL
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT if log else asyncio.subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C reaches only us; we stop them in order
                preexec_fn=_die_with_parent,
            )
        finally:
            if log:
                out.close()  # type: ignore[union-attr]
        self.procs.append((name, proc))
        return proc

    async def stop_all(self) -> None:
        while self.procs:
            name, proc = self.procs.pop()
            if proc.returncode is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()  # feedsvc and nginx both stop cleanly on SIGTERM
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                print(f"{name} did not stop in {STOP_TIMEOUT:.0f}s; killing it", file=sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def feedsvc_command() -> list[str]:
    script = Path(sys.executable).parent / "feedsvc"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "feedsvc"]


async def wait_listening(logs: list[Path], procs: list[asyncio.subprocess.Process]) -> None:
    """Until every process logged that it listens; a process that exits is an error."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.returncode is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"{log.name}: exited with {proc.returncode}\n{tail}")
        if all(log.exists() and "listening on" in log.read_text(errors="replace") for log in logs):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(
        f"not listening within {START_TIMEOUT:.0f}s: see {', '.join(map(str, logs))}"
    )


async def wait_http(url: str, proc: asyncio.subprocess.Process, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url} within {START_TIMEOUT:.0f}s")


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


async def fetch(url: str, headers: dict[str, str] | None = None) -> Fetched:
    """One request on a new connection; the body as sent (no decompression)."""
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers={"Accept-Encoding": "identity", **(headers or {})}) as r,
    ):
        return Fetched(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())


@dataclass(frozen=True)
class Load:
    rps: float
    p99_ms: float
    requests: int
    errors: str  # "" when wrk reported none


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> Load:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\b", output, re.M)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p99 and total):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    problems = re.findall(r"(Socket errors:.*|Non-2xx or 3xx responses:.*)", output)
    return Load(
        rps=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * _UNITS_MS[p99.group(2)],
        requests=int(total.group(1)),
        errors="; ".join(p.strip() for p in problems),
    )


async def run_wrk(
    url: str, headers: dict[str, str], seconds: int, args: argparse.Namespace
) -> Load:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    if args.wrk_cpus:
        argv = ["taskset", "-c", args.wrk_cpus, *argv]
    proc = await asyncio.create_subprocess_exec(
        *argv, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{out.decode(errors='replace')}")
    return parse_wrk(out.decode())


def aiohttp_load(url: str, headers: dict[str, str], seconds: float, connections: int) -> Load:
    """The fallback load generator; runs in its own process, like wrk would."""

    async def main() -> Load:
        latencies: list[float] = []
        failures = 0
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            deadline = time.perf_counter() + seconds

            async def client() -> None:
                nonlocal failures
                while (started := time.perf_counter()) < deadline:
                    try:
                        async with session.get(url, headers=headers) as r:
                            await r.read()
                            if r.status >= 400:
                                failures += 1
                    except aiohttp.ClientError:
                        failures += 1
                    latencies.append(time.perf_counter() - started)

            began = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(connections)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
        errors = f"{failures} requests failed" if failures else ""
        return Load(len(latencies) / elapsed, p99 * 1000, len(latencies), errors)

    return asyncio.run(main())


async def drive(url: str, headers: dict[str, str], seconds: int, args: argparse.Namespace) -> Load:
    if args.client == "wrk":
        return await run_wrk(url, headers, seconds, args)
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter, no inherited loop
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return await loop.run_in_executor(
            pool, aiohttp_load, url, headers, seconds, args.connections
        )


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def children_cpu() -> float:
    """CPU time of reaped children (wrk, or the aiohttp client's process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
