"""This process's LISTEN connection: event, follow and cancel notifications, and liveness.

One dedicated asyncpg connection per process listens on the events and cancel
channels. It also tells other processes that this one is alive: it carries the
``application_name`` ``playground:<instance id>``, so a generation whose owner has
no such session in ``pg_stat_activity`` (the process was killed and its connections
closed) can be marked interrupted at once by any other process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

import anyio
import asyncpg

from api.generation.store import CANCEL_CHANNEL, EVENTS_CHANNEL, FOLLOW_CHANNEL
from db.urls import to_plain_url

logger = logging.getLogger(__name__)

APPLICATION_PREFIX = "playground:"


def liveness_name(instance_id: str) -> str:
    """The ``application_name`` of the LISTEN session of process ``instance_id``."""
    return APPLICATION_PREFIX + instance_id


class Notifications:
    """Wakes local followers of remote generations and delivers cancel requests."""

    def __init__(
        self,
        database_url: str,
        instance_id: str,
        on_cancel: Callable[[UUID], None],
        on_follow: Callable[[UUID], None],
    ) -> None:
        self._dsn = to_plain_url(database_url)
        self._instance_id = instance_id
        self._on_cancel = on_cancel
        self._on_follow = on_follow
        self._connection: asyncpg.Connection | None = None
        self._waiters: dict[UUID, anyio.Event] = {}

    async def connect(self) -> None:
        """Open the LISTEN connection, or open it again if it was lost (a server
        restart): without it this process would look dead to the others."""
        if self._connection is not None and not self._connection.is_closed():
            return
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": liveness_name(self._instance_id)}
        )
        await connection.add_listener(EVENTS_CHANNEL, self._on_event)
        await connection.add_listener(CANCEL_CHANNEL, self._on_cancel_request)
        await connection.add_listener(FOLLOW_CHANNEL, self._on_follow_request)
        self._connection = connection

    async def close(self) -> None:
        """Close the LISTEN connection."""
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    def waiter(self, generation_id: UUID) -> anyio.Event:
        """An event set when the next batch of ``generation_id``'s events is stored."""
        waiter = self._waiters.get(generation_id)
        if waiter is None:
            waiter = self._waiters[generation_id] = anyio.Event()
        return waiter

    def _on_event(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        generation, _, _seq = str(payload).partition(":")
        try:
            waiter = self._waiters.pop(UUID(generation), None)
        except ValueError:
            return
        if waiter is not None:
            waiter.set()

    def _on_follow_request(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._on_follow(UUID(str(payload)))
        except ValueError:
            logger.warning("ignored a malformed follow request: %r", payload)

    def _on_cancel_request(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._on_cancel(UUID(str(payload)))
        except ValueError:
            logger.warning("ignored a malformed cancel request: %r", payload)
