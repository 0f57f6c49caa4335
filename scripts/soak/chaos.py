"""The chaos beside the load: replicas SIGKILLed and restarted on a schedule, and once
every database connection of the replicas terminated (``pg_terminate_backend``).

Both run as tasks on the load's event loop and stop by themselves: no kill is
scheduled at or after the end of the load, and the connection kill happens once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from scripts.soak.replicas import ReplicaSet

# (kind, detail, replica index or None) -> recorded with its time in the run.
Record = Callable[[str, str, int | None], None]

# Every connection of our replicas to the soak's database: the pools' ("playground")
# and the LISTEN sessions ("playground:<instance>"); never the soak's own.
TERMINATE_REPLICA_CONNECTIONS = """
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'playground%'
  AND pid <> pg_backend_pid()
"""
SOAK_APPLICATION = "soak"


async def kill_replicas(
    replicas: ReplicaSet, every_s: float, start: float, end: float, record: Record
) -> None:
    """SIGKILL replica ``k mod n`` at ``start + (k+1)·every_s`` and restart it at once,
    while that time is before ``end`` (event-loop times; ``every_s`` 0: never)."""
    loop = asyncio.get_running_loop()
    kills = 0
    while every_s > 0 and start + (kills + 1) * every_s < end:
        await asyncio.sleep(start + (kills + 1) * every_s - loop.time())
        index = kills % len(replicas.services)
        pid = await asyncio.to_thread(replicas.kill, index)
        kills += 1
        record("kill", f"SIGKILL pid {pid}", index)
        try:
            new_pid = await asyncio.to_thread(replicas.restart, index)
        except RuntimeError as exc:
            # Users then find it down; the run goes on and the report says why.
            record("restart failed", str(exc).splitlines()[0], index)
            continue
        record("restart", f"pid {new_pid}", index)


async def kill_connections(database_url: str, at: float, record: Record) -> int:
    """At event-loop time ``at``, terminate every database connection of the replicas;
    how many there were."""
    await asyncio.sleep(at - asyncio.get_running_loop().time())
    connection = await asyncpg.connect(
        database_url, server_settings={"application_name": SOAK_APPLICATION}
    )
    try:
        count = int(await connection.fetchval(TERMINATE_REPLICA_CONNECTIONS))
    finally:
        await connection.close()
    record("connection kill", f"terminated {count} connections", None)
    return count
