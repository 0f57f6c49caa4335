"""The fake upstream server as the SDK sees it, and the router's mapping of its failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx2
import msgspec
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from api.llm.errors import describe_upstream_error
from api.llm.request import ChatMessage
from api.llm.router import ModelRouter
from api.settings import ModelSettings
from scripts.fake_upstream import parse_directives, reply_text
from tests.fixtures.upstream import DEFAULT_CHUNKS, start_fake_upstream, stop_fake_upstream

SECRET = "sk-fake-secret-42"


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "[[fail:500]] only the last user message counts"},
            {"role": "user", "content": text}]  # fmt: skip


def chat(text: str) -> list[ChatMessage]:
    return msgspec.convert(ask(text), list[ChatMessage])


def sdk_ask(text: str) -> list[ChatCompletionMessageParam]:
    return cast(list[ChatCompletionMessageParam], ask(text))


@pytest.fixture
async def router(fake_upstream_url: str) -> AsyncIterator[ModelRouter]:
    settings = ModelSettings(
        openai_api_key=SECRET,
        openai_base_url=fake_upstream_url,
        playground_upstream_max_retries=0,
        playground_upstream_timeout_s=0.5,
    )
    models = ModelRouter(settings)
    await models.start()
    yield models
    await models.aclose()


async def read_deltas(stream: Any, deltas: list[str]) -> list[Any]:
    """Iterate a stream, appending content deltas as they come (kept if it breaks)."""
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
        deltas.extend(c.delta.content for c in chunk.choices if c.delta.content)
    return chunks


def test_parse_directives() -> None:
    found = parse_directives("hi [[drop:3]] [[slow:40]] [[chunks:7]] [[chunks:9]] [[nope:1]]")
    assert (found.drop, found.slow, found.chunks, found.fail) == (3, 40, 9, None)
    assert reply_text(3) == "chunk-0 chunk-1 chunk-2"


async def test_models(upstream: AsyncOpenAI) -> None:
    page = await upstream.models.list()
    assert [m.id for m in page.data] == ["fake-small", "fake-large"]


async def test_stream_with_usage(upstream: AsyncOpenAI) -> None:
    stream = await upstream.chat.completions.create(
        model="fake-small",
        messages=sdk_ask("hello there"),
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas: list[str] = []
    chunks = await read_deltas(stream, deltas)
    assert len(deltas) == DEFAULT_CHUNKS
    assert "".join(deltas) == reply_text(DEFAULT_CHUNKS)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == DEFAULT_CHUNKS
    assert chunks[-1].usage.prompt_tokens == 2 + 7
    assert chunks[-1].model == "fake-small"


async def test_stream_without_usage_and_overrides(upstream: AsyncOpenAI) -> None:
    stream = await upstream.chat.completions.create(
        model="fake-large", messages=sdk_ask("[[chunks:4]] [[slow:1]]"), stream=True
    )
    deltas: list[str] = []
    chunks = await read_deltas(stream, deltas)
    assert "".join(deltas) == reply_text(4)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_non_streamed_and_max_tokens(upstream: AsyncOpenAI) -> None:
    completion = await upstream.chat.completions.create(
        model="fake-small", messages=sdk_ask("hi [[slow:0]]"), max_tokens=3
    )
    assert completion.choices[0].message.content == reply_text(3)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 3


async def test_fail_500_before_streaming_maps_to_502(router: ModelRouter) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await router.open_stream("fake-small", chat("hi [[fail:500]]"), {})
    assert caught.value.status_code == 500
    status, detail = router.describe_error(caught.value)
    assert status == 502
    assert detail == "model server answered 500: fake upstream failure (directive [[fail:500]])"


async def test_fail_429_maps_to_502(router: ModelRouter) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await router.open_stream("fake-small", chat("[[fail:429]]"), {"temperature": 0.2})
    assert describe_upstream_error(caught.value)[0] == 502


async def test_timeout_before_first_byte_maps_to_504(router: ModelRouter) -> None:
    with pytest.raises(openai.APITimeoutError) as caught:
        await router.open_stream("fake-small", chat("[[delay:3000]]"), {})
    assert describe_upstream_error(caught.value) == (504, "model server timed out after 0.5s")


async def test_unreachable_server_maps_to_502() -> None:
    settings = ModelSettings(
        openai_base_url="http://127.0.0.1:9/v1",
        playground_models="m",
        playground_upstream_max_retries=0,
    )
    router = ModelRouter(settings)
    try:
        with pytest.raises(openai.APIConnectionError) as caught:
            await router.open_stream("m", chat("hi"), {})
    finally:
        await router.aclose()
    status, detail = router.describe_error(caught.value)
    assert status == 502
    assert detail.startswith("could not reach the model server: ")


async def test_drop_mid_stream_raises_after_k_deltas(router: ModelRouter) -> None:
    stream = await router.open_stream("fake-small", chat("[[drop:3]]"), {})
    deltas: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        await read_deltas(stream, deltas)
    assert "".join(deltas) == "chunk-0 chunk-1 chunk-2 "


async def test_malformed_chunk_raises_during_iteration(router: ModelRouter) -> None:
    stream = await router.open_stream("fake-small", chat("[[malformed:2]]"), {})
    deltas: list[str] = []
    with pytest.raises(ValueError, match="JSON is malformed") as caught:
        await read_deltas(stream, deltas)
    assert deltas == ["chunk-0 ", "chunk-1 "]
    status, detail = describe_upstream_error(caught.value)
    assert status == 502
    assert detail.startswith("model server sent a malformed stream")


@pytest.fixture(scope="module")
def authenticated_upstream_url() -> Iterator[str]:
    process, url = start_fake_upstream(["--api-key", SECRET])
    yield url
    stop_fake_upstream(process)


async def test_api_key_checked_and_never_echoed(authenticated_upstream_url: str) -> None:
    good = AsyncOpenAI(api_key=SECRET, base_url=authenticated_upstream_url, max_retries=0)
    bad = AsyncOpenAI(api_key="sk-wrong-key", base_url=authenticated_upstream_url, max_retries=0)
    try:
        assert [m.id for m in (await good.models.list()).data] == ["fake-small", "fake-large"]
        with pytest.raises(openai.AuthenticationError) as caught:
            await bad.chat.completions.create(model="fake-small", messages=sdk_ask("hi"))
    finally:
        await good.close()
        await bad.close()
    status, detail = describe_upstream_error(caught.value)
    assert (status, detail) == (502, "model server answered 401: Incorrect API key provided.")


def test_detail_masks_the_key_even_if_echoed() -> None:
    request = httpx2.Request(
        "POST", "http://x/v1/chat/completions", headers={"Authorization": f"Bearer {SECRET}"}
    )
    error = openai.APIConnectionError(message=f"proxy said: bad token {SECRET}", request=request)
    status, detail = describe_upstream_error(error)
    assert status == 502
    assert SECRET not in detail
    assert "***" in detail
