"""The offline model, reached through AsyncOpenAI as any model is, and the model router."""

from __future__ import annotations

import logging
import time
from typing import Any, cast

import httpx2
import msgspec
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from api.llm.offline import compose_reply
from api.llm.offline_server import OFFLINE_BASE_URL, OfflineTransport
from api.llm.request import ChatMessage
from api.llm.router import FALLBACK_MODELS, ModelRouter, UnknownModelError
from api.settings import OFFLINE_MODEL, ModelSettings

DELAY = 0.005
HELLO: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hello there, how is the weather today?"},
]
# The same, typed as the SDK wants it.
SDK_HELLO = cast(list[ChatCompletionMessageParam], HELLO)


@pytest.fixture
def offline_chunk_delay() -> float:
    # Paced enough that the spread of arrival times stands out from scheduling noise.
    return DELAY


async def collect(client: AsyncOpenAI, **kwargs: Any) -> tuple[list[str], list[float], list[Any]]:
    """Stream a completion: the content deltas, when each arrived, and every chunk."""
    stream = await client.chat.completions.create(
        model=OFFLINE_MODEL, stream=True, stream_options={"include_usage": True}, **kwargs
    )
    deltas: list[str] = []
    arrived: list[float] = []
    chunks: list[Any] = []
    async for chunk in stream:
        chunks.append(chunk)
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
                arrived.append(time.monotonic())
    return deltas, arrived, chunks


async def test_stream_arrives_over_time(offline: AsyncOpenAI) -> None:
    deltas, arrived, _ = await collect(offline, messages=SDK_HELLO)
    assert 30 <= len(deltas) <= 60
    # Spread over time, not buffered: at least half the nominal pacing between first and last.
    assert arrived[-1] - arrived[0] >= (len(deltas) - 1) * DELAY * 0.5


async def test_reply_is_deterministic_and_offline(offline: AsyncOpenAI) -> None:
    first, _, _ = await collect(offline, messages=SDK_HELLO)
    second, _, _ = await collect(offline, messages=SDK_HELLO)
    text = "".join(first)
    assert first == second
    assert text == compose_reply(HELLO).text
    assert text.startswith(
        "Offline model here. You said: “Hello there, how is the weather today?”."
    )
    assert "system prompt of 3 words" in text


async def test_seed_changes_wording_deterministically() -> None:
    texts = {compose_reply(HELLO, seed=seed).text for seed in range(12)}
    assert len(texts) > 1
    assert compose_reply(HELLO, seed=7).text == compose_reply(HELLO, seed=7).text


async def test_usage_chunk_last(offline: AsyncOpenAI) -> None:
    deltas, _, chunks = await collect(offline, messages=SDK_HELLO)
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["stop"]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == len(deltas)
    assert last.usage.prompt_tokens == 3 + 7
    assert last.usage.total_tokens == last.usage.prompt_tokens + len(deltas)
    assert all(c.usage is None for c in chunks[:-1])


async def test_max_tokens_stops_with_length(offline: AsyncOpenAI) -> None:
    deltas, _, chunks = await collect(offline, messages=SDK_HELLO, max_tokens=5)
    assert len(deltas) == 5
    assert "".join(deltas).split() == compose_reply(HELLO).text.split()[:5]
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["length"]
    assert chunks[-1].usage.completion_tokens == 5


async def test_non_streamed_completion(offline: AsyncOpenAI) -> None:
    completion = await offline.chat.completions.create(
        model=OFFLINE_MODEL, messages=SDK_HELLO, max_completion_tokens=3
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "length"
    # Cut after 3 chunks, trailing space included: what the stream would have sent.
    assert completion.choices[0].message.content == "Offline model here. "
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


async def test_models_list(offline: AsyncOpenAI) -> None:
    page = await offline.models.list()
    assert [m.id for m in page.data] == [OFFLINE_MODEL]
    model = await offline.models.retrieve(OFFLINE_MODEL)
    assert model.owned_by == "playground"


async def test_unknown_model_and_path_are_404(offline: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await offline.chat.completions.create(model="gpt-4o", messages=SDK_HELLO)
    assert caught.value.code == "model_not_found"
    http = httpx2.AsyncClient(transport=OfflineTransport())
    response = await http.post(f"{OFFLINE_BASE_URL}/embeddings", json={})
    await http.aclose()
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"


async def test_router_without_upstream() -> None:
    router = ModelRouter(ModelSettings(playground_offline_chunk_delay_ms=1))
    await router.start()
    try:
        assert [m.id for m in router.models] == [OFFLINE_MODEL]
        assert router.models[0].offline
        assert router.default_model == OFFLINE_MODEL
        assert router.is_known(OFFLINE_MODEL)
        assert not router.is_known("gpt-4o")
        with pytest.raises(UnknownModelError):
            router.client_for("gpt-4o")
        stream = await router.open_stream(
            OFFLINE_MODEL,
            msgspec.convert(HELLO, list[ChatMessage]),
            {"temperature": None, "seed": 3, "top_k": 5},
        )
        text = ""
        async for chunk in stream:
            text += "".join(c.delta.content or "" for c in chunk.choices if c.delta)
        assert text == compose_reply(HELLO, seed=3).text
    finally:
        await router.aclose()


async def test_router_lists_upstream_models(fake_upstream_url: str) -> None:
    router = ModelRouter(ModelSettings(openai_base_url=fake_upstream_url))
    await router.start()
    try:
        assert [m.id for m in router.models] == ["fake-small", "fake-large", OFFLINE_MODEL]
        assert [m.offline for m in router.models] == [False, False, True]
        assert router.default_model == "fake-small"
        assert router.client_for("fake-large") is not router.client_for(OFFLINE_MODEL)
    finally:
        await router.aclose()


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [("fake-large", "fake-large"), (OFFLINE_MODEL, OFFLINE_MODEL), ("nope", "fake-small")],
)
async def test_router_default_model(fake_upstream_url: str, wanted: str, expected: str) -> None:
    settings = ModelSettings(openai_base_url=fake_upstream_url, playground_default_model=wanted)
    router = ModelRouter(settings)
    await router.start()
    try:
        assert router.default_model == expected
    finally:
        await router.aclose()


async def test_router_configured_models_need_no_listing() -> None:
    # Nothing listens on port 9: start() must not even try when the list is configured.
    settings = ModelSettings(
        openai_base_url="http://127.0.0.1:9/v1", playground_models=" m-one, m-two ,m-one"
    )
    router = ModelRouter(settings)
    await router.start()
    try:
        assert [m.id for m in router.models] == ["m-one", "m-two", OFFLINE_MODEL]
        assert router.default_model == "m-one"
    finally:
        await router.aclose()


async def test_router_falls_back_when_listing_fails(caplog: pytest.LogCaptureFixture) -> None:
    settings = ModelSettings(
        openai_api_key="sk-secret-123", openai_base_url="http://127.0.0.1:9/v1"
    )
    router = ModelRouter(settings)
    with caplog.at_level(logging.WARNING, logger="api.llm.router"):
        await router.start()
    try:
        assert [m.id for m in router.models] == [*FALLBACK_MODELS, OFFLINE_MODEL]
        assert router.default_model == FALLBACK_MODELS[0]
        assert "could not list the models" in caplog.text
        assert "sk-secret-123" not in caplog.text
    finally:
        await router.aclose()
