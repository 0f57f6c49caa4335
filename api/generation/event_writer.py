"""Appends the events of this process's generations to Postgres in batches.

A generation's events are stored by its final write, in one statement. While a
follower on another process reads it (that process asks on the follow channel), its
events are also appended as they come: every ``PLAYGROUND_EVENT_FLUSH_MS`` in one
multi-row INSERT for all such generations of the process (``api.stores.events``).
"""

from __future__ import annotations

import logging
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from api.generation.stream import GenerationStream
from api.stores.events import append_events

logger = logging.getLogger(__name__)


class EventWriter:
    """Batches the events of shared generations into one statement per interval."""

    def __init__(self, engine: AsyncEngine, flush_interval_s: float, owner: str) -> None:
        self._engine = engine
        self._owner = owner
        self._interval = flush_interval_s
        self._dirty: dict[UUID, GenerationStream] = {}
        self._wake = anyio.Event()

    def mark_dirty(self, stream: GenerationStream) -> None:
        """Note that ``stream`` has events to write (called on every publish)."""
        if stream.id not in self._dirty:
            self._dirty[stream.id] = stream
            self._wake.set()

    async def run(self) -> None:
        """Write batches forever: wait for events, let a batch gather, write it."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            await anyio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("could not store generation events; retrying")

    async def flush(self) -> None:
        """Write every queued event now, in one statement."""
        streams = [stream for stream in self._dirty.values() if stream.has_unpersisted]
        self._dirty.clear()
        if not streams:
            return
        batches = [(stream, stream.take_unpersisted()) for stream in streams]
        done = anyio.Event()
        for stream in streams:
            stream.persisting = done
        try:
            # Autocommit: the batch is one statement, so no BEGIN/COMMIT round trips.
            async with self._engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await append_events(
                    autocommit, [(s.id, events) for s, events in batches], owner=self._owner
                )
        except BaseException:
            # Put the events back so the next batch (or the final write) stores them.
            for stream, events in batches:
                stream.unpersisted[:0] = events
                self.mark_dirty(stream)
            raise
        finally:
            for stream in streams:
                if stream.persisting is done:
                    stream.persisting = None
            done.set()
