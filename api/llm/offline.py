"""The offline model: deterministic replies, streamed over time through the OpenAI client.

With no API key the playground still has a model: ``OfflineTransport``
(``api.llm.offline_server``) is an httpx2 transport that answers the OpenAI HTTP API
in-process, so ``AsyncOpenAI`` (and all the code behind it) runs exactly as against a
real server. Its replies are composed
from the conversation (same input, same words) and really arrive chunk by chunk, a
delay apart, so streaming, cancelling and persisting can be shown without a key.

When the request offers tools, the rules in ``api.llm.offline_tools`` decide whether it
calls some instead (the triggers are documented there). Tool calls are streamed as
OpenAI does: ``delta.tool_calls`` items with an ``index``, the first carrying the call's
id and name, the arguments string split across several chunks, and the finish reason
``tool_calls``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from api.llm import wire
from api.llm.offline_tools import plan_tools

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
# Characters of a call's arguments per streamed chunk (at least two chunks per call).
ARGUMENT_PIECE_CHARS = 8


class TextStep(msgspec.Struct, frozen=True, tag="text"):
    """A piece of reply text (a word and its trailing space), sent as one content delta."""

    content: str


class OfflineCall(msgspec.Struct, frozen=True):
    """One function call: its id (deterministic), the function's name and its arguments."""

    id: str
    name: str
    arguments_json: str


class ToolCallStep(msgspec.Struct, frozen=True, tag="tool_calls"):
    """The calls of one turn (several are parallel calls), sent as ``delta.tool_calls``."""

    calls: list[OfflineCall]


# What a reply is made of, in order.
ReplyStep = TextStep | ToolCallStep


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
        return "".join(step.content for step in self.steps if isinstance(step, TextStep))

    @property
    def tool_calls(self) -> list[OfflineCall]:
        """Every call the reply makes, in order."""
        return [
            call for step in self.steps if isinstance(step, ToolCallStep) for call in step.calls
        ]

    @property
    def usage(self) -> wire.Usage:
        """Token counts: prompt words, and one token per streamed chunk."""
        pieces = sum(len(split_arguments(call.arguments_json)) for call in self.tool_calls)
        texts = sum(1 for step in self.steps if isinstance(step, TextStep))
        return wire.Usage(prompt_tokens=self.prompt_tokens, completion_tokens=texts + pieces)


def split_arguments(arguments: str, piece_chars: int = ARGUMENT_PIECE_CHARS) -> list[str]:
    """A call's arguments string cut into pieces of ``piece_chars`` (two at least, if it can).

    Real servers stream arguments a few characters at a time; clients must join them.
    """
    size = max(1, min(piece_chars, (len(arguments) + 1) // 2))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def compose_reply(
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: object = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    temperature: float | None = None,
) -> OfflineReply:
    """Compose the offline model's reply to ``messages``.

    Deterministic: the wording is picked by a hash of the messages, ``seed`` and
    ``temperature``, so the same request always gets the same reply while a different
    seed shows that sampling parameters reach the model. ``max_tokens`` cuts the reply
    after that many chunks (finish reason ``length``). With ``tools`` the reply may be
    one step of tool calls (finish reason ``tool_calls``) or a text answer built from
    tool results, by the rules of ``api.llm.offline_tools``.
    """
    digest = hashlib.sha256(
        msgspec.json.encode([messages, tools or [], seed, temperature], order="deterministic")
    ).digest()
    fingerprint = digest.hex()
    prompt_tokens = wire.prompt_word_count(messages)
    plan = plan_tools(messages, tools, tool_choice)
    if plan is not None and plan.calls:
        calls = [
            OfflineCall(
                id=_call_id(fingerprint, index), name=c.name, arguments_json=c.arguments_json
            )
            for index, c in enumerate(plan.calls)
        ]
        return OfflineReply(
            steps=[ToolCallStep(calls)],
            finish_reason="tool_calls",
            prompt_tokens=prompt_tokens,
            fingerprint=fingerprint,
        )
    text = plan.text if plan is not None and plan.text else _reply_text(messages, digest)
    words = text.split()
    steps: list[ReplyStep] = [TextStep(word + " ") for word in words[:-1]]
    steps.append(TextStep(words[-1]))
    finish_reason = "stop"
    if max_tokens is not None and len(steps) > max_tokens:
        steps, finish_reason = steps[: max(max_tokens, 0)], "length"
    return OfflineReply(
        steps=steps,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        fingerprint=fingerprint,
    )


def _call_id(fingerprint: str, index: int) -> str:
    # From the request's hash: a new round (new messages) gets new ids, a replay the same.
    return "call_" + hashlib.sha256(f"{fingerprint}:{index}".encode()).hexdigest()[:24]


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


def role_delta(reply: OfflineReply) -> wire.JSON:
    """The first delta of a streamed reply: the role (content null before tool calls)."""
    starts_with_calls = bool(reply.steps) and isinstance(reply.steps[0], ToolCallStep)
    return {"role": "assistant", "content": None if starts_with_calls else ""}


def reply_deltas(
    reply: OfflineReply, *, piece_chars: int = ARGUMENT_PIECE_CHARS
) -> list[wire.JSON]:
    """The deltas of a streamed reply between the role chunk and the finish chunk.

    A text step is one ``content`` delta. A call is ``piece_chars``-long pieces of its
    arguments, each a ``tool_calls`` delta with the call's index; the first also
    carries the id, type and function name, as OpenAI's do.
    """
    deltas: list[wire.JSON] = []
    for step in reply.steps:
        if isinstance(step, TextStep):
            deltas.append({"content": step.content})
            continue
        for index, call in enumerate(step.calls):
            for number, piece in enumerate(split_arguments(call.arguments_json, piece_chars)):
                item: wire.JSON = {"index": index, "function": {"arguments": piece}}
                if number == 0:
                    item = {
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": piece},
                    }
                deltas.append({"tool_calls": [item]})
    return deltas


def reply_chunks(
    reply: OfflineReply, *, model: str, created: int, include_usage: bool
) -> list[wire.JSON]:
    """The ``chat.completion.chunk`` objects of a streamed reply, in order.

    As OpenAI does: a first chunk with the role, one per delta (``reply_deltas``), one
    with the finish reason, then (when asked) a usage chunk without choices.
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

    chunks = [one(role_delta(reply))]
    chunks += [one(delta) for delta in reply_deltas(reply)]
    chunks.append(one({}, reply.finish_reason))
    if include_usage:
        chunks.append(
            wire.usage_chunk(completion_id=cid, created=created, model=model, usage=reply.usage)
        )
    return chunks


def reply_completion(reply: OfflineReply, *, model: str, created: int) -> wire.JSON:
    """The non-streamed ``chat.completion`` body of a reply (with ``message.tool_calls``)."""
    body = wire.completion(
        completion_id=completion_id(reply),
        created=created,
        model=model,
        content=reply.text,
        finish_reason=reply.finish_reason,
        usage=reply.usage,
    )
    return with_tool_calls(body, reply.tool_calls)


def with_tool_calls(body: wire.JSON, calls: Sequence[OfflineCall]) -> wire.JSON:
    """A ``chat.completion`` body whose message also makes ``calls`` (unchanged if none)."""
    if not calls:
        return body
    message = body["choices"][0]["message"]
    message["content"] = message["content"] or None
    message["tool_calls"] = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for call in calls
    ]
    return body
