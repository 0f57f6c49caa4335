"""The offline model: deterministic replies, streamed over time through the OpenAI client.

With no API key the playground still has a model: ``OfflineTransport`` is an httpx2
transport that answers the OpenAI HTTP API in-process, so ``AsyncOpenAI`` (and all
the code behind it) runs exactly as against a real server. Its replies are composed
from the conversation (same input, same words) and really arrive chunk by chunk, a
delay apart, so streaming, cancelling and persisting can be shown without a key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import httpx2
import msgspec

from api.llm import wire
from api.settings import OFFLINE_MODEL

OFFLINE_API_KEY = "offline"
# ``.invalid`` never resolves, so a request that somehow bypassed the transport fails.
OFFLINE_BASE_URL = "http://offline.invalid/v1"
OFFLINE_OWNER = "playground"

_QUOTE_WORDS = 12
_PUNCTUATION = ".,;:!?\"'()[]“”\u2018\u2019…"

_OBSERVATIONS = (
    "That was {words} words, in a conversation of {messages} messages so far.",
    "Your longest word there was “{longest}”, and I counted {words} words in all.",
    "This is turn {turn} of our chat, and I have read {total} words of it.",
)
_NATURE = (
    "I am a deterministic stand-in: the same conversation always gets this same reply.",
    "Nothing left this machine: the reply is composed locally, one word at a time.",
    "I only echo and count, but every playground feature works with me.",
)
_CLOSINGS = (
    "Set OPENAI_API_KEY or OPENAI_BASE_URL to talk to a real model.",
    "Once a key is set, pick another model for real answers.",
    "Edit your message or regenerate: the same input gets the same words.",
)
_SYSTEM_NOTE = "I also read a system prompt of {words} words."


class TextStep(msgspec.Struct, frozen=True):
    """A piece of reply text (a word and its trailing space), sent as one content delta."""

    content: str


# What a reply is made of, in order. Kept as a union-to-be so that function calling
# can add a tool-call step (rendered as ``delta.tool_calls``) without reshaping callers.
ReplyStep = TextStep


class OfflineReply(msgspec.Struct, frozen=True, kw_only=True):
    """The offline model's whole answer to one request, before it is put on the wire."""

    steps: list[ReplyStep]
    finish_reason: str
    prompt_tokens: int
    # Hex digest of the request; names the completion so equal requests get equal ids.
    fingerprint: str

    @property
    def text(self) -> str:
        """The reply text: every text step joined."""
        return "".join(step.content for step in self.steps)

    @property
    def usage(self) -> wire.Usage:
        """Token counts: prompt words, and one token per streamed chunk."""
        return wire.Usage(prompt_tokens=self.prompt_tokens, completion_tokens=len(self.steps))


def compose_reply(
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    temperature: float | None = None,
) -> OfflineReply:
    """Compose the offline model's reply to ``messages``.

    Deterministic: the wording is picked by a hash of the messages, ``seed`` and
    ``temperature``, so the same request always gets the same reply while a different
    seed shows that sampling parameters reach the model. ``max_tokens`` cuts the reply
    after that many chunks (finish reason ``length``). ``tools`` is accepted for the
    function-calling step to come and does not change the reply yet.
    """
    digest = hashlib.sha256(
        msgspec.json.encode([messages, tools or [], seed, temperature], order="deterministic")
    ).digest()
    words = _reply_text(messages, digest).split()
    steps = [TextStep(word + " ") for word in words[:-1]] + [TextStep(words[-1])]
    finish_reason = "stop"
    if max_tokens is not None and len(steps) > max_tokens:
        steps, finish_reason = steps[: max(max_tokens, 0)], "length"
    return OfflineReply(
        steps=steps,
        finish_reason=finish_reason,
        prompt_tokens=wire.prompt_word_count(messages),
        fingerprint=digest.hex(),
    )


def _reply_text(messages: Sequence[Mapping[str, Any]], digest: bytes) -> str:
    said = (wire.last_user_text(messages) or "").split()
    if said:
        quote = " ".join(said[:_QUOTE_WORDS]) + ("…" if len(said) > _QUOTE_WORDS else "")
        opening = f"Offline model here. You said: “{quote}”."
    else:
        opening = "Offline model here. You have not said anything yet."
    turns = sum(1 for m in messages if m.get("role") == "user")
    observation = _OBSERVATIONS[digest[0] % len(_OBSERVATIONS)].format(
        words=len(said),
        messages=len(messages),
        longest=max((w.strip(_PUNCTUATION) or w for w in said), key=len, default="nothing"),
        turn=max(turns, 1),
        total=wire.prompt_word_count(messages),
    )
    sentences = [opening, observation, _NATURE[digest[1] % len(_NATURE)]]
    system_words = sum(
        len(wire.content_text(m.get("content")).split())
        for m in messages
        if m.get("role") in ("system", "developer")
    )
    if system_words:
        sentences.append(_SYSTEM_NOTE.format(words=system_words))
    sentences.append(_CLOSINGS[digest[2] % len(_CLOSINGS)])
    return " ".join(sentences)


def completion_id(reply: OfflineReply) -> str:
    """The deterministic ``id`` of a reply's completion."""
    return f"chatcmpl-offline-{reply.fingerprint[:24]}"


def reply_chunks(
    reply: OfflineReply, *, model: str, created: int, include_usage: bool
) -> list[wire.JSON]:
    """The ``chat.completion.chunk`` objects of a streamed reply, in order.

    As OpenAI does: a first chunk with the role, one per text step, one with the finish
    reason, then (when asked) a usage chunk without choices.
    """
    cid = completion_id(reply)

    def one(delta: wire.JSON, finish_reason: str | None = None) -> wire.JSON:
        return wire.chunk(
            completion_id=cid,
            created=created,
            model=model,
            delta=delta,
            finish_reason=finish_reason,
        )

    chunks = [one({"role": "assistant", "content": ""})]
    chunks += [one({"content": step.content}) for step in reply.steps]
    chunks.append(one({}, reply.finish_reason))
    if include_usage:
        chunks.append(
            wire.usage_chunk(completion_id=cid, created=created, model=model, usage=reply.usage)
        )
    return chunks


def reply_completion(reply: OfflineReply, *, model: str, created: int) -> wire.JSON:
    """The non-streamed ``chat.completion`` body of a reply."""
    return wire.completion(
        completion_id=completion_id(reply),
        created=created,
        model=model,
        content=reply.text,
        finish_reason=reply.finish_reason,
        usage=reply.usage,
    )


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
        seed, temperature = body.get("seed"), body.get("temperature")
        reply = compose_reply(
            messages,
            tools=body.get("tools") if isinstance(body.get("tools"), list) else None,
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
