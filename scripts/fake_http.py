"""The fake upstream's HTTP plumbing: ASGI types, JSON answers in OpenAI's error shape,
the deliberate connection drop, the recording of request bodies, and a uvicorn server
that prints its ready line.

Kept apart from ``scripts.fake_upstream`` so that module holds what a reply says and
how it misbehaves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import msgspec
import uvicorn

from api.llm import wire

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class DroppedConnection(Exception):
    """Raised inside a response on purpose: uvicorn then cuts the connection mid-body."""


class HideDeliberateDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for every ``[[drop:K]]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop the record) for a deliberate drop's traceback."""
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


async def read_body(receive: Receive) -> bytes:
    """The whole request body (what arrived before a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def send_json(
    send: Send, status: int, body: wire.JSON, retry_after_s: int | None = None
) -> None:
    """Answer ``status`` with a JSON body (and the retry headers the SDK reads)."""
    data = msgspec.json.encode(body)
    headers = [
        (b"content-type", wire.JSON_CONTENT_TYPE.encode()),
        (b"content-length", str(len(data)).encode()),
    ]
    if retry_after_s is not None:
        headers.append((b"retry-after", str(retry_after_s).encode()))
    elif status == 429 or status >= 500:
        # The SDK retries these; tell it to retry at once, so tests stay fast.
        headers.append((b"retry-after-ms", b"10"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


def failure(status: int) -> wire.JSON:
    """OpenAI's error body for a failure asked for with ``[[fail:STATUS]]`` or drawn."""
    message = f"fake upstream failure (directive [[fail:{status}]])"
    if status == 429:
        return wire.error(message, error_type="requests", code="rate_limit_exceeded")
    if status >= 500:
        return wire.error(message, error_type="server_error")
    return wire.error(message, error_type="invalid_request_error")


def bad_request(message: str) -> wire.JSON:
    """OpenAI's error body for an invalid request."""
    return wire.error(message, error_type="invalid_request_error")


def model_not_found(model_id: str) -> wire.JSON:
    """OpenAI's error body for an unknown model."""
    return wire.error(
        f"The model '{model_id}' does not exist.",
        error_type="invalid_request_error",
        code="model_not_found",
        param="model",
    )


def unknown_url(method: str, path: str) -> wire.JSON:
    """OpenAI's error body for a path it does not serve."""
    return wire.error(
        f"Unknown request URL: {method} {path}.",
        error_type="invalid_request_error",
        code="unknown_url",
    )


class ReadyServer(uvicorn.Server):
    """A uvicorn server that prints the ready line (with the bound port) once listening."""

    async def startup(self, sockets: Any = None) -> None:
        """Start as uvicorn does, then print ``listening on http://HOST:PORT``."""
        await super().startup(sockets=sockets)
        if not self.started:
            return
        host, port = self.config.host, self.config.port
        for server in self.servers:
            for sock in server.sockets:
                port = sock.getsockname()[1]
        print(f"listening on http://{host}:{port}", flush=True)


def recording(app: App, path: Path) -> App:
    """``app``, appending the body of every POST it gets to ``path``, one line each (JSON
    bodies hold no raw newline), before ``app`` reads it: tests compare what the relay
    sent with what it stored."""

    async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        parts: list[bytes] = []

        async def tee() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                parts.append(message.get("body", b""))
                if not message.get("more_body"):
                    async with await anyio.open_file(path, "ab") as file:
                        await file.write(b"".join(parts) + b"\n")
            return message

        await app(scope, tee, send)

    return recorded


def serve(app: App, host: str, port: int) -> None:
    """Serve the ASGI ``app`` until interrupted; quiet (no access log) so it can be benchmarked."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    logging.getLogger("uvicorn.error").addFilter(HideDeliberateDrops())
    ReadyServer(config).run()
