"""This process's feed subscribers, and the notifications that wake them.

The process's one LISTEN connection hands every ``playground_feed`` notification
(``<thread id>:<owner id>``) to ``FeedHub.notify``, which wakes the subscribers of that
thread or owner (and those following every owner). A wake-up is one ``anyio.Event`` per
subscriber, set once however many notifications come: nothing queues up in memory, and
the subscriber then reads the rows after its last id from Postgres.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import anyio


class Subscription:
    """One feed's wake-up: ``arm`` before reading, then ``wait`` for the next change."""

    def __init__(self) -> None:
        self._wake = anyio.Event()

    def arm(self) -> None:
        """Forget past wake-ups; called before a read, so a change committed during the
        read still wakes the next ``wait``."""
        if self._wake.is_set():
            self._wake = anyio.Event()

    def wake(self) -> None:
        """Something this feed shows may have changed."""
        self._wake.set()

    async def wait(self, timeout_s: float) -> bool:
        """Until woken (True), or ``timeout_s`` passed (False)."""
        with anyio.move_on_after(timeout_s):
            await self._wake.wait()
        return self._wake.is_set()


class FeedHub:
    """Who follows which thread or owner in this process; ends every feed at shutdown."""

    def __init__(self) -> None:
        self._by_thread: dict[UUID, set[Subscription]] = {}
        self._by_owner: dict[UUID, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self.closing = False

    @contextmanager
    def subscribe(
        self, *, thread_id: UUID | None = None, owner_id: UUID | None = None
    ) -> Iterator[Subscription]:
        """A subscription to one thread, to one owner's threads, or (neither) to all."""
        subscription = Subscription()
        group = self._group(thread_id, owner_id)
        group.add(subscription)
        try:
            yield subscription
        finally:
            group.discard(subscription)
            self._drop_empty(thread_id, owner_id)

    def notify(self, payload: str) -> None:
        """Wake the subscribers of the thread and owner a notification names."""
        thread, _, owner = payload.partition(":")
        try:
            thread_id, owner_id = UUID(thread), UUID(owner)
        except ValueError:
            return
        for subscription in (
            *self._by_thread.get(thread_id, ()),
            *self._by_owner.get(owner_id, ()),
            *self._everything,
        ):
            subscription.wake()

    def wake_all(self) -> None:
        """Wake every subscriber: notifications may have been lost (the LISTEN
        connection was opened again), or the process is stopping."""
        for group in (*self._by_thread.values(), *self._by_owner.values(), self._everything):
            for subscription in group:
                subscription.wake()

    def close(self) -> None:
        """End every feed of this process (it is shutting down)."""
        self.closing = True
        self.wake_all()

    def _group(self, thread_id: UUID | None, owner_id: UUID | None) -> set[Subscription]:
        if thread_id is not None:
            return self._by_thread.setdefault(thread_id, set())
        if owner_id is not None:
            return self._by_owner.setdefault(owner_id, set())
        return self._everything

    def _drop_empty(self, thread_id: UUID | None, owner_id: UUID | None) -> None:
        if thread_id is not None and not self._by_thread.get(thread_id):
            self._by_thread.pop(thread_id, None)
        if owner_id is not None and not self._by_owner.get(owner_id):
            self._by_owner.pop(owner_id, None)
