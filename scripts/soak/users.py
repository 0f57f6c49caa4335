"""The soak's users: each works a few threads of its own with a random mix of actions.

Actions (weights in :data:`WEIGHTS`): a plain send; a send whose stream is dropped
after a few deltas and resumed on the other replica; a regenerate; a send cancelled
from the other replica; an edit followed by a new branch; a fork; a second send into
a busy thread (``if_busy`` reject or interrupt); and a send retried on the other
replica with the same ``Idempotency-Key`` after its first stream was dropped. Each
picks its replicas at random; every choice comes from the user's seeded RNG.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable

import msgspec

from scripts.soak.client import Client
from scripts.soak.journal import CancelSeen, IdempotentSeen, Journal, StreamSeen

# Relative frequencies of the actions.
WEIGHTS = {
    "send": 25,
    "drop-resume": 15,
    "regenerate": 12,
    "cancel": 10,
    "edit": 8,
    "fork": 5,
    "busy": 10,
    "idempotent": 15,
}
# An action still running after this long is abandoned (and counted as an error).
ACTION_TIMEOUT_S = 120.0
# Chance of starting a new thread before an action; each user works its last few.
NEW_THREAD = 0.05
RECENT_THREADS = 4
THREAD_BODY = {"tools": [], "default_system_prompt": False}


class _Message(msgspec.Struct):
    id: str
    role: str
    status: str
    content: str
    parent_id: str | None


class _Branch(msgspec.Struct):
    data: list[_Message]


class User:
    """One simulated person: a client, a seeded RNG, and the threads it created."""

    def __init__(self, index: int, client: Client, seed: int) -> None:
        self.index = index
        self.client = client
        self.journal: Journal = client.journal
        self.rng = random.Random(seed)
        self.threads: list[str] = []
        self.sent = 0

    def _content(self) -> str:
        """A message text no other message has (the checks find messages by it)."""
        self.sent += 1
        return f"soak user {self.index} message {self.sent} {self.rng.getrandbits(40):010x}"

    def _pair(self) -> tuple[int, int]:
        """A random replica, and the next one (the other one, with two)."""
        first = self.rng.randrange(len(self.client.urls))
        return first, (first + 1) % len(self.client.urls)

    async def run(self, deadline: float) -> None:
        """Act until ``deadline`` (event-loop time), one action at a time."""
        loop = asyncio.get_running_loop()
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        while loop.time() < deadline:
            if not self.threads or self.rng.random() < NEW_THREAD:
                await self._new_thread()
                continue
            kind = self.rng.choices(kinds, weights)[0]
            thread = self.rng.choice(self.threads[-RECENT_THREADS:])
            self.journal.action(kind)
            try:
                async with asyncio.timeout(ACTION_TIMEOUT_S):
                    await _ACTIONS[kind](self, thread)
            except TimeoutError:
                self.journal.error(f"{kind} in thread {thread}: no end in {ACTION_TIMEOUT_S:g} s")
            except Exception as exc:
                self.journal.error(f"{kind} in thread {thread}: {type(exc).__name__}: {exc}")
            # A person's pause between two actions, so users do not act in lockstep.
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))

    async def _new_thread(self) -> None:
        response = await self.client.call(self._pair()[0], "POST", "/api/threads", json=THREAD_BODY)
        if response is not None and response.status_code == 201:
            self.threads.append(response.json()["id"])

    async def _branch(self, thread: str) -> list[_Message]:
        response = await self.client.call(self._pair()[0], "GET", f"/api/threads/{thread}/messages")
        if response is None or response.status_code != 200:
            return []
        return msgspec.json.decode(response.content, type=_Branch).data

    async def _streaming(self, seen: StreamSeen, replica: int) -> asyncio.Task[int | None]:
        """Send into ``seen``'s thread and read the reply in a task of its own; return
        once its first text arrived (or its read ended without any)."""
        reached = asyncio.Event()
        path = f"/api/threads/{seen.thread_id}/messages"
        body = {"content": self._content()}
        reader = asyncio.create_task(
            self.client.read(seen, replica, path, json=body, reached=reached)
        )
        await reached.wait()
        return reader

    async def send(self, thread: str) -> None:
        """Send and read the reply to ``done``."""
        seen = StreamSeen(thread, "send")
        path = f"/api/threads/{thread}/messages"
        await self.client.read(seen, self._pair()[0], path, json={"content": self._content()})

    async def drop_resume(self, thread: str) -> None:
        """Send, drop the stream after a few deltas, resume on the other replica."""
        seen = StreamSeen(thread, "drop-resume")
        path = f"/api/threads/{thread}/messages"
        body = {"content": self._content()}
        await self.client.read(
            seen, self._pair()[0], path, json=body, drop_after=self.rng.randint(1, 8)
        )

    async def regenerate(self, thread: str) -> None:
        """Regenerate the branch's last finished reply (or send, when it has none)."""
        replies = [
            m
            for m in await self._branch(thread)
            if m.role == "assistant" and m.status not in ("in_progress", "requires_action")
        ]
        if not replies:
            await self.send(thread)
            return
        seen = StreamSeen(thread, "regenerate")
        path = f"/api/threads/{thread}/messages/{replies[-1].id}/regenerate"
        await self.client.read(seen, self._pair()[0], path, json={})

    async def cancel(self, thread: str) -> None:
        """Send on one replica; once text flows, cancel on the other; read to ``done``."""
        first, other = self._pair()
        seen = StreamSeen(thread, "cancel")
        reached = asyncio.Event()
        body = {"content": self._content()}
        path = f"/api/threads/{thread}/messages"
        reader = asyncio.create_task(
            self.client.read(seen, first, path, json=body, reached=reached)
        )
        await reached.wait()
        response = await self.client.call(other, "POST", f"/api/threads/{thread}/cancel")
        if response is not None and response.status_code == 200:
            answer = response.json()
            self.journal.cancels.append(
                CancelSeen(thread, bool(answer["cancelled"]), answer["message_id"])
            )
            self.journal.counters.cancels += 1
        await reader

    async def edit(self, thread: str) -> None:
        """Edit a user message in place, then send a new branch beside it."""
        asked = [m for m in await self._branch(thread) if m.role == "user"]
        if not asked:
            await self.send(thread)
            return
        message = self.rng.choice(asked)
        replica = self._pair()[0]
        edited = {"content": message.content + " (edited)"}
        await self.client.call(
            replica, "PATCH", f"/api/threads/{thread}/messages/{message.id}", json=edited
        )
        seen = StreamSeen(thread, "edit")
        body = {"content": self._content(), "parent_id": message.parent_id or "root"}
        await self.client.read(seen, replica, f"/api/threads/{thread}/messages", json=body)

    async def fork(self, thread: str) -> None:
        """Fork the thread at a finished message of its branch, then send in the fork."""
        finished = [m for m in await self._branch(thread) if m.status != "in_progress"]
        if not finished:
            await self.send(thread)
            return
        response = await self.client.call(
            self._pair()[0],
            "POST",
            f"/api/threads/{thread}/fork",
            json={"message_id": self.rng.choice(finished).id},
        )
        if response is not None and response.status_code == 201:
            self.threads.append(response.json()["id"])
            await self.send(self.threads[-1])

    async def busy(self, thread: str) -> None:
        """While a reply streams, send again into the thread on the other replica."""
        first, other = self._pair()
        path = f"/api/threads/{thread}/messages"
        running = StreamSeen(thread, "busy-first")
        reached = asyncio.Event()
        reader = asyncio.create_task(
            self.client.read(
                running, first, path, json={"content": self._content()}, reached=reached
            )
        )
        await reached.wait()
        if_busy = self.rng.choice(("reject", "interrupt"))
        content = self._content()
        second = StreamSeen(thread, f"busy-{if_busy}")
        status = await self.client.read(
            second,
            other,
            f"/api/threads/{thread}/messages",
            json={"content": content, "if_busy": if_busy},
        )
        if status == 409:
            self.journal.rejected.append((thread, content))
            self.journal.counters.busy_rejections += 1
        await reader

    async def idempotent(self, thread: str) -> None:
        """Send with a key, lose the stream after a few deltas, retry on the other replica."""
        first, other = self._pair()
        path = f"/api/threads/{thread}/messages"
        body = {"content": self._content()}
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        lost = StreamSeen(thread, "idempotent-first")
        status, _ = await self.client.stream(
            lost, first, "POST", path, json=body, headers=headers, drop_after=self.rng.randint(1, 5)
        )
        retry = StreamSeen(thread, "idempotent-retry")
        retry_status = await self.client.read(retry, other, path, json=body, headers=headers)
        self.journal.idempotent.append(
            IdempotentSeen(
                thread,
                headers["Idempotency-Key"],
                body["content"],
                (status, retry_status),
                (lost.generation_id, retry.generation_id),
            )
        )
        self.journal.counters.idempotent_retries += 1


_ACTIONS: dict[str, Callable[[User, str], Awaitable[None]]] = {
    "send": User.send,
    "drop-resume": User.drop_resume,
    "regenerate": User.regenerate,
    "cancel": User.cancel,
    "edit": User.edit,
    "fork": User.fork,
    "busy": User.busy,
    "idempotent": User.idempotent,
}
