"""nginx for the benchmarks: serving feedsvc's bytes as static files, or the shipped
feed cache (deploy/nginx/feedsvc-locations.conf, included as it is) in front of
feedsvc web processes; and `nginx -t` of the shipped TLS site.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
from pathlib import Path

from harness import Children, children_of, free_port, wait_http

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "nginx"


def find_nginx(parser: argparse.ArgumentParser, given: str) -> str:
    # Debian puts nginx in sbin, which is not on an ordinary user's PATH.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = given or shutil.which("nginx", path=search) or ""
    if not found or not Path(found).is_file():
        parser.error("nginx not found: apt-get install nginx, or pass --nginx PATH")
    return found


async def nginx_version(nginx: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        nginx, "-v", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return out.decode().strip().rpartition("/")[2] or "?"


def _main_conf(tmp: Path, name: str, http: str) -> Path:
    temp = tmp / f"{name}-temp"
    temp.mkdir(exist_ok=True)
    temps = "\n".join(
        f"    {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / f"{name}.conf"
    conf.write_text(
        f"""worker_processes 2;
daemon off;
pid {tmp / f"{name}.pid"};
error_log {tmp / f"{name}-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 100000000;
{temps}
{http}
}}
"""
    )
    return conf


def static_conf(tmp: Path, port: int, root: Path) -> Path:
    """The feed's bytes as files: kaltara.rss, and feedsvc's gzip body as kaltara.rss.gz."""
    return _main_conf(
        tmp,
        "nginx-static",
        f"""    types {{ application/rss+xml rss; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
        gzip_static on;
        gzip_vary on;
        location / {{ add_header Cache-Control "public, max-age=60"; }}
    }}""",
    )


def cache_conf(tmp: Path, port: int, upstream_port: int) -> Path:
    """The shipped site's http-level part and its locations, in plain HTTP."""
    site = (DEPLOY / "feedsvc.conf").read_text()
    cache = tmp / "nginx-cache"
    map_block = site[site.index("map $http_accept_encoding") : site.index("}", site.index("map "))]
    return _main_conf(
        tmp,
        "nginx-cache",
        # sendfile and tcp_nopush as Debian's nginx.conf sets them for every site.
        f"""    sendfile on;
    tcp_nopush on;
    proxy_cache_path {cache} levels=1:2 keys_zone=feedsvc:10m max_size=256m
                     inactive=1h use_temp_path=off;
    {map_block}}}
    upstream feedsvc_web {{
        server 127.0.0.1:{upstream_port};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        include {DEPLOY / "feedsvc-locations.conf"};
    }}""",
    )


def check_shipped_site(nginx: str, tmp: Path) -> str:
    """`nginx -t` on deploy/nginx/feedsvc.conf with a throwaway certificate and paths."""
    if not shutil.which("openssl"):
        return "not checked: openssl not found"
    where = tmp / "site-check"
    (where / "snippets").mkdir(parents=True, exist_ok=True)
    key, cert = where / "key.pem", where / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=berita.example.id", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "feedsvc.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/berita.example.id/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/berita.example.id/privkey.pem", str(key))
    site = site.replace("/var/cache/nginx/feedsvc", str(where / "cache"))
    site = site.replace("snippets/feedsvc-locations.conf", str(DEPLOY / "feedsvc-locations.conf"))
    (where / "feedsvc.conf").write_text(site)
    conf = _main_conf(where, "nginx-site", f"    include {where / 'feedsvc.conf'};")
    done = subprocess.run(
        [nginx, "-t", "-q", "-p", str(where), "-c", str(conf)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"nginx -t refused deploy/nginx/feedsvc.conf:\n{done.stderr}")
    return "nginx -t: ok"


async def start(children: Children, nginx: str, tmp: Path, conf: Path, url: str) -> list[int]:
    """Start nginx on `conf` and wait until `url` answers 200; its pids (master, workers)."""
    name = conf.stem
    proc = await children.start(name, [nginx, "-c", str(conf), "-p", str(tmp)], tmp / f"{name}.log")
    await wait_http(url, proc, name)
    return [proc.pid, *children_of(proc.pid)]


def static_site(tmp: Path, rss: bytes, rss_gz: bytes, category: str) -> tuple[Path, int]:
    """The files and a port for static_conf."""
    www = tmp / "www"
    (www / "feeds").mkdir(parents=True, exist_ok=True)
    (www / "feeds" / f"{category}.rss").write_bytes(rss)
    (www / "feeds" / f"{category}.rss.gz").write_bytes(rss_gz)
    for path in (tmp, www, www / "feeds"):
        path.chmod(0o755)  # nginx workers run as an unprivileged user when started as root
    return www, free_port()
