"""An in-flight generation's event log, which any number of followers can read.

The generation task appends events; followers (SSE responses) replay what they
missed and then wait for more. A follower going away never affects the task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import anyio

from api.errors import PlaygroundError
from api.generation.events import Event, EventName


class GenerationStream:
    """The events of one generation, plus the signals its HTTP handler waits for."""

    def __init__(
        self,
        generation_id: UUID,
        thread_id: UUID,
        assistant_id: UUID,
        user_id: UUID | None = None,
    ) -> None:
        self.id = generation_id
        self.thread_id = thread_id
        self.assistant_id = assistant_id
        self.user_id = user_id
        self.events: list[Event] = []
        self.finished = False
        self.cancel_scope: anyio.CancelScope | None = None
        self.cancel_reason: str | None = None
        self._changed = anyio.Event()
        self._opened = anyio.Event()
        self._done = anyio.Event()
        self._open_error: PlaygroundError | None = None

    def event_id(self, seq: int) -> str:
        """The SSE ``id:`` of event ``seq``: it names the generation and the position in it."""
        return f"{self.id}:{seq}"

    def publish(self, name: EventName, data: str) -> None:
        """Append an event and wake every follower."""
        self.events.append(Event(seq=len(self.events) + 1, name=name, data=data))
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def mark_opened(self, error: PlaygroundError | None = None) -> None:
        """Record that the model call answered (or failed before any output)."""
        self._open_error = error
        self._opened.set()

    def mark_finished(self) -> None:
        """Record that the last event has been published."""
        self.finished = True
        self.mark_opened(self._open_error)
        self._done.set()
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def wait_opened(self) -> None:
        """Wait until the model answered; raise the error if it failed before any output."""
        await self._opened.wait()
        if self._open_error is not None:
            raise self._open_error

    async def wait_finished(self) -> None:
        """Wait until the generation has published ``done``."""
        await self._done.wait()

    def cancel(self, reason: str) -> None:
        """Stop the generation; it keeps its partial reply with status ``reason``."""
        if self.cancel_reason is None:
            self.cancel_reason = reason
        if self.cancel_scope is not None:
            self.cancel_scope.cancel()

    async def follow(self, after_seq: int = 0) -> AsyncIterator[Event]:
        """Yield the events after ``after_seq``, then live ones until ``done``."""
        position = after_seq
        while True:
            while position < len(self.events):
                yield self.events[position]
                position += 1
            if self.finished:
                return
            await self._changed.wait()
