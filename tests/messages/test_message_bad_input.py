"""Bad input to the message endpoints: content, message ids, parent_id and roles.

Every case is a 4xx naming the problem, and changes nothing (tests/fixtures/bad_input.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.app import TEST_ENV, stream_events
from tests.fixtures.bad_input import (
    FORK,
    HEAD,
    MESSAGES,
    USER_MESSAGE,
    Rejecter,
    World,
    assert_validation_error,
)

LIMIT = int(TEST_ENV["PLAYGROUND_MAX_CONTENT_CHARS"])


# --- booleans ----------------------------------------------------------------------------


async def test_integer_and_string_booleans_are_coerced(
    client: httpx.AsyncClient, world: World
) -> None:
    """Litestar converts bodies with ``msgspec.convert(strict=False)``: 0/1 and
    "true"/"false" are accepted as booleans (other ints and strings are 400s, see
    ``tests/app/test_bad_input.py``)."""
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


# --- ids ---------------------------------------------------------------------------------

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
