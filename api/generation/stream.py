"""An in-flight generation's event log, which any number of local followers can read.

The generation task appends events; followers in this process (SSE responses)
replay what they missed and then wait for more. Every event is also kept for
Postgres: the final write appends all of them in one statement (so a finished
generation can be resumed anywhere, after a restart too), and while a follower on
another process reads the generation, the ``EventWriter`` appends them in batches as
they come. A follower going away never affects the task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from uuid import UUID

import anyio

from api.errors import PlaygroundError
from api.schemas.events import Event, EventName


class GenerationStream:
    """The events of one generation, plus the signals its HTTP handler waits for."""

    def __init__(
        self,
        generation_id: UUID,
        thread_id: UUID,
        assistant_id: UUID,
        user_id: UUID | None = None,
        on_publish: Callable[[GenerationStream], None] | None = None,
    ) -> None:
        self.id = generation_id
        self.thread_id = thread_id
        self.assistant_id = assistant_id
        self.user_id = user_id
        self.events: list[Event] = []
        # Published but not yet written to Postgres, oldest first.
        self.unpersisted: list[Event] = []
        # Set while a batch holding some of this stream's events is being committed.
        self.persisting: anyio.Event | None = None
        # Whether a follower on another process reads this generation: only then are
        # its events appended as they come; otherwise all at once by the final write.
        self.shared = False
        self.finished = False
        self.cancel_scope: anyio.CancelScope | None = None
        self.cancel_reason: str | None = None
        self._on_publish = on_publish
        self._changed = anyio.Event()
        self._opened = anyio.Event()
        self._done = anyio.Event()
        self._open_error: PlaygroundError | None = None

    def publish(self, name: EventName, data: str) -> None:
        """Append an event, wake every local follower and queue it for Postgres."""
        event = Event(seq=len(self.events) + 1, name=name, data=data)
        self.unpersisted.append(event)
        self._deliver(event)
        if self.shared and self._on_publish is not None:
            self._on_publish(self)

    def share(self) -> None:
        """Start appending events to Postgres as they come (a remote follower appeared)."""
        if not self.shared:
            self.shared = True
            if self._on_publish is not None and self.unpersisted:
                self._on_publish(self)

    def prepare(self, items: list[tuple[EventName, str]]) -> list[Event]:
        """Number the next events without publishing them, for a writer that stores
        them in the same transaction as the row they describe (then ``deliver``)."""
        first = len(self.events) + 1
        return [Event(seq=first + i, name=name, data=data) for i, (name, data) in enumerate(items)]

    def deliver(self, events: list[Event]) -> None:
        """Publish events that are already stored (see ``prepare``)."""
        for event in events:
            self._deliver(event)

    def take_unpersisted(self) -> list[Event]:
        """Hand the queued events to a writer (which must persist them)."""
        events, self.unpersisted = self.unpersisted, []
        return events

    def _deliver(self, event: Event) -> None:
        self.events.append(event)
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    @property
    def opened(self) -> bool:
        """Whether the model call has answered (the HTTP response may have started)."""
        return self._opened.is_set()

    def mark_opened(self, error: PlaygroundError | None = None) -> None:
        """Record that the model call answered (or failed before any output)."""
        self._open_error = error
        self._opened.set()

    def fail_open(self, error: PlaygroundError) -> None:
        """Record that the model call failed before any output; the handler waiting in
        ``wait_opened`` gets ``error`` once the failed reply is stored."""
        self._open_error = error

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
