"""Starts generations in the app's task group, and finds, follows and stops them on any process.

Generations started here run in this process; ``follow`` and ``cancel`` also work
for generations another process runs, through the ``generation`` rows, the stored
events and Postgres notifications.
"""

from __future__ import annotations

import math
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from uuid import UUID

import anyio
from anyio.abc import TaskGroup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import metrics
from api.errors import ConflictError
from api.generation.event_writer import EventWriter
from api.generation.feed import Cursor, local_frames, stored_frames, with_retry
from api.generation.listener import Notifications
from api.generation.pipeline import GenerationRunner
from api.generation.plan import GenerationPlan
from api.generation.stream import GenerationStream
from api.schemas.events import Event, frame_prefix
from api.schemas.sse import KEEPALIVE_FRAME, KEEPALIVE_S
from api.stores.events import (
    notify_cancel,
    notify_follow,
    read_closing_events,
    read_progress,
)
from api.stores.generations import GenerationStore
from api.stores.messages import MessageStore
from db import models as m

# A missed notification only delays a follower of another process by this much.
_POLL_FALLBACK_S = 1.0
# What a reply that a cancel stopped is stored as (or still is, if its owner is slow).
_STOPPED = frozenset({"cancelled", "interrupted", "in_progress"})
# How long a cancel waits for another process to store the cancelled reply.
_REMOTE_CANCEL_WAIT_S = 5.0


def new_instance_id() -> str:
    """A fresh id for this process; generations it runs carry it as their owner."""
    return uuid.uuid4().hex[:16]


def new_generation_id() -> UUID:
    """A fresh generation id (also the prefix of its SSE event ids)."""
    return uuid.uuid4()


class GenerationManager:
    """Owns the generations this process runs, and reaches those of other processes."""

    def __init__(
        self,
        *,
        instance_id: str,
        runner: GenerationRunner,
        task_group: TaskGroup,
        session_factory: async_sessionmaker[AsyncSession],
        writer: EventWriter,
        notifications: Notifications,
    ) -> None:
        self.instance_id = instance_id
        self.accepting = True
        self._runner = runner
        self._task_group = task_group
        self._session_factory = session_factory
        self._writer = writer
        self._notifications = notifications
        self._by_thread: dict[UUID, GenerationStream] = {}
        self._by_id: dict[UUID, GenerationStream] = {}

    def start(self, plan: GenerationPlan) -> GenerationStream:
        """Start ``plan`` (its generation row is stored) and return its local stream."""
        stream = GenerationStream(
            plan.generation_id,
            plan.thread_id,
            plan.assistant_id,
            plan.user_id,
            on_publish=self._writer.mark_dirty,
        )
        self._by_thread[plan.thread_id] = stream
        self._by_id[plan.generation_id] = stream
        metrics.generation_started(plan.model)
        self._task_group.start_soon(self._run, plan, stream, name=f"generation {stream.id}")
        return stream

    def local(self, generation_id: UUID) -> GenerationStream | None:
        """The stream of a generation running in this process, if it is one."""
        return self._by_id.get(generation_id)

    def share_local(self, generation_id: UUID) -> None:
        """A follower on another process reads this generation: append its events now."""
        stream = self._by_id.get(generation_id)
        if stream is not None:
            stream.share()

    def cancel_local(self, generation_id: UUID, reason: str = "cancelled") -> None:
        """Stop a generation of this process (no-op for others' or finished ones)."""
        stream = self._by_id.get(generation_id)
        if stream is not None:
            stream.cancel(reason)

    async def running(self, thread_id: UUID) -> m.Generation | None:
        """The generation running in ``thread_id`` on any process, if any."""
        async with self._session_factory() as session:
            return await GenerationStore(session).running(thread_id)

    async def find(self, generation_id: UUID) -> m.Generation | None:
        """A generation (running or finished within the retention) by id."""
        async with self._session_factory() as session:
            return await GenerationStore(session).get(generation_id)

    async def thread_of(self, generation_id: UUID) -> UUID | None:
        """The thread of a generation (this process's, or one stored within the
        retention), None when it is gone; what a resume point is checked against."""
        local = self._by_id.get(generation_id)
        if local is not None:
            return local.thread_id
        generation = await self.find(generation_id)
        return generation.thread_id if generation is not None else None

    async def cancel(self, thread_id: UUID, reason: str = "cancelled") -> m.Generation | None:
        """Stop the generation of ``thread_id`` wherever it runs and wait for its final
        write; return it (None when nothing was running)."""
        generation = await self.running(thread_id)
        if generation is None:
            return None
        local = self._by_id.get(generation.id)
        if local is not None:
            local.cancel(reason)
            await local.wait_finished()
            return generation
        async with self._session_factory() as session:
            await GenerationStore(session).request_cancel(generation.id, reason)
            await notify_cancel(session, generation.id)
            await session.commit()
        with anyio.move_on_after(_REMOTE_CANCEL_WAIT_S):
            await self._wait_finished_elsewhere(generation.id)
        return generation

    async def cancel_or_conflict(self, thread_id: UUID) -> tuple[UUID, str]:
        """``cancel``, answering truthfully: the stopped reply's id and its stored status
        (``in_progress`` only if its owner has not stored it within the wait).

        A 409 naming the reply when nothing was running, or when the reply ended on its
        own before the cancel reached it (with its final status in ``extra``).
        """
        generation = await self.cancel(thread_id)
        async with self._session_factory() as session:
            runs = GenerationStore(session)
            if generation is None:
                latest = await runs.latest(thread_id)
                detail = f"nothing is being generated in thread {thread_id}"
                if latest is None:
                    raise ConflictError(detail)
                raise ConflictError(
                    f"{detail} (the last reply, message {latest.message_id}, has ended)",
                    extra={"message_id": str(latest.message_id)},
                )
            # The row as stored now: a tool round may have moved it to a later reply.
            current = await runs.get(generation.id)
            message_id = (current or generation).message_id
            status = await MessageStore(session).status(message_id) if message_id else None
        if message_id is None or status is None:
            raise ConflictError(f"the reply of thread {thread_id} was deleted")
        if status not in _STOPPED:
            raise ConflictError(
                f"message {message_id} had already ended (status {status}); nothing was cancelled",
                extra={"message_id": str(message_id), "status": status},
            )
        return message_id, status

    async def _wait_finished_elsewhere(self, generation_id: UUID) -> None:
        # The owner's final write notifies the events channel; no need to read events.
        while True:
            waiter = self._notifications.waiter(generation_id)
            async with self._session_factory() as session:
                status = await GenerationStore(session).status(generation_id)
            if status != "running":
                return
            with anyio.move_on_after(_POLL_FALLBACK_S):
                await waiter.wait()

    async def follow(self, generation_id: UUID, after_seq: int = 0) -> AsyncIterator[Event]:
        """The events of a generation after ``after_seq``, then live ones, until ``done``."""
        async for event in self.follow_or_idle(generation_id, after_seq, idle_s=math.inf):
            if event is not None:
                yield event

    async def follow_or_idle(
        self, generation_id: UUID, after_seq: int = 0, idle_s: float = KEEPALIVE_S
    ) -> AsyncIterator[Event | None]:
        """``follow``, with None after each ``idle_s`` without an event (within a second
        of that for another process's generation): the cue for a keep-alive comment of a
        stream that writes the events its own way (the AI SDK's)."""
        local = self._by_id.get(generation_id)
        if local is not None:
            async for event in local.follow(after_seq, idle_s):
                yield event
            return
        async for events in self._stored_batches(generation_id, after_seq, idle_s):
            if not events:
                yield None
            for event in events:
                yield event

    def frames(self, generation_id: UUID, after_seq: int = 0) -> AsyncIterator[bytes]:
        """``follow`` as SSE bytes ready to write, in batches (``api.generation.feed``):
        the shared frames of a local generation, coalesced when this follower is behind,
        then, once the generation's log is gone (or for another process's), from
        Postgres; with ``retry:`` first and keep-alive comments while nothing comes."""
        return with_retry(self._frames(generation_id, after_seq))

    async def _frames(self, generation_id: UUID, after_seq: int) -> AsyncGenerator[bytes, None]:
        cursor = Cursor(after_seq)
        local = self._weak_local(generation_id)
        if local is not None:
            async for batch in local_frames(local, cursor):
                yield batch
            if cursor.ended:
                return
        prefix = frame_prefix(generation_id)
        async for events in self._stored_batches(generation_id, cursor.position):
            if not events:
                yield KEEPALIVE_FRAME
            for batch in stored_frames(prefix, events):
                yield batch

    def _weak_local(self, generation_id: UUID) -> weakref.ref[GenerationStream] | None:
        # Weak, so that a follower whose client stops reading does not keep the log.
        stream = self._by_id.get(generation_id)
        return None if stream is None else weakref.ref(stream)

    async def _stored_batches(
        self, generation_id: UUID, after_seq: int, idle_s: float = KEEPALIVE_S
    ) -> AsyncIterator[list[Event]]:
        """The stored events after ``after_seq``, one list per read, until ``done`` or
        the generation is no longer running; an empty list after ``idle_s`` without
        any (a follower's cue for a keep-alive)."""
        position = after_seq
        asked = False
        quiet_since = anyio.current_time()
        while True:
            # Taken before reading, so a batch stored in between still wakes us.
            waiter = self._notifications.waiter(generation_id)
            async with self._session_factory() as session:
                # One snapshot: a final write committing between two reads would
                # otherwise show "finished" without the events it stored.
                status, events = await read_progress(session, generation_id, position)
                if status is None:
                    return  # no such generation (or pruned)
                if status == "running" and not asked:
                    # Its owner appends events as they come only once someone asks.
                    await notify_follow(session, generation_id)
                    asked = True
                if status == "finished" and not events:
                    # Nothing stored after the client's position: it has seen the
                    # stored ``done``, or it saw a killed owner's events that never
                    # reached the table, and the reaper's closing events, numbered from
                    # the last stored one, are behind it.
                    closing = await read_closing_events(session, generation_id)
                    if closing and closing[-1].seq < position:
                        events = closing
            batch: list[Event] = []
            for event in events:
                if status == "running" and event.seq != position + 1:
                    break  # an earlier batch is not committed yet; read again
                batch.append(event)
                position = event.seq
                if event.name == "done":
                    break
            if batch or anyio.current_time() - quiet_since >= idle_s:
                yield batch
                quiet_since = anyio.current_time()
            if status != "running" or (batch and batch[-1].name == "done"):
                return
            with anyio.move_on_after(_POLL_FALLBACK_S):
                await waiter.wait()

    async def drain(self, grace_s: float) -> None:
        """Stop taking generations; let running ones finish for ``grace_s``, then stop
        the rest as ``interrupted`` (their partial replies are stored)."""
        self.accepting = False
        with anyio.move_on_after(grace_s):
            for stream in list(self._by_id.values()):
                await stream.wait_finished()
        for stream in list(self._by_id.values()):
            stream.cancel("interrupted")
        with anyio.CancelScope(shield=True):
            for stream in list(self._by_id.values()):
                await stream.wait_finished()

    async def _run(self, plan: GenerationPlan, stream: GenerationStream) -> None:
        try:
            with metrics.generation_running(plan.model):
                await self._runner.run(plan, stream)
        finally:
            if self._by_thread.get(plan.thread_id) is stream:
                del self._by_thread[plan.thread_id]
            self._by_id.pop(plan.generation_id, None)
