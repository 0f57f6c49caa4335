"""EventSource by the book: the ``eventsource`` npm package (a WHATWG-compliant client)
follows a reply through a proxy that drops the connection mid-reply; it reconnects by
itself after the server's ``retry:``, sends ``Last-Event-ID``, gets no event twice, and
the text it assembles is the stored content."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx_sse

from tests.clients.conftest import CLIENT_DIR, NODE_TIMEOUT_S, last_json
from tests.fixtures.processes import ServerProcess
from tests.fixtures.tcp_proxy import TcpProxy

# Text events the client gets before the proxy drops its connection.
CUT_AFTER = 4


async def _start_reply(http: httpx.AsyncClient, thread_id: str) -> None:
    """Start a reply and close its own stream at once (the reply goes on)."""
    async with http.stream(
        "POST", f"/api/threads/{thread_id}/messages", json={"content": "Write about autumn"}
    ) as response:
        assert response.status_code == 200


async def _follow_through(proxy: TcpProxy, node: str, url: str) -> tuple[list[str], dict[str, Any]]:
    """Run ``eventsource.js`` on ``url``; drop the proxy's connections after
    ``CUT_AFTER`` text events. Returns the text events' ids and what it printed last."""
    process = await asyncio.create_subprocess_exec(
        node,
        "dist/eventsource.js",
        cwd=CLIENT_DIR,
        env={**os.environ, "STREAM_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    delta_ids: list[str] = []
    lines: list[str] = []
    async with asyncio.timeout(NODE_TIMEOUT_S):
        while line := (await process.stdout.readline()).decode():
            lines.append(line)
            if line.startswith("delta "):
                delta_ids.append(line.split()[1])
                if len(delta_ids) == CUT_AFTER:
                    proxy.drop()
        _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return delta_ids, last_json("".join(lines))


async def test_eventsource_reconnects_by_itself_and_assembles_the_stored_text(
    node: str, compiled: Path, server: ServerProcess
) -> None:
    port = urlsplit(server.base_url).port
    proxy = TcpProxy(lambda: asyncio.open_connection("127.0.0.1", port))
    await proxy.open()
    http = httpx.AsyncClient(base_url=server.base_url, timeout=30)
    try:
        thread = (await http.post("/api/threads", json={"tools": []})).json()
        await _start_reply(http, thread["id"])
        url = f"http://127.0.0.1:{proxy.port}/api/threads/{thread['id']}/stream"
        delta_ids, result = await _follow_through(proxy, node, url)
        _, reply = (await http.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    finally:
        await proxy.cut()
        await http.aclose()

    # The first connection had no id; the second sent the last one it had seen.
    sent = result["sentLastEventIds"]
    assert len(sent) == 2, sent
    assert sent[0] is None
    assert sent[1] in delta_ids[CUT_AFTER - 1 :], (sent, delta_ids)
    assert result["failures"] == 1
    # Every text event once, in order, across both connections.
    generation = sent[1].split(":")[0]
    seqs = [int(event_id.split(":")[1]) for event_id in delta_ids]
    assert all(event_id.startswith(f"{generation}:") for event_id in delta_ids)
    assert seqs == sorted(set(seqs))
    assert seqs[-1] > int(sent[1].split(":")[1]), "nothing came after the reconnection"

    assert reply["status"] == "completed"
    assert result["texts"] == {reply["id"]: reply["content"]}
    assert result["completed"] == {reply["id"]: "completed"}


def test_streams_say_how_soon_to_reconnect(http: httpx.Client) -> None:
    """``retry:`` rides on a stream's first event (no empty event is dispatched for it),
    the send's own stream and a follower's alike."""
    thread = http.post("/api/threads", json={"tools": []}).json()
    path = f"/api/threads/{thread['id']}"
    with httpx_sse.connect_sse(
        http, "POST", f"{path}/messages", json={"content": "Write about autumn"}
    ) as source:
        sent = list(source.iter_sse())
        generation = sent[0].id.split(":")[0]
    with httpx_sse.connect_sse(
        http, "GET", f"{path}/stream", params={"last_event_id": f"{generation}:2"}
    ) as source:
        followed = list(source.iter_sse())
    for events in (sent, followed):
        assert events[0].retry == 1000
        assert [event.retry for event in events[1:]] == [None] * (len(events) - 1)
        assert events[-1].event == "done"
    assert sent[0].event == "message.created"
    # Consecutive text events may reach a follower as one (README "Coalescing").
    assert _text(followed) == _text(sent)
    assert followed[-1].id == sent[-1].id


def _text(events: list[httpx_sse.ServerSentEvent]) -> str:
    return "".join(
        json.loads(event.data)["content"] for event in events if event.event == "message.delta"
    )
