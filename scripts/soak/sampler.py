"""Readings once a second while the soak runs: each replica's RSS (psutil) and its
database connections (``pg_stat_activity``, matched to the replica's sockets), and
the RSS growth of each replica process after its warm-up, computed from them."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections import Counter

import asyncpg
import psutil

from scripts.soak.chaos import SOAK_APPLICATION
from scripts.soak.records import RssGrowth, Sample
from scripts.soak.replicas import ReplicaSet

INTERVAL_S = 1.0
# Samples averaged (median) at each end of a process's measured window.
EDGE_SAMPLES = 5

_OUR_CONNECTIONS = """
SELECT client_port FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'playground%'
"""


def _local_ports(pid: int, server_port: int) -> set[int]:
    """Local ports of ``pid``'s TCP connections to the database server's port."""
    with contextlib.suppress(psutil.Error):
        return {
            c.laddr.port
            for c in psutil.Process(pid).net_connections(kind="tcp")
            if c.raddr and c.raddr.port == server_port
        }
    return set()


def _rss_mb(pid: int) -> float | None:
    with contextlib.suppress(psutil.Error):
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    return None


class Sampler:
    """Samples the replicas every second until told to stop."""

    def __init__(self, replicas: ReplicaSet, database_url: str, start: float) -> None:
        self.replicas = replicas
        self.database_url = database_url
        self.start = start
        self.samples: list[Sample] = []

    async def run(self, stop: asyncio.Event) -> None:
        """Sample now and every second after, until ``stop`` is set."""
        connection = await asyncpg.connect(
            self.database_url, server_settings={"application_name": SOAK_APPLICATION}
        )
        try:
            # None over a Unix socket: then connections cannot be told apart per replica.
            server_port = await connection.fetchval("SELECT inet_server_port()")
            while not stop.is_set():
                self.samples.append(await self._sample(connection, server_port))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), INTERVAL_S)
        finally:
            await connection.close()

    async def _sample(self, connection: asyncpg.Connection, server_port: int | None) -> Sample:
        ports = Counter(row["client_port"] for row in await connection.fetch(_OUR_CONNECTIONS))
        count = len(self.replicas.services)
        pids = [self.replicas.pid(index) for index in range(count)]
        connections: list[int | None] = []
        for pid in pids:
            if pid is None or server_port is None:
                connections.append(None if server_port is None else 0)
                continue
            connections.append(sum(ports[port] for port in _local_ports(pid, server_port)))
        return Sample(
            t=asyncio.get_running_loop().time() - self.start,
            pids=pids,
            rss_mb=[None if pid is None else _rss_mb(pid) for pid in pids],
            connections=connections,
            database_total=sum(ports.values()),
        )


def rss_growth(samples: list[Sample], warmup_s: float) -> list[RssGrowth]:
    """Per replica process (a replica restarted is a new one), RSS from the end of its
    warm-up to its last samples (medians of five at each end); processes too short-lived
    for ten samples after their warm-up are left out."""
    lives: dict[tuple[int, int], list[tuple[float, float]]] = {}
    born: dict[tuple[int, int], float] = {}
    for sample in samples:
        for replica, (pid, rss) in enumerate(zip(sample.pids, sample.rss_mb, strict=True)):
            if pid is None or rss is None:
                continue
            key = (replica, pid)
            born.setdefault(key, sample.t)
            if sample.t >= born[key] + warmup_s:
                lives.setdefault(key, []).append((sample.t, rss))
    growth = []
    for (replica, pid), points in sorted(lives.items(), key=lambda item: item[1][0][0]):
        if len(points) < 2 * EDGE_SAMPLES:
            continue
        growth.append(
            RssGrowth(
                replica=replica,
                pid=pid,
                from_s=points[0][0],
                to_s=points[-1][0],
                start_mb=statistics.median(rss for _, rss in points[:EDGE_SAMPLES]),
                end_mb=statistics.median(rss for _, rss in points[-EDGE_SAMPLES:]),
            )
        )
    return growth
