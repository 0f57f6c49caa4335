"""Bad input any endpoint can get: malformed, unknown, wrongly typed or oversized bodies,
ids that are not UUIDs, invalid model params, and text Postgres cannot store.

Every case is a 4xx naming the problem, and changes nothing (tests/fixtures/bad_input.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.app import TEST_ENV
from tests.fixtures.bad_input import (
    FORK,
    HEAD,
    MESSAGES,
    REGENERATE_USER,
    THREAD,
    THREADS,
    USER_MESSAGE,
    Rejecter,
    World,
    assert_validation_error,
)

MAX_BODY_BYTES = int(TEST_ENV["PLAYGROUND_MAX_BODY_BYTES"])
KNOWN_MODELS = {"offline", "fake-small", "fake-large"}


# --- malformed, unknown, wrongly typed and oversized bodies ------------------------------

BODY_ENDPOINTS = [
    ("POST", THREADS),
    ("POST", MESSAGES),
    ("PATCH", THREAD),
    ("PATCH", USER_MESSAGE),
    ("POST", REGENERATE_USER),
    ("POST", FORK),
    ("PUT", HEAD),
]


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"{not json", "JSON is malformed: object keys must be strings (byte 1)"),
        (b"\xff\xfe", "JSON is malformed: invalid character (byte 0)"),
        (b'{"content": "hi",', "Input data was truncated"),
    ],
)
@pytest.mark.parametrize(("method", "template"), BODY_ENDPOINTS)
async def test_malformed_json_is_400(
    reject: Rejecter, method: str, template: str, raw: bytes, detail: str
) -> None:
    error = await reject(method, template, raw, status=400)
    assert error["detail"] == detail


@pytest.mark.parametrize(
    ("method", "template", "body", "key", "field"),
    [
        ("POST", THREADS, {"bogus": 1}, "data", "bogus"),
        ("POST", THREADS, {"params": {"temprature": 0.5}}, "params", "temprature"),
        ("POST", MESSAGES, {"content": "hi", "bogus": 1}, "data", "bogus"),
        ("POST", MESSAGES, {"content": "hi", "generate": False, "bogus": 1}, "data", "bogus"),
        ("PATCH", THREAD, {"title": "t", "bogus": 1}, "data", "bogus"),
        ("PATCH", USER_MESSAGE, {"content": "new", "bogus": 1}, "data", "bogus"),
        ("POST", REGENERATE_USER, {"bogus": 1}, "data", "bogus"),
        ("POST", FORK, {"message_id": "{user}", "bogus": 1}, "data", "bogus"),
        ("PUT", HEAD, {"message_id": "{user}", "bogus": 1}, "data", "bogus"),
    ],
)
async def test_unknown_field_is_400_naming_it(
    reject: Rejecter, world: World, method: str, template: str, body: Any, key: str, field: str
) -> None:
    error = await reject(method, template, body, status=400)
    message = f"Object contains unknown field `{field}`"
    assert_validation_error(error, method, world.fill(template), key=key, message=message)


NOT_BOOL_STR = "Expected `bool`, got `str`"


@pytest.mark.parametrize(
    ("method", "template", "body", "key", "message"),
    [
        ("POST", THREADS, {"title": 5}, "title", "Expected `str | null`, got `int`"),
        (
            "POST",
            THREADS,
            {"params": {"temperature": "hot"}},
            "params.temperature",
            "Expected `float | null`, got `str`",
        ),
        ("POST", THREADS, [1, 2], "data", "Expected `object | null`, got `array`"),
        ("PATCH", THREAD, {"title": 5}, "title", "Expected `str | null`, got `int`"),
        ("PATCH", THREAD, {"model": None}, "model", "Expected `str`, got `null`"),
        ("POST", MESSAGES, {"content": 123}, "content", "Expected `str`, got `int`"),
        ("POST", MESSAGES, {}, "data", "Object missing required field `content`"),
        ("POST", MESSAGES, b"", "data", "'data'"),
        ("POST", MESSAGES, {"content": "hi", "generate": "yes"}, "generate", NOT_BOOL_STR),
        ("POST", MESSAGES, {"content": "hi", "stream": "yes"}, "stream", NOT_BOOL_STR),
        ("POST", MESSAGES, {"content": "hi", "stream": 2}, "stream", "Expected `bool`, got `int`"),
        ("PATCH", USER_MESSAGE, {"content": 123}, "content", "Expected `str`, got `int`"),
        ("PATCH", USER_MESSAGE, {}, "data", "Object missing required field `content`"),
        ("POST", REGENERATE_USER, {"stream": "no"}, "stream", NOT_BOOL_STR),
        ("POST", FORK, {}, "data", "Object missing required field `message_id`"),
        ("PUT", HEAD, {}, "data", "Object missing required field `message_id`"),
        ("PUT", HEAD, {"message_id": "nope"}, "message_id", "Invalid UUID"),
    ],
)
async def test_wrong_type_or_missing_field_is_400_naming_it(
    reject: Rejecter, world: World, method: str, template: str, body: Any, key: str, message: str
) -> None:
    error = await reject(method, template, body, status=400)
    assert_validation_error(error, method, world.fill(template), key=key, message=message)


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("POST", THREADS, {"metadata": {"blob": "x" * MAX_BODY_BYTES}}),
        ("PATCH", THREAD, {"system_prompt": "x" * MAX_BODY_BYTES}),
        ("POST", MESSAGES, {"content": "x" * MAX_BODY_BYTES, "generate": False}),
        ("PATCH", USER_MESSAGE, {"content": "x" * MAX_BODY_BYTES}),
    ],
)
async def test_body_over_max_body_bytes_is_413(
    reject: Rejecter, method: str, template: str, body: dict[str, Any]
) -> None:
    error = await reject(method, template, body, status=413)
    assert error["detail"] == "Request Entity Too Large"


# --- ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("GET", "/api/threads/not-a-uuid", None),
        ("PATCH", "/api/threads/not-a-uuid", {"title": "x"}),
        ("DELETE", "/api/threads/not-a-uuid", None),
        ("GET", "/api/threads/not-a-uuid/messages", None),
        ("POST", "/api/threads/not-a-uuid/messages", {"content": "hi"}),
        ("POST", "/api/threads/not-a-uuid/fork", {"message_id": "{user}"}),
        ("PUT", "/api/threads/12345/head", {"message_id": "{user}"}),
        ("GET", "/api/threads/{thread}/messages/123", None),
        ("PATCH", "/api/threads/{thread}/messages/123", {"content": "x"}),
        ("DELETE", "/api/threads/{thread}/messages/123", None),
        ("POST", "/api/threads/{thread}/messages/123/regenerate", None),
    ],
)
async def test_invalid_uuid_in_path_is_404(
    reject: Rejecter, method: str, template: str, body: Any
) -> None:
    """Litestar's ``{id:uuid}`` path parameters do not match: no route, a plain 404."""
    error = await reject(method, template, body, status=404)
    assert error["detail"] == "Not Found"


# --- model and params --------------------------------------------------------------------

PARAMS_ENDPOINTS = [
    pytest.param("POST", THREADS, {}, id="create"),
    pytest.param("PATCH", THREAD, {}, id="patch"),
    pytest.param("POST", MESSAGES, {"content": "hi"}, id="send"),
    pytest.param("POST", MESSAGES, {"content": "hi", "stream": False}, id="send-no-stream"),
    pytest.param("POST", REGENERATE_USER, {}, id="regenerate"),
]


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        ({"temperature": -0.1}, "params.temperature", "Expected `float` >= 0.0"),
        ({"temperature": 2.1}, "params.temperature", "Expected `float` <= 2.0"),
        ({"top_p": 1.5}, "params.top_p", "Expected `float` <= 1.0"),
        ({"max_tokens": -1}, "params.max_tokens", "Expected `int` >= 1"),
        ({"max_tokens": 0}, "params.max_tokens", "Expected `int` >= 1"),
        ({"max_tokens": 1.5}, "params.max_tokens", "Expected `int | null`, got `float`"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "params.stop", "Expected `array` of length <= 4"),
    ],
)
@pytest.mark.parametrize(("method", "template", "body"), PARAMS_ENDPOINTS)
async def test_invalid_params_are_400_naming_the_param(
    reject: Rejecter,
    world: World,
    method: str,
    template: str,
    body: dict[str, Any],
    params: dict[str, Any],
    key: str,
    message: str,
) -> None:
    error = await reject(method, template, {**body, "params": params}, status=400)
    assert_validation_error(error, method, world.fill(template), key=key, message=message)


@pytest.mark.parametrize(("method", "template", "body"), PARAMS_ENDPOINTS)
async def test_unknown_model_is_400_listing_known_models(
    reject: Rejecter, method: str, template: str, body: dict[str, Any]
) -> None:
    error = await reject(method, template, {**body, "model": "no-such-model"}, status=400)
    assert "'no-such-model'" in error["detail"]
    assert "offline" in error["detail"]
    assert error["extra"]["field"] == "model"
    assert set(error["extra"]["known_models"]) == KNOWN_MODELS


# --- text Postgres cannot store ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "template", "body", "field"),
    [
        ("POST", MESSAGES, {"content": "a\x00b"}, "content"),
        ("POST", MESSAGES, {"content": "a\x00b", "generate": False}, "content"),
        ("PATCH", USER_MESSAGE, {"content": "a\x00b"}, "content"),
        ("POST", MESSAGES, {"content": "hi", "params": {"stop": ["\x00"]}}, "params.stop[0]"),
        ("POST", REGENERATE_USER, {"params": {"stop": ["x", "\x00"]}}, "params.stop[1]"),
        ("POST", THREADS, {"title": "a\x00b"}, "title"),
        ("POST", THREADS, {"system_prompt": "\x00"}, "system_prompt"),
        ("POST", THREADS, {"metadata": {"tags": ["ok", "\x00"]}}, "metadata.tags[1]"),
        ("POST", THREADS, {"metadata": {"k\x00": 1}}, "metadata"),
        ("PATCH", THREAD, {"title": "a\x00b"}, "title"),
        ("PATCH", THREAD, {"metadata": {"a": {"b": "\x00"}}}, "metadata.a.b"),
    ],
)
async def test_nul_character_is_400_naming_the_field(
    reject: Rejecter, method: str, template: str, body: dict[str, Any], field: str
) -> None:
    """Postgres text and jsonb cannot hold U+0000; it used to be a 500 from asyncpg."""
    error = await reject(method, template, body, status=400)
    assert error["detail"] == f"{field} must not contain the NUL character (\\u0000)"
    assert error["extra"] == {"field": field}
