"""Starts generations in the app's task group and finds the one running in a thread."""

from __future__ import annotations

import uuid
from uuid import UUID

from anyio.abc import TaskGroup

from api.generation.pipeline import GenerationPlan, GenerationRunner
from api.generation.stream import GenerationStream


class GenerationManager:
    """Owns the in-flight generations of this process, one at most per thread."""

    def __init__(self, runner: GenerationRunner, task_group: TaskGroup) -> None:
        self._runner = runner
        self._task_group = task_group
        self._by_thread: dict[UUID, GenerationStream] = {}

    def start(self, plan: GenerationPlan) -> GenerationStream:
        """Start ``plan`` in the background and return the stream its followers read."""
        stream = GenerationStream(
            plan.generation_id, plan.thread_id, plan.assistant_id, plan.user_id
        )
        self._by_thread[plan.thread_id] = stream
        self._task_group.start_soon(self._run, plan, stream, name=f"generation {stream.id}")
        return stream

    def running(self, thread_id: UUID) -> GenerationStream | None:
        """The generation in flight in ``thread_id``, if any."""
        return self._by_thread.get(thread_id)

    async def cancel_and_wait(self, thread_id: UUID, reason: str = "cancelled") -> None:
        """Stop the generation of ``thread_id`` (if any) and wait for its final write."""
        stream = self._by_thread.get(thread_id)
        if stream is not None:
            stream.cancel(reason)
            await stream.wait_finished()

    def cancel_all(self, reason: str) -> None:
        """Stop every generation of this process (used at shutdown)."""
        for stream in list(self._by_thread.values()):
            stream.cancel(reason)

    async def _run(self, plan: GenerationPlan, stream: GenerationStream) -> None:
        try:
            await self._runner.run(plan, stream)
        finally:
            if self._by_thread.get(plan.thread_id) is stream:
                del self._by_thread[plan.thread_id]


def new_generation_id() -> UUID:
    """A fresh generation id (also the prefix of its SSE event ids)."""
    return uuid.uuid4()
