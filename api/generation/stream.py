"""An in-flight generation's event log, which any number of local followers can read.

The generation task appends events; followers in this process (SSE responses, see
``api.generation.feed``) replay what they missed and then wait for more. Each event's
SSE frame is built once, here, and written as is by every follower. Every event is
also kept for Postgres: the final write appends all of them in one statement (so a
finished generation can be resumed anywhere, after a restart too), and while a
follower on another process reads the generation, the ``EventWriter`` appends them in
batches as they come. A follower going away, or not reading, never affects the task.

Reply text is coalesced as it is published: it goes into the generation's *open*
``message.delta`` event until something takes that event (a follower reading, the
event writer, or the next event of another kind), which seals it: numbers it and
builds its frame. So chunks that arrive while no follower got to run (several read
from one socket read, or a busy event loop) become one event, stored as sent; at low
load a follower runs between two chunks and every chunk goes out at once. An open
event takes at most ``MAX_OPEN_DELTA_CHARS`` characters, so no frame grows with the
reply.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import anyio
import msgspec

from api.errors import PlaygroundError
from api.schemas.events import Event, EventName, MessageDelta, frame_prefix, sse_frame

MAX_OPEN_DELTA_CHARS = 8192


@dataclass(slots=True)
class _OpenDelta:
    """Text of one message published since the last delta event was sealed."""

    message_id: UUID
    parts: list[str]
    chars: int


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
        # frames[i] is the SSE frame of events[i]: built once, written to every follower.
        self.frames: list[bytes] = []
        self.frame_prefix = frame_prefix(generation_id)
        # Published but not yet written to Postgres, oldest first.
        self.unpersisted: list[Event] = []
        # Set while a batch holding some of this stream's events is being committed.
        self.persisting: anyio.Event | None = None
        # Whether a follower on another process reads this generation: only then are
        # its events appended as they come; otherwise all at once by the final write.
        self.shared = False
        self.finished = False
        # The model calls running now (several in a compare run), which ``cancel`` stops.
        self._scopes: set[anyio.CancelScope] = set()
        self.cancel_reason: str | None = None
        self._open: _OpenDelta | None = None
        self._on_publish = on_publish
        self._changed = anyio.Event()
        self._opened = anyio.Event()
        self._done = anyio.Event()
        self._open_error: PlaygroundError | None = None

    def publish(self, name: EventName, data: str) -> None:
        """Append an event, wake every local follower and queue it for Postgres."""
        self.seal()
        self._record(name, data, data.encode(), persist=True)
        self._wake()
        self._queued()

    def publish_delta(self, message_id: UUID, text: str) -> None:
        """Add reply text to the open ``message.delta`` event (a new one if none is
        open, it is another message's or it is full); followers are woken when an
        event opens, and find the text added until they run in it."""
        current = self._open
        if (
            current is not None
            and current.message_id == message_id
            and current.chars < MAX_OPEN_DELTA_CHARS
        ):
            current.parts.append(text)
            current.chars += len(text)
            return
        self.seal()
        self._open = _OpenDelta(message_id, [text], len(text))
        self._wake()
        self._queued()

    def seal(self) -> None:
        """Number the open delta event and build its frame: a reader or a writer takes
        it now, so no more text may join it."""
        current = self._open
        if current is None:
            return
        self._open = None
        content = current.parts[0] if len(current.parts) == 1 else "".join(current.parts)
        raw = msgspec.json.encode(MessageDelta(message_id=current.message_id, content=content))
        self._record("message.delta", raw.decode(), raw, persist=True)

    @property
    def has_unpersisted(self) -> bool:
        """Whether there are events (or open text) that Postgres does not have yet."""
        return bool(self.unpersisted) or self._open is not None

    def share(self) -> None:
        """Start appending events to Postgres as they come (a remote follower appeared)."""
        if not self.shared:
            self.shared = True
            if self._on_publish is not None and self.has_unpersisted:
                self._on_publish(self)

    def prepare(self, items: list[tuple[EventName, str]]) -> list[Event]:
        """Number the next events without publishing them, for a writer that stores
        them in the same transaction as the row they describe (then ``deliver``)."""
        self.seal()
        first = len(self.events) + 1
        return [Event(seq=first + i, name=name, data=data) for i, (name, data) in enumerate(items)]

    def deliver(self, events: list[Event]) -> None:
        """Publish events that are already stored (see ``prepare``)."""
        for event in events:
            self._record(event.name, event.data, event.data.encode(), persist=False)
        self._wake()

    def take_unpersisted(self) -> list[Event]:
        """Hand the queued events to a writer (which must persist them)."""
        self.seal()
        events, self.unpersisted = self.unpersisted, []
        return events

    def _record(self, name: EventName, data: str, raw: bytes, *, persist: bool) -> None:
        seq = len(self.events) + 1
        event = Event(seq=seq, name=name, data=data)
        self.events.append(event)
        self.frames.append(sse_frame(self.frame_prefix, seq, name, raw))
        if persist:
            self.unpersisted.append(event)

    def _wake(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    def _queued(self) -> None:
        if self.shared and self._on_publish is not None:
            self._on_publish(self)

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
        self._wake()

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
        for scope in list(self._scopes):
            scope.cancel()

    @contextmanager
    def cancellable(self) -> Iterator[anyio.CancelScope]:
        """A scope ``cancel`` stops (at once if the generation was already stopped)."""
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if self.cancel_reason is not None:
                    scope.cancel()
                yield scope
            finally:
                self._scopes.discard(scope)

    async def changed(self) -> None:
        """Wait until an event is published (or the generation finishes)."""
        await self._changed.wait()

    async def follow(
        self, after_seq: int = 0, idle_s: float = math.inf
    ) -> AsyncIterator[Event | None]:
        """Yield the events after ``after_seq``, then live ones until ``done``; None
        after each ``idle_s`` without one."""
        position = after_seq
        while True:
            self.seal()
            while position < len(self.events):
                yield self.events[position]
                position += 1
            if self.finished:
                return
            with anyio.move_on_after(idle_s) as waiting:
                await self._changed.wait()
            if waiting.cancelled_caught:
                yield None
