"""The offline model's server: an httpx2 transport answering the OpenAI HTTP API in-process.

``AsyncOpenAI`` is given this transport instead of a network connection, so the SDK
and everything behind it run exactly as against a real server; the replies come
from ``api.llm.offline`` and really arrive chunk by chunk, a delay apart.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import anyio
import httpx2
import msgspec

from api.llm import wire
from api.llm.offline import OFFLINE_OWNER, compose_reply, reply_chunks, reply_completion
from api.settings import OFFLINE_MODEL

OFFLINE_API_KEY = "offline"
# ``.invalid`` never resolves, so a request that somehow bypassed the transport fails.
OFFLINE_BASE_URL = "http://offline.invalid/v1"


class PacedByteStream(httpx2.AsyncByteStream):
    """A response body sent part by part, ``delay`` seconds apart.

    This is what makes the offline reply arrive over time: the client reads each part
    as it is produced (``httpx.ASGITransport`` would buffer the whole body instead).
    """

    def __init__(self, parts: Sequence[bytes], delay: float) -> None:
        self._parts = parts
        self._delay = delay

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, part in enumerate(self._parts):
            if index and self._delay > 0:
                await anyio.sleep(self._delay)
            yield part


class OfflineTransport(httpx2.AsyncBaseTransport):
    """An in-process OpenAI-compatible server for the offline model.

    Answers ``POST …/chat/completions`` (streamed or not), ``GET …/models`` and
    ``GET …/models/{id}``; anything else gets a 404 in OpenAI's error shape.
    """

    def __init__(self, *, chunk_delay: float = 0.03, model: str = OFFLINE_MODEL) -> None:
        self.chunk_delay = chunk_delay
        self.model = model

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Route one request the way an OpenAI-compatible server would."""
        path = request.url.path.rstrip("/")
        if request.method == "POST" and path.endswith("/chat/completions"):
            return await self._chat_completions(request)
        if request.method == "GET" and path.endswith("/models"):
            return _json(200, wire.model_list([self.model], owned_by=OFFLINE_OWNER), request)
        if request.method == "GET" and "/models/" in path:
            model_id = path.rsplit("/models/", 1)[1]
            if model_id == self.model:
                return _json(200, wire.model_object(model_id, owned_by=OFFLINE_OWNER), request)
            return self._unknown_model(model_id, request)
        body = wire.error(
            f"Unknown request URL: {request.method} {request.url.path}.",
            error_type="invalid_request_error",
            code="unknown_url",
        )
        return _json(404, body, request)

    async def _chat_completions(self, request: httpx2.Request) -> httpx2.Response:
        try:
            body = msgspec.json.decode(await request.aread())
        except msgspec.DecodeError as exc:
            return _bad_request(f"The request body is not valid JSON: {exc}", None, request)
        if not isinstance(body, dict):
            return _bad_request("The request body must be a JSON object.", None, request)
        model, messages = body.get("model"), body.get("messages")
        if model != self.model:
            return self._unknown_model(str(model), request)
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return _bad_request(
                "'messages' must be a list of message objects.", "messages", request
            )
        broken = wire.history_error(messages)
        if broken is not None:
            return _bad_request(broken, "messages", request)
        seed, temperature = body.get("seed"), body.get("temperature")
        reply = compose_reply(
            messages,
            tools=wire.request_tools(body),
            tool_choice=body.get("tool_choice"),
            max_tokens=wire.requested_max_tokens(body),
            seed=seed if isinstance(seed, int) else None,
            temperature=float(temperature) if isinstance(temperature, int | float) else None,
        )
        created = int(time.time())
        if not body.get("stream"):
            return _json(200, reply_completion(reply, model=self.model, created=created), request)
        chunks = reply_chunks(
            reply, model=self.model, created=created, include_usage=wire.wants_usage(body)
        )
        parts = [wire.sse_event(c) for c in chunks] + [wire.SSE_DONE]
        return httpx2.Response(
            200,
            headers={"content-type": wire.SSE_CONTENT_TYPE, "cache-control": "no-cache"},
            stream=PacedByteStream(parts, self.chunk_delay),
            request=request,
        )

    def _unknown_model(self, model_id: str, request: httpx2.Request) -> httpx2.Response:
        body = wire.error(
            f"The model '{model_id}' does not exist; the offline server has only '{self.model}'.",
            error_type="invalid_request_error",
            code="model_not_found",
            param="model",
        )
        return _json(404, body, request)


def _json(status: int, body: wire.JSON, request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(
        status,
        content=msgspec.json.encode(body),
        headers={"content-type": wire.JSON_CONTENT_TYPE},
        request=request,
    )


def _bad_request(message: str, param: str | None, request: httpx2.Request) -> httpx2.Response:
    body = wire.error(message, error_type="invalid_request_error", param=param)
    return _json(400, body, request)
