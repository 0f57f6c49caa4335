"""This process's LISTEN connection: event, follow, cancel and feed notifications, and
liveness.

One dedicated asyncpg connection per process listens on the events, follow, cancel and
feed channels (the last for the live feeds, ``api.feeds.hub``). It also tells other
processes that this one is alive: it carries the ``application_name``
``playground:<instance id>``, so a generation whose owner has no such session in
``pg_stat_activity`` (the process was killed and its connections closed) can be marked
interrupted at once by any other process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

import anyio
import asyncpg

from api.stores.events import CANCEL_CHANNEL, EVENTS_CHANNEL, FOLLOW_CHANNEL
from api.stores.feed import FEED_CHANNEL
from db.urls import to_plain_url

logger = logging.getLogger(__name__)

APPLICATION_PREFIX = "playground:"


def liveness_name(instance_id: str) -> str:
    """The ``application_name`` of the LISTEN session of process ``instance_id``."""
    return APPLICATION_PREFIX + instance_id


class Notifications:
    """Wakes local followers of remote generations and delivers cancel requests."""

    def __init__(self, database_url: str, instance_id: str) -> None:
        self._dsn = to_plain_url(database_url)
        self._instance_id = instance_id
        self._on_cancel: Callable[[UUID, str], None] | None = None
        self._on_follow: Callable[[UUID], None] | None = None
        self._on_feed: Callable[[str], None] | None = None
        self._on_reconnect: Callable[[], None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._waiters: dict[UUID, anyio.Event] = {}

    def route_requests(
        self, *, cancel: Callable[[UUID, str], None], follow: Callable[[UUID], None]
    ) -> None:
        """Hand cancel and follow requests for generations to the process's generation
        manager once it exists (until then none runs here, so there is nothing to do)."""
        self._on_cancel = cancel
        self._on_follow = follow

    def route_feed(self, *, change: Callable[[str], None], reconnect: Callable[[], None]) -> None:
        """Hand feed notifications (``<thread id>:<owner id>``) to the process's feed
        subscribers, and tell them when notifications may have been lost."""
        self._on_feed = change
        self._on_reconnect = reconnect

    def cancel_requested(self, generation_id: UUID, reason: str = "cancelled") -> None:
        """Deliver a request to stop a generation (from a notification, or one stored on
        the generation row and found by the heartbeat)."""
        if self._on_cancel is not None:
            self._on_cancel(generation_id, reason)

    async def connect(self) -> None:
        """Open the LISTEN connection, or open it again if it was lost (a server
        restart): without it this process would look dead to the others."""
        if self._connection is not None and not self._connection.is_closed():
            return
        reconnecting = self._connection is not None
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": liveness_name(self._instance_id)}
        )
        await connection.add_listener(EVENTS_CHANNEL, self._on_event)
        await connection.add_listener(CANCEL_CHANNEL, self._on_cancel_request)
        await connection.add_listener(FOLLOW_CHANNEL, self._on_follow_request)
        await connection.add_listener(FEED_CHANNEL, self._on_feed_change)
        self._connection = connection
        if reconnecting and self._on_reconnect is not None:
            # Changes committed while nobody listened woke no feed: they read now.
            self._on_reconnect()

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

    def _on_feed_change(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        if self._on_feed is not None:
            self._on_feed(str(payload))

    def _on_follow_request(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            generation_id = UUID(str(payload))
        except ValueError:
            logger.warning("ignored a malformed follow request: %r", payload)
            return
        if self._on_follow is not None:
            self._on_follow(generation_id)

    def _on_cancel_request(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            generation_id = UUID(str(payload))
        except ValueError:
            logger.warning("ignored a malformed cancel request: %r", payload)
            return
        self.cancel_requested(generation_id)
