"""A soak user's HTTP: requests to a chosen replica, and SSE streams read with httpx-sse,
resumed on another replica with ``Last-Event-ID`` when a connection drops.

Every answer (or its absence) is counted in the run's :class:`Journal`; every stream
ends up in it too, with the text it assembled per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
import msgspec
from httpx_sse import ServerSentEvent, aconnect_sse

from scripts.soak.journal import Journal, StreamSeen

# How a stream read ended: ``done`` seen; dropped on purpose after N deltas; broken
# (the connection died, or the body ended without ``done``); refused (no answer at
# all, e.g. the replica is down); answered without a stream (an error status, a 204).
Outcome = Literal["done", "dropped", "broken", "refused", "answered"]
# Resume attempts per stream; with a pause between attempts that found no replica,
# enough to outlast one replica's restart.
MAX_RESUMES = 8
RESUME_PAUSE_S = 1.0


class _Message(msgspec.Struct):
    id: str
    status: str


class _Completed(msgspec.Struct):
    message: _Message


class _Delta(msgspec.Struct):
    message_id: str
    content: str


def _apply(seen: StreamSeen, event: ServerSentEvent) -> None:
    if event.id:
        seen.event_ids.append(event.id)
    if event.event == "message.delta":
        delta = msgspec.json.decode(event.data, type=_Delta)
        seen.texts[delta.message_id] = seen.texts.get(delta.message_id, "") + delta.content
        seen.deltas += 1
    elif event.event == "message.completed":
        message = msgspec.json.decode(event.data, type=_Completed).message
        seen.completed[message.id] = message.status
        seen.final_message_id = message.id
    elif event.event == "done":
        seen.done = True


class Client:
    """One user's requests, to the replica it names (the URLs follow restarts)."""

    def __init__(self, http: httpx.AsyncClient, urls: Sequence[str], journal: Journal) -> None:
        self.http = http
        self.urls = urls
        self.journal = journal

    async def call(
        self, replica: int, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        """One plain request; None when no answer came."""
        try:
            response = await self.http.request(method, self.urls[replica] + path, **kwargs)
        except httpx.TransportError:
            self.journal.unreachable()
            return None
        body = response.text if response.status_code >= 400 else ""
        self.journal.answered(method, path, response.status_code, body)
        return response

    async def stream(
        self,
        seen: StreamSeen,
        replica: int,
        method: str,
        path: str,
        *,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        drop_after: int | None = None,
        reached: asyncio.Event | None = None,
    ) -> tuple[int | None, Outcome]:
        """Read one connection's events into ``seen``; its status and how it ended.

        ``drop_after``: close the connection after that many deltas (a client that went
        away). ``reached`` is set at the first delta, or when the read ends without one,
        so whoever waits on it never waits past the stream.
        """
        seen.replicas.append(replica)
        status: int | None = None
        try:
            async with aconnect_sse(
                self.http, method, self.urls[replica] + path, json=json, headers=dict(headers or {})
            ) as source:
                response = source.response
                status = response.status_code
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    body = (await response.aread()).decode(errors="replace")
                    self.journal.answered(method, path, status, body)
                    return status, "answered"
                self.journal.answered(method, path, status)
                async for event in source.aiter_sse():
                    _apply(seen, event)
                    if reached is not None and seen.deltas:
                        reached.set()
                    if seen.done:
                        return status, "done"
                    if drop_after is not None and seen.deltas >= drop_after:
                        return status, "dropped"
                return status, "broken"
        except httpx.TransportError:
            if status is None:
                self.journal.unreachable()
                return None, "refused"
            self.journal.counters.connection_errors += 1
            return status, "broken"
        finally:
            if reached is not None:
                reached.set()

    async def resume(self, seen: StreamSeen, replica: int) -> None:
        """Follow ``seen``'s generation to ``done`` on the other replicas in turn, with
        ``Last-Event-ID``; then record the stream (done or given up)."""
        count = len(self.urls)
        attempts = 0
        while not seen.done and seen.last_event_id is not None and attempts < MAX_RESUMES:
            attempts += 1
            replica = (replica + 1) % count
            seen.resumes += 1
            _, outcome = await self.stream(
                seen,
                replica,
                "GET",
                f"/api/threads/{seen.thread_id}/stream",
                headers={"Last-Event-ID": seen.last_event_id},
            )
            if outcome == "answered":
                break
            if outcome == "refused":
                # The replica is down (being restarted): the next one gets a moment later.
                await asyncio.sleep(RESUME_PAUSE_S)
        self.journal.stream(seen)

    async def read(
        self,
        seen: StreamSeen,
        replica: int,
        path: str,
        *,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        drop_after: int | None = None,
        reached: asyncio.Event | None = None,
    ) -> int | None:
        """POST ``path`` and follow its reply to the end, resuming elsewhere when the
        connection drops (on purpose after ``drop_after`` deltas, or not); its status."""
        status, outcome = await self.stream(
            seen,
            replica,
            "POST",
            path,
            json=json,
            headers=headers,
            drop_after=drop_after,
            reached=reached,
        )
        if outcome != "answered" and outcome != "refused":
            await self.resume(seen, replica)
        return status
