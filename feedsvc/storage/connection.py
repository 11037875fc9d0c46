"""Build a `redis.asyncio` client from a URL: standalone, Sentinel or Cluster.

URL forms:
- `redis://[:password@]host:port/db`, `rediss://…` (TLS), `unix:///path/redis.sock`
- `redis+sentinel://[:password@]host1:26379,host2:26379/service_name[/db]`
- `redis+cluster://[:password@]host1:port1[,host2:port2...]` (`rediss+cluster://` for
  TLS): one or more startup nodes; the client learns the others from the cluster
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Short timeouts: /healthz must answer quickly while Redis is away, and the
# pollers retry on their own schedule anyway. `redis.timeout` sets the command
# timeout of the service's clients.
DEFAULT_TIMEOUT = 2.0
CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 2,
    "health_check_interval": 15,
}


def _options(timeout: float) -> dict[str, Any]:
    return {**CLIENT_OPTIONS, "socket_timeout": timeout}


def _retry() -> Retry:
    # Not on a timeout: the command may have run, and a resent HSETNX or INCR would
    # answer for a second run (and a frozen Redis would cost 3x redis.timeout a call).
    return Retry(
        ExponentialWithJitterBackoff(base=0.05, cap=0.5),
        retries=2,
        supported_errors=(RedisConnectionError,),
    )


def client_from_url(url: str, timeout: float = DEFAULT_TIMEOUT) -> Redis:
    """A client for `url` whose commands time out after `timeout` s; connects on first use."""
    parts = urlsplit(url)
    if parts.scheme.endswith("+cluster"):
        return _cluster(parts, timeout)  # type: ignore[return-value]
    if parts.scheme == "redis+sentinel":
        return _sentinel_master(parts, timeout)
    return Redis.from_url(url, retry=_retry(), **_options(timeout))


def raise_if_cancelled() -> None:
    """Raise the cancellation a Redis call swallowed.

    On Python 3.11, `asyncio.wait_for` (which redis-py sends every command through)
    drops a cancellation that arrives just as the command completes. A loop that runs
    until it is cancelled calls this after its Redis calls, or it might never stop.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def unix_client(socket_path: str, timeout: float = DEFAULT_TIMEOUT) -> Redis:
    return Redis(unix_socket_path=socket_path, retry=_retry(), **_options(timeout))


SLOTS = 16384  # hash slots of a Redis Cluster


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


class ClusterUnavailableError(RedisConnectionError):
    """No node of the cluster answers, or not every hash slot has a node."""


class _Cluster(RedisCluster):
    """A RedisCluster whose "cluster unavailable" is a ConnectionError, as a down server is.

    redis-py raises RedisClusterException (not a RedisError) when no node answers or
    the slots are not all served; every loop that rides out an outage catches
    RedisError, so without this a cluster outage would end them. A command that
    timed out is not sent again, as on a single server (see `_retry`).
    """

    ERRORS_ALLOW_RETRY = tuple(
        error for error in RedisCluster.ERRORS_ALLOW_RETRY if error is not RedisTimeoutError
    )

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        try:
            return await super().initialize(*args, **kwargs)
        except RedisClusterException as exc:
            raise ClusterUnavailableError(str(exc)) from exc


async def check_cluster(client: RedisCluster) -> str | None:
    """What keeps the cluster from serving us, in a few words; None when it is ready."""
    try:
        await client.initialize()
        info = await client.cluster_info()
    except ClusterUnavailableError as exc:
        return _cluster_problem(str(exc))
    if info.get("cluster_state") != "ok":
        return f"it is down (cluster_state {info.get('cluster_state')})"
    return None


async def silent_primaries(client: RedisCluster, patience: float) -> dict[str, int]:
    """The primaries that do not answer a PING within `patience` seconds: name -> hash slots it
    serves. ClusterUnavailableError when none answers.

    Each node is asked directly, not through the cluster client, which would retry
    and rebuild its slot map instead of saying that one node is away.
    """
    await client.initialize()
    nodes = client.get_primaries()
    answered = await asyncio.gather(*(_answers(node, patience) for node in nodes))
    if not any(answered):
        raise ClusterUnavailableError(f"no node answers ({', '.join(n.name for n in nodes)})")
    slots = client.nodes_manager.slots_cache
    return {
        node.name: sum(1 for held in slots.values() if held and held[0].name == node.name)
        for node, ok in zip(nodes, answered, strict=True)
        if not ok
    }


async def _answers(node: ClusterNode, patience: float) -> bool:
    try:
        async with asyncio.timeout(patience):
            await node.execute_command("PING")
    except (RedisError, OSError, TimeoutError):
        return False
    return True


def _cluster_problem(text: str) -> str:
    text = text.strip().rstrip(".")
    if "not covered" in text:
        covered = re.search(r"(\d+) of (\d+) covered", text)
        count = f": {covered[1]} of {covered[2]} have a node" if covered else ""
        return f"not every hash slot is served{count}"
    if "cluster mode is not enabled" in text.lower():
        return "it is not a cluster (use redis:// for a single server)"
    detail = text.partition("reachable node: ")[2] or text
    return f"no node answers ({detail})"


def _cluster(parts: Any, timeout: float) -> RedisCluster:
    auth, _, hosts = parts.netloc.rpartition("@")
    first, *others = hosts.split(",")
    plain = urlunsplit(
        parts._replace(
            scheme=parts.scheme.removesuffix("+cluster"),
            netloc=f"{auth}@{first}" if auth else first,
        )
    )
    return _Cluster.from_url(
        plain,
        startup_nodes=[ClusterNode(*_host_port(node, 6379)) for node in others],
        # Patch the slot map on MOVED instead of rebuilding it every 5th time:
        # redis-py (8.1) rebuilds by closing every connection, in-use ones too,
        # which breaks the commands other tasks have in flight on them.
        reinitialize_steps=0,
        retry=_retry(),
        **_options(timeout),
    )


def _host_port(node: str, default_port: int) -> tuple[str, int]:
    host, _, port = node.rpartition(":")
    return (host, int(port)) if host else (node, default_port)


def _sentinel_master(parts: Any, timeout: float) -> Redis:
    hosts = parts.netloc.rsplit("@", 1)[-1]
    password = unquote(parts.password) if parts.password else None
    nodes = [_host_port(node, 26379) for node in hosts.split(",")]
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("a redis+sentinel URL needs the service name as its path")
    db = int(path[1]) if len(path) > 1 else 0
    sentinel = Sentinel(
        nodes, sentinel_kwargs={"password": password}, password=password, **_options(timeout)
    )
    return sentinel.master_for(path[0], db=db, retry=_retry())


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error pages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
