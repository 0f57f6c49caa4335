"""Bad input: every case is a 4xx naming the problem, and changes nothing.

Two error shapes reach clients, both Litestar's ``{"status_code", "detail", "extra"?}``:

- body / query decoding (msgspec, done by Litestar before a handler runs): 400,
  ``detail`` "Validation failed for METHOD PATH[?QUERY]" and ``extra`` a list of
  ``{"message", "key", "source"}`` (``key`` is the field's dotted path, or ``data``
  for the body as a whole; ``source`` is ``body`` or ``query``); malformed JSON is
  a 400 whose ``detail`` starts "JSON is malformed";
- checks in the services (``api/errors.py``): ``detail`` names the field or id and
  ``extra`` is ``{"field": ...}`` plus details such as ``limit`` or ``known_models``.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import stream_events
from tests.fixtures.threads import create_thread

LIMIT = 20_000  # PLAYGROUND_MAX_CONTENT_CHARS of the test app
MAX_BODY_BYTES = 200_000  # PLAYGROUND_MAX_BODY_BYTES of the test app
KNOWN_MODELS = {"offline", "fake-small", "fake-large"}

THREADS = "/api/threads"
THREAD = "/api/threads/{thread}"
MESSAGES = "/api/threads/{thread}/messages"
USER_MESSAGE = "/api/threads/{thread}/messages/{user}"
REGENERATE_USER = "/api/threads/{thread}/messages/{user}/regenerate"
FORK = "/api/threads/{thread}/fork"
HEAD = "/api/threads/{thread}/head"


@dataclass(frozen=True)
class World:
    """Two threads with messages, and an id that names nothing.

    ``thread``: system → user → assistant (head), all appended with ``generate: false``;
    ``other``: one user message ``other_msg``.
    """

    ids: dict[str, str]

    def fill(self, value: Any) -> Any:
        """``value`` with ``{thread}``-style placeholders in its strings replaced by ids."""
        if isinstance(value, str):
            return value.format(**self.ids) if "{" in value else value
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        return value


async def _append(http: httpx.AsyncClient, thread_id: str, **body: Any) -> str:
    response = await http.post(
        f"/api/threads/{thread_id}/messages", json={"generate": False, **body}
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["id"]
    return message_id


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    thread = (await create_thread(client, title="bad input"))["id"]
    system = await _append(client, thread, role="system", content="Be terse.")
    user = await _append(client, thread, content="Hello", parent_id=system)
    assistant = await _append(client, thread, role="assistant", content="Hi.", parent_id=user)
    other = (await create_thread(client, title="bad input"))["id"]
    other_msg = await _append(client, other, content="Elsewhere")
    return World(
        ids={
            "thread": thread,
            "system": system,
            "user": user,
            "assistant": assistant,
            "other": other,
            "other_msg": other_msg,
            "random": str(uuid.uuid4()),
        }
    )


@dataclass(frozen=True)
class Snapshot:
    """What a rejected request must leave as it was."""

    thread_count: int
    thread_rows: list[str]
    message_rows: list[str]
    branches: list[Any]


async def _snapshot(http: httpx.AsyncClient, engine: AsyncEngine, world: World) -> Snapshot:
    ids = [uuid.UUID(world.ids["thread"]), uuid.UUID(world.ids["other"])]
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM thread"))).scalar_one()
        threads = (
            await conn.execute(
                text("SELECT t::text FROM thread t WHERE t.id = ANY(:ids) ORDER BY t.id"),
                {"ids": ids},
            )
        ).scalars()
        messages = (
            await conn.execute(
                text("SELECT m::text FROM message m WHERE m.thread_id = ANY(:ids) ORDER BY m.id"),
                {"ids": ids},
            )
        ).scalars()
        thread_rows, message_rows = list(threads), list(messages)
    branches = [(await http.get(f"/api/threads/{tid}/messages")).json() for tid in ids]
    return Snapshot(count, thread_rows, message_rows, branches)


class Rejecter:
    """Sends a request that must fail, and checks that it changed nothing."""

    def __init__(self, http: httpx.AsyncClient, engine: AsyncEngine, world: World) -> None:
        self.http = http
        self.engine = engine
        self.world = world

    async def __call__(
        self, method: str, template: str, body: Any = None, *, status: int
    ) -> dict[str, Any]:
        """Send ``body`` (JSON, or raw ``bytes``); return the JSON error body."""
        url = self.world.fill(template)
        before = await _snapshot(self.http, self.engine, self.world)
        if isinstance(body, bytes):
            headers = {"content-type": "application/json"}
            response = await self.http.request(method, url, content=body, headers=headers)
        elif body is None:
            response = await self.http.request(method, url)
        else:
            response = await self.http.request(method, url, json=self.world.fill(body))
        assert response.status_code == status, response.text
        error: dict[str, Any] = response.json()
        assert error["status_code"] == status
        assert await _snapshot(self.http, self.engine, self.world) == before
        return error


@pytest.fixture
def reject(client: httpx.AsyncClient, db_engine: AsyncEngine, world: World) -> Rejecter:
    return Rejecter(client, db_engine, world)


def assert_validation_error(
    error: dict[str, Any], method: str, path: str, *, key: str, message: str, source: str = "body"
) -> None:
    """Litestar's msgspec error: the request named in ``detail``, the field in ``extra``."""
    assert error["detail"].startswith(f"Validation failed for {method} {path}")
    assert error["extra"] == [{"message": message, "key": key, "source": source}]


# --- malformed, unknown and wrongly typed bodies -----------------------------------------

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


async def test_integer_and_string_booleans_are_coerced(
    client: httpx.AsyncClient, world: World
) -> None:
    """Litestar converts bodies with ``msgspec.convert(strict=False)``: 0/1 and
    "true"/"false" are accepted as booleans (other ints and strings are 400s, above)."""
    url = world.fill(MESSAGES)
    appended = await client.post(url, json={"content": "few-shot", "generate": 0})
    assert appended.status_code == 201, appended.text
    streamed = await stream_events(client, "POST", url, json={"content": "hi", "stream": 1})
    assert streamed.status_code == 200
    assert streamed.names()[-1] == "done"
    waited = await client.post(url, json={"content": "hi", "stream": "false"})
    assert waited.status_code == 200, waited.text
    assert waited.json()["assistant_message"]["status"] == "completed"


# --- content -----------------------------------------------------------------------------

CONTENT_ENDPOINTS = [
    pytest.param("POST", MESSAGES, {}, id="send"),
    pytest.param("POST", MESSAGES, {"stream": False}, id="send-no-stream"),
    pytest.param("POST", MESSAGES, {"generate": False}, id="append"),
    pytest.param("PATCH", USER_MESSAGE, {}, id="edit"),
]


@pytest.mark.parametrize("content", ["", " ", "  \n\t "])
@pytest.mark.parametrize(("method", "template", "body"), CONTENT_ENDPOINTS)
async def test_empty_content_is_400(
    reject: Rejecter, method: str, template: str, body: dict[str, Any], content: str
) -> None:
    error = await reject(method, template, {**body, "content": content}, status=400)
    assert error["detail"] == "content must not be empty"
    assert error["extra"] == {"field": "content"}


@pytest.mark.parametrize(("method", "template", "body"), CONTENT_ENDPOINTS)
async def test_content_over_the_limit_is_413_naming_content_and_limit(
    reject: Rejecter, method: str, template: str, body: dict[str, Any]
) -> None:
    error = await reject(method, template, {**body, "content": "x" * (LIMIT + 1)}, status=413)
    assert error["detail"] == f"content is {LIMIT + 1} characters long; the limit is {LIMIT}"
    assert error["extra"] == {"field": "content", "limit": LIMIT}


async def test_content_at_the_limit_is_accepted(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        world.fill(MESSAGES), json={"content": "x" * LIMIT, "generate": False}
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["content"]) == LIMIT


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

THREAD_ENDPOINTS = [
    ("GET", "/api/threads/{random}", None),
    ("PATCH", "/api/threads/{random}", {"title": "x"}),
    ("DELETE", "/api/threads/{random}", None),
    ("GET", "/api/threads/{random}/messages", None),
    ("POST", "/api/threads/{random}/messages", {"content": "hi"}),
    ("POST", "/api/threads/{random}/messages", {"content": "hi", "generate": False}),
    ("GET", "/api/threads/{random}/messages/{user}", None),
    ("PATCH", "/api/threads/{random}/messages/{user}", {"content": "x"}),
    ("DELETE", "/api/threads/{random}/messages/{user}", None),
    ("POST", "/api/threads/{random}/messages/{user}/regenerate", None),
    ("POST", "/api/threads/{random}/fork", {"message_id": "{user}"}),
    ("PUT", "/api/threads/{random}/head", {"message_id": "{user}"}),
]


@pytest.mark.parametrize(("method", "template", "body"), THREAD_ENDPOINTS)
async def test_unknown_thread_is_404_naming_it(
    reject: Rejecter, world: World, method: str, template: str, body: Any
) -> None:
    error = await reject(method, template, body, status=404)
    assert error["detail"] == world.fill("thread {random} not found")


MESSAGE_ENDPOINTS = [
    ("GET", "/api/threads/{thread}/messages/{id}", None),
    ("PATCH", "/api/threads/{thread}/messages/{id}", {"content": "x"}),
    ("DELETE", "/api/threads/{thread}/messages/{id}", None),
    ("POST", "/api/threads/{thread}/messages/{id}/regenerate", None),
    ("POST", FORK, {"message_id": "{id}"}),
    ("PUT", HEAD, {"message_id": "{id}"}),
]


@pytest.mark.parametrize("which", ["random", "other_msg"])
@pytest.mark.parametrize(("method", "template", "body"), MESSAGE_ENDPOINTS)
async def test_unknown_or_foreign_message_is_404_naming_it(
    reject: Rejecter, world: World, method: str, template: str, body: Any, which: str
) -> None:
    """A message id that names nothing, or a message of another thread: 404 either way."""
    placeholder = "{" + which + "}"
    template = template.replace("{id}", placeholder)
    if isinstance(body, dict) and "message_id" in body:
        body = {"message_id": placeholder}
    error = await reject(method, template, body, status=404)
    assert error["detail"] == world.fill(f"message {placeholder} not found in thread {{thread}}")


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


@pytest.mark.parametrize("parent", ["{random}", "{other_msg}"])
@pytest.mark.parametrize("extra", [{}, {"stream": False}, {"generate": False}])
async def test_parent_id_outside_the_thread_is_400_naming_it(
    reject: Rejecter, world: World, parent: str, extra: dict[str, Any]
) -> None:
    body = {"content": "hi", "parent_id": parent, **extra}
    error = await reject("POST", MESSAGES, body, status=400)
    expected = f"parent_id {parent} is not a message of thread {{thread}}"
    assert error["detail"] == world.fill(expected)
    assert error["extra"] == {"field": "parent_id"}


async def test_parent_id_that_is_neither_an_id_nor_root_is_400(reject: Rejecter) -> None:
    body = {"content": "hi", "generate": False, "parent_id": "zzz"}
    error = await reject("POST", MESSAGES, body, status=400)
    assert error["detail"] == "parent_id must be a message id or \"root\", not 'zzz'"
    assert error["extra"] == {"field": "parent_id"}


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["assistant", "system"])
@pytest.mark.parametrize("extra", [{}, {"generate": True}, {"stream": False}])
async def test_assistant_or_system_role_with_generate_is_400_naming_role(
    reject: Rejecter, role: str, extra: dict[str, Any]
) -> None:
    error = await reject("POST", MESSAGES, {"content": "hi", "role": role, **extra}, status=400)
    assert error["detail"] == f"role {role!r} is only allowed with generate: false"
    assert error["extra"] == {"field": "role"}


@pytest.mark.parametrize("role", ["tool", "bogus"])
@pytest.mark.parametrize("generate", [True, False])
async def test_unsupported_role_is_400_naming_role(
    reject: Rejecter, world: World, role: str, generate: bool
) -> None:
    body = {"content": "hi", "role": role, "generate": generate}
    error = await reject("POST", MESSAGES, body, status=400)
    message = f"Invalid enum value {role!r}"
    assert_validation_error(error, "POST", world.fill(MESSAGES), key="role", message=message)


async def test_regenerating_a_system_message_is_400(reject: Rejecter, world: World) -> None:
    template = "/api/threads/{thread}/messages/{system}/regenerate"
    error = await reject("POST", template, None, status=400)
    assert error["detail"] == world.fill(
        "message {system} is a system message; regenerate an assistant reply or a user message"
    )
    assert error["extra"] == {"field": "message_id"}


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


# --- listing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "Expected `int` >= 1"),
        ("101", "Expected `int` <= 100"),
        ("abc", "Expected `int`, got `str`"),
        ("1.5", "Expected `int`, got `str`"),
        ("", "Expected `int`, got `str`"),
    ],
)
async def test_bad_limit_is_400_naming_limit(
    client: httpx.AsyncClient, limit: str, message: str
) -> None:
    response = await client.get(THREADS, params={"limit": limit})
    assert response.status_code == 400, response.text
    error = response.json()
    assert_validation_error(error, "GET", THREADS, key="limit", message=message, source="query")


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        "é",
        _token(b"[1]"),
        _token(json.dumps(["2024-01-01T00:00:00Z", "not-a-uuid"]).encode()),
        _token(b'{"last_activity_at": "2024-01-01T00:00:00Z"}'),
    ],
)
async def test_garbage_cursor_is_400_naming_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    response = await client.get(THREADS, params={"cursor": cursor})
    assert response.status_code == 400, response.text
    error = response.json()
    assert "cursor" in error["detail"]
    assert error["extra"] == {"field": "cursor"}


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
