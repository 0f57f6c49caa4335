"""Bad input to the thread endpoints: unknown threads, list limits and cursors.

Every case is a 4xx naming the problem, and changes nothing (tests/fixtures/bad_input.py).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.fixtures.bad_input import THREADS, Rejecter, World, assert_validation_error

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
