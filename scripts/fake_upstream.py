"""An OpenAI-compatible fake model server, run as its own process by tests and benchmarks.

    uv run python -m scripts.fake_upstream --host 127.0.0.1 --port 8011 \\
        [--chunks 50] [--interval-ms 20] [--api-key KEY] [--model NAME=MS ...]

It serves ``GET /v1/models`` (``fake-small``, ``fake-large``, and each ``--model``,
whose chunks come MS milliseconds apart: models at different speeds) and
``POST /v1/chat/completions``, streamed (with the usage chunk when asked) or not.
A reply is ``chunk-0 chunk-1 … chunk-{N-1}``, one word per content delta, a fixed
interval apart (see ``reply_text``). With ``--api-key`` a request needs
``Authorization: Bearer KEY`` or gets a 401 in OpenAI's error shape.

Directives in the last user message make a request misbehave, for tests:

- ``[[fail:500]]`` (any 4xx/5xx): answer that status with an OpenAI error body, no stream
- ``[[drop:K]]``: send K content chunks, then break the connection mid-body
- ``[[malformed:K]]``: after K content chunks send ``data: {not json``, then go on
- ``[[slow:MS]]``: MS milliseconds between chunks instead of ``--interval-ms``
- ``[[chunks:N]]``: N content chunks instead of ``--chunks``
- ``[[delay:MS]]``: wait MS milliseconds before answering at all (timeouts)
- ``[[truncate:K]]``: send K content chunks, then end the body cleanly with no finish
  reason, no usage and no ``data: [DONE]`` (a server that gave up quietly)
- ``[[no-done]]``: the whole reply, finish reason included, but no ``data: [DONE]``
- ``[[stall:K]]``: send K content chunks, then nothing more until the client leaves
- ``[[finish:REASON]]``: end with that finish reason (``length``, ``content_filter``)
- ``[[throttle:S]]``: the first request with this exact body gets a 429 with
  ``Retry-After: S``; a retry of it is answered normally
- ``[[echo]]``: reply with the messages received (role and content) as one JSON chunk
- ``[[tools]]`` (with ``tools`` in the request): reply as the offline model does
  (``api.llm.offline.compose_reply``, whose tool triggers ``api.llm.offline_tools``
  documents), so tool calls come as ``delta.tool_calls`` with each arguments string
  split into ``TOOL_PIECE_CHARS``-character pieces, paced like content chunks; the
  other directives still apply, ``[[drop:K]]``/``[[malformed:K]]`` counting those chunks

Every request must keep OpenAI's tool-call rule (``api.llm.wire.history_error``): one
that breaks it gets the 400 a real server gives, and an ERROR line on stderr, so a test
that sends a broken history fails loudly.

With ``--truncate-rate``, ``--drop-rate``, ``--malformed-rate``, ``--stall-rate``
(``--stall-ms``), ``--fail500-rate`` and ``--fail429-rate`` (shares of requests, 0 by
default) it also misbehaves by itself, at random (``--seed``): see ``scripts.fake_faults``.
A random stall pauses mid-stream and goes on, unlike ``[[stall:K]]``.

With ``--record PATH`` it appends every POST body it gets to PATH, one JSON per line.

It prints ``listening on http://HOST:PORT`` once ready (with the real port when
``--port 0``) and nothing per request, so it can be benchmarked.
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import msgspec

from api.llm import wire
from api.llm.offline import OfflineCall, compose_reply, reply_deltas, role_delta, with_tool_calls
from scripts.fake_faults import FaultDice, FaultRates, add_fault_arguments, rates_from_args
from scripts.fake_http import (
    DroppedConnection,
    Receive,
    Scope,
    Send,
    bad_request,
    failure,
    model_not_found,
    read_body,
    recording,
    send_json,
    serve,
    unknown_url,
)

logger = logging.getLogger("fake_upstream")

MODELS = ("fake-small", "fake-large")
OWNER = "fake-upstream"
FINGERPRINT = "fp_fake"
MALFORMED_LINE = b"data: {not json\n\n"

_DIRECTIVE = re.compile(
    r"\[\[(fail|drop|malformed|slow|chunks|delay|truncate|stall|throttle):(\d+)\]\]"
)
_FINISH = re.compile(r"\[\[finish:(\w+)\]\]")
NO_DONE = "[[no-done]]"
# Replies with the messages it was sent (role and content, as one JSON chunk), so tests
# can check exactly what the relay asked for.
ECHO = "[[echo]]"
# Answers like the offline model, tool calls included, when the request offers tools.
TOOLS = "[[tools]]"
# Small, so that even a short arguments string spans several chunks.
TOOL_PIECE_CHARS = 3


class Directives(msgspec.Struct, kw_only=True):
    """The failure modes and overrides asked for by one request."""

    fail: int | None = None
    drop: int | None = None
    malformed: int | None = None
    slow: int | None = None
    chunks: int | None = None
    delay: int | None = None
    truncate: int | None = None
    stall: int | None = None
    throttle: int | None = None
    finish: str | None = None
    no_done: bool = False
    # Set by a random stall (``scripts.fake_faults``), never by a message: after ``pause``
    # content chunks, wait ``pause_ms`` milliseconds, then go on.
    pause: int | None = None
    pause_ms: int = 0


def parse_directives(text: str) -> Directives:
    """Read the ``[[name:number]]`` directives out of a message text (last one wins)."""
    found: dict[str, object] = {name: int(value) for name, value in _DIRECTIVE.findall(text)}
    if finish := _FINISH.findall(text):
        found["finish"] = finish[-1]
    found["no_done"] = NO_DONE in text
    return msgspec.convert(found, Directives)


def reply_words(count: int) -> list[str]:
    """The content deltas of an ``count``-chunk reply, each word with its trailing space."""
    return [f"chunk-{i}" + (" " if i < count - 1 else "") for i in range(count)]


def reply_text(count: int) -> str:
    """The full text of a ``count``-chunk reply (the deltas joined)."""
    return "".join(reply_words(count))


class FakeUpstream:
    """The ASGI app: a minimal OpenAI chat-completions server with scripted failures."""

    def __init__(
        self,
        *,
        chunks: int = 50,
        interval_ms: float = 20.0,
        api_key: str | None = None,
        faults: FaultDice | None = None,
        paces: dict[str, float] | None = None,
    ):
        self.chunks = chunks
        self.interval_ms = interval_ms
        # Milliseconds between chunks per model, for models served at their own speed.
        self.paces = paces or {}
        self.models = (*MODELS, *(name for name in self.paces if name not in MODELS))
        self.api_key = api_key
        # Random faults for requests whose message asks for none (None: never).
        self.faults = faults
        # Bodies already answered with a [[throttle:S]] 429: their retry goes through.
        self._throttled: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope (HTTP only; lifespan is turned off)."""
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/")
        if self.api_key is not None and not self._authorized(scope):
            body = wire.error(
                "Incorrect API key provided.",
                error_type="invalid_request_error",
                code="invalid_api_key",
            )
            await send_json(send, 401, body)
        elif method == "GET" and path.endswith("/models"):
            await send_json(send, 200, wire.model_list(self.models, owned_by=OWNER))
        elif method == "GET" and "/models/" in path:
            model_id = path.rsplit("/models/", 1)[1]
            if model_id in self.models:
                await send_json(send, 200, wire.model_object(model_id, owned_by=OWNER))
            else:
                await send_json(send, 404, model_not_found(model_id))
        elif method == "POST" and path.endswith("/chat/completions"):
            await self._chat_completions(await read_body(receive), receive, send)
        else:
            await send_json(send, 404, unknown_url(method, scope["path"]))

    def _authorized(self, scope: Scope) -> bool:
        expected = f"Bearer {self.api_key}".encode()
        return any(k == b"authorization" and v == expected for k, v in scope["headers"])

    async def _chat_completions(self, raw: bytes, receive: Receive, send: Send) -> None:
        try:
            body = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            await send_json(send, 400, bad_request(f"The body is not valid JSON: {exc}"))
            return
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            await send_json(send, 400, bad_request("'messages' must be a list of objects."))
            return
        broken = wire.history_error(messages)
        if broken is not None:
            logger.error("rejected a request that breaks the tool-call rule: %s", broken)
            await send_json(send, 400, bad_request(broken))
            return
        directives = parse_directives(wire.last_user_text(messages) or "")
        if self.faults is not None and directives == Directives():
            directives = msgspec.structs.replace(directives, **self.faults.draw(self.chunks))
        if directives.delay:
            await anyio.sleep(directives.delay / 1000)
        if directives.fail is not None:
            await send_json(send, directives.fail, failure(directives.fail))
            return
        if directives.throttle is not None and raw not in self._throttled:
            self._throttled.add(raw)
            await send_json(send, 429, failure(429), retry_after_s=directives.throttle)
            return
        model = str(body.get("model", MODELS[0]))
        pace = self.paces.get(model, self.interval_ms)
        reply = _Reply(
            completion_id=f"chatcmpl-fake-{time.monotonic_ns()}",
            created=int(time.time()),
            model=model,
            interval=(pace if directives.slow is None else directives.slow) / 1000,
            directives=directives,
            **self._content(body, messages, directives),
        )
        if body.get("stream"):
            await _stream(reply, wire.wants_usage(body), receive, send)
        else:
            await _complete(reply, send)

    def _content(
        self, body: dict[str, Any], messages: list[dict[str, Any]], directives: Directives
    ) -> dict[str, Any]:
        """What the reply says: its deltas, text, calls, finish reason and usage."""
        text = wire.last_user_text(messages) or ""
        limit = wire.requested_max_tokens(body)
        tools = wire.request_tools(body)
        if tools and TOOLS in text:
            composed = compose_reply(
                messages, tools=tools, tool_choice=body.get("tool_choice"), max_tokens=limit
            )
            return {
                "role": role_delta(composed),
                "deltas": reply_deltas(composed, piece_chars=TOOL_PIECE_CHARS),
                "content": composed.text,
                "tool_calls": composed.tool_calls,
                "finish_reason": composed.finish_reason,
                "usage": composed.usage,
            }
        count = self.chunks if directives.chunks is None else directives.chunks
        finish_reason = directives.finish or "stop"
        if limit is not None and limit < count:
            count, finish_reason = max(limit, 0), "length"
        words = reply_words(count)
        if ECHO in text:
            sent = [{"role": m.get("role"), "content": m.get("content")} for m in messages]
            words, count = [msgspec.json.encode(sent).decode()], 1
        usage = wire.Usage(prompt_tokens=wire.prompt_word_count(messages), completion_tokens=count)
        return {
            "deltas": [{"content": word} for word in words],
            "content": "".join(words),
            "finish_reason": finish_reason,
            "usage": usage,
        }


class _Reply(msgspec.Struct, kw_only=True):
    completion_id: str
    created: int
    model: str
    # The deltas between the role chunk and the finish chunk, one chunk each.
    deltas: list[wire.JSON]
    content: str
    finish_reason: str
    usage: wire.Usage
    interval: float
    directives: Directives
    role: wire.JSON = msgspec.field(default_factory=lambda: {"role": "assistant", "content": ""})
    tool_calls: list[OfflineCall] = msgspec.field(default_factory=list)

    def chunk(self, delta: wire.JSON, finish_reason: str | None = None) -> bytes:
        return wire.sse_event(
            wire.chunk(
                completion_id=self.completion_id,
                created=self.created,
                model=self.model,
                delta=delta,
                finish_reason=finish_reason,
                system_fingerprint=FINGERPRINT,
            )
        )


async def _stream(reply: _Reply, include_usage: bool, receive: Receive, send: Send) -> None:
    headers = [(b"content-type", wire.SSE_CONTENT_TYPE.encode()), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    dropped = False
    async with anyio.create_task_group() as tasks:

        async def stop_on_disconnect() -> None:
            # uvicorn silently swallows writes to a closed connection; stop producing.
            while (await receive())["type"] != "http.disconnect":
                pass
            tasks.cancel_scope.cancel()

        tasks.start_soon(stop_on_disconnect)
        dropped = await _send_chunks(reply, include_usage, send)
        tasks.cancel_scope.cancel()
    if dropped:
        raise DroppedConnection


async def _send_chunks(reply: _Reply, include_usage: bool, send: Send) -> bool:
    """Send the SSE body; True when a ``[[drop:K]]`` asks for the connection to break."""
    directives = reply.directives

    async def body(data: bytes) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": True})

    await body(reply.chunk(reply.role))
    for sent in range(len(reply.deltas) + 1):
        if sent == directives.drop:
            return True
        if sent == directives.truncate:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return False
        if sent == directives.stall:
            await anyio.sleep_forever()
        if sent == directives.pause:
            await anyio.sleep(directives.pause_ms / 1000)
        if sent == directives.malformed:
            await body(MALFORMED_LINE)
        if sent == len(reply.deltas):
            break
        if sent and reply.interval > 0:
            await anyio.sleep(reply.interval)
        await body(reply.chunk(reply.deltas[sent]))
    await body(reply.chunk({}, reply.finish_reason))
    if include_usage:
        usage = wire.usage_chunk(
            completion_id=reply.completion_id,
            created=reply.created,
            model=reply.model,
            usage=reply.usage,
        )
        await body(wire.sse_event(usage))
    done = b"" if directives.no_done else wire.SSE_DONE
    await send({"type": "http.response.body", "body": done, "more_body": False})
    return False


async def _complete(reply: _Reply, send: Send) -> None:
    # A non-streamed answer takes as long as the streamed one would, then comes whole.
    if reply.interval > 0 and len(reply.deltas) > 1:
        await anyio.sleep(reply.interval * (len(reply.deltas) - 1))
    completion = wire.completion(
        completion_id=reply.completion_id,
        created=reply.created,
        model=reply.model,
        content=reply.content,
        finish_reason=reply.finish_reason,
        usage=reply.usage,
    )
    body = msgspec.json.encode(with_tool_calls(completion, reply.tool_calls))
    if reply.directives.malformed is not None:
        body = b"{not json"
    headers = [
        (b"content-type", wire.JSON_CONTENT_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if reply.directives.drop is not None:
        # Half the promised bytes, then a cut connection: an incomplete body.
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise DroppedConnection
    await send({"type": "http.response.body", "body": body, "more_body": False})


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011, help="0 picks a free port")
    parser.add_argument("--chunks", type=int, default=50, help="content chunks per reply")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="delay between chunks")
    parser.add_argument("--api-key", default=None, help="require this Bearer token")
    parser.add_argument("--record", type=Path, default=None, help="append POST bodies here")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=MS",
        help="serve NAME too (or pace it): MS milliseconds between its chunks",
    )
    add_fault_arguments(parser, FaultRates())
    args = parser.parse_args(argv)
    rates = rates_from_args(args)
    app = FakeUpstream(
        chunks=args.chunks,
        interval_ms=args.interval_ms,
        api_key=args.api_key,
        faults=FaultDice(rates, args.seed) if rates.any else None,
        paces={name: float(ms) for name, _, ms in (item.partition("=") for item in args.model)},
    )
    serve(app if args.record is None else recording(app, args.record), args.host, args.port)


if __name__ == "__main__":
    main()
