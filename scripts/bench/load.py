"""The benchmark's clients: one streamed request per target (the loops are in ``loops``).

- **direct** and **litellm**: ``AsyncOpenAI`` with ``stream=True`` and
  ``stream_options={"include_usage": True}``, as any application would call a model.
- **playground**: ``POST /api/threads/{id}/messages`` read as SSE with httpx-sse to
  ``done`` (the thread was created beforehand, outside the timed window).

A reply is correct when its text is exactly the upstream's (``chunk-0 … chunk-{N-1}``);
anything else is an error with a reason, so a relay that drops, reorders or
duplicates text cannot look fast.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import httpx
import httpx2
import msgspec
from httpx_sse import aconnect_sse
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from scripts.bench.records import RequestSample

_CHUNK_WORD = re.compile(r"chunk-\d+")
PROMPT = "Benchmark request: stream your reply."

RequestFn = Callable[[int], Awaitable[RequestSample]]


def count_chunks(text: str) -> int:
    """Upstream chunks whose text is in ``text`` (each is one ``chunk-<i>`` word)."""
    return len(_CHUNK_WORD.findall(text))


def _error(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _sample(
    start: float, ttft: float | None, parts: list[str], expected: str, error: str | None
) -> RequestSample:
    text = "".join(parts)
    if error is None and text != expected:
        error = f"content mismatch: {count_chunks(text)} of {count_chunks(expected)} chunks"
    return RequestSample(
        ok=error is None,
        total_s=time.perf_counter() - start,
        ttft_s=None if ttft is None else ttft - start,
        chunks=count_chunks(text),
        deltas=len(parts),
        error=error,
    )


def _pool(concurrency: int) -> int:
    """Enough pooled connections that a client never queues a request of the level."""
    return concurrency + 8


def openai_client(base_url: str, api_key: str, concurrency: int, timeout: float) -> AsyncOpenAI:
    """The SDK client for direct and LiteLLM: no retries, no proxies from the environment."""
    return AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        # The SDK speaks httpx2 (its own fork of httpx), hence its Limits here.
        http_client=DefaultAsyncHttpxClient(
            limits=httpx2.Limits(
                max_connections=_pool(concurrency), max_keepalive_connections=_pool(concurrency)
            ),
            timeout=timeout,
            trust_env=False,
        ),
    )


async def openai_request(
    client: AsyncOpenAI, model: str, content: str, expected: str
) -> RequestSample:
    """One streamed chat completion; TTFT at the first non-empty content delta."""
    start = time.perf_counter()
    ttft: float | None = None
    parts: list[str] = []
    error: str | None = None
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": content}],
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                if ttft is None:
                    ttft = time.perf_counter()
                parts.append(chunk.choices[0].delta.content)
    except Exception as exc:
        error = _error(exc)
    return _sample(start, ttft, parts, expected, error)


def playground_client(base_url: str, concurrency: int, timeout: float) -> httpx.AsyncClient:
    """The HTTP client for the playground: no proxies from the environment."""
    return httpx.AsyncClient(
        base_url=base_url,
        limits=httpx.Limits(
            max_connections=_pool(concurrency), max_keepalive_connections=_pool(concurrency)
        ),
        timeout=timeout,
        trust_env=False,
    )


async def create_thread(http: httpx.AsyncClient, model: str) -> str:
    """A bench thread: no tools, no default system prompt, so the relay is what is measured."""
    response = await http.post(
        "/api/threads", json={"model": model, "tools": [], "default_system_prompt": False}
    )
    response.raise_for_status()
    thread_id: str = response.json()["id"]
    return thread_id


async def create_threads(http: httpx.AsyncClient, model: str, count: int) -> list[str]:
    """``count`` bench threads, created a few at a time."""
    gate = asyncio.Semaphore(16)

    async def one() -> str:
        async with gate:
            return await create_thread(http, model)

    return list(await asyncio.gather(*(one() for _ in range(count))))


class _Delta(msgspec.Struct):
    content: str


class _Failure(msgspec.Struct):
    code: str | None = None
    detail: str | None = None


async def playground_request(
    http: httpx.AsyncClient, thread_id: str, content: str, expected: str
) -> RequestSample:
    """One send, its SSE stream read to ``done``; TTFT at the first ``message.delta``."""
    start = time.perf_counter()
    ttft: float | None = None
    parts: list[str] = []
    error: str | None = None
    done = False
    try:
        async with aconnect_sse(
            http, "POST", f"/api/threads/{thread_id}/messages", json={"content": content}
        ) as source:
            if source.response.status_code != 200:
                body = (await source.response.aread())[:160].decode(errors="replace")
                error = f"HTTP {source.response.status_code}: {body}"
            else:
                async for event in source.aiter_sse():
                    if event.event == "message.delta":
                        if ttft is None:
                            ttft = time.perf_counter()
                        parts.append(msgspec.json.decode(event.data, type=_Delta).content)
                    elif event.event == "error":
                        failure = msgspec.json.decode(event.data, type=_Failure)
                        error = f"stream error {failure.code}: {failure.detail}"
                    elif event.event == "done":
                        done = True
                        break
                if not done and error is None:
                    error = "stream ended without done"
    except Exception as exc:
        error = _error(exc)
    return _sample(start, ttft, parts, expected, error)
