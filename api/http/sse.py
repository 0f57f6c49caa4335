"""Serve a generation's events as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.response import Stream

# What Litestar's ServerSentEvent response sent, kept: no caching, and no buffering
# in a proxy (nginx reads X-Accel-Buffering), so each event reaches the client at once.
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


def sse_response(frames: AsyncIterator[bytes]) -> Stream:
    """An SSE response writing ``frames`` as they come: the ready-made bytes of one
    generation's events, replayed and then live (``GenerationManager.frames``).

    Each item is written as is (no per-follower encoding). Disconnecting ends only this
    response: the generation keeps running and storing.
    """
    return Stream(frames, status_code=200, media_type="text/event-stream", headers=SSE_HEADERS)
