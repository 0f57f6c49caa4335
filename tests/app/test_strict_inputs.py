"""Inputs the API used to accept silently: undeclared query parameters, a malformed or
foreign ``Last-Event-ID``; and ``OPTIONS``, which listed only some methods of a path."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.fixtures.app import send_and_disconnect
from tests.fixtures.bad_input import (
    MESSAGES,
    THREAD,
    THREADS,
    USER_MESSAGE,
    Rejecter,
)
from tests.fixtures.threads import create_thread

# --- query parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "template", "body", "unknown", "known"),
    [
        ("GET", THREADS + "?q=x", None, "q", ["cursor", "limit", "owner"]),
        ("GET", THREADS + "?limit=5&limt=5", None, "limt", ["cursor", "limit", "owner"]),
        ("GET", THREAD + "?verbose=1", None, "verbose", []),
        ("PATCH", THREAD + "?title=x", {"title": "y"}, "title", []),
        ("POST", MESSAGES + "?stream=false", {"content": "hi"}, "stream", []),
        ("DELETE", USER_MESSAGE + "?force=true", None, "force", []),
        ("GET", "/api/models?all", None, "all", []),
        ("GET", "/healthz?deep=1", None, "deep", []),
    ],
)
async def test_undeclared_query_parameter_is_400_naming_it(
    reject: Rejecter,
    method: str,
    template: str,
    body: Any,
    unknown: str,
    known: list[str],
) -> None:
    error = await reject(method, template, body, status=400)
    assert error["detail"].startswith(f"unknown query parameter '{unknown}'; ")
    assert error["extra"] == {"field": unknown, "known_query_parameters": known}


async def test_every_undeclared_query_parameter_is_named(reject: Rejecter) -> None:
    error = await reject("GET", THREADS + "?a=1&limit=2&b=2", status=400)
    assert error["detail"] == (
        "unknown query parameters 'a', 'b'; this operation takes: cursor, limit, owner"
    )
    assert error["extra"]["field"] == "a"


async def test_declared_query_parameters_still_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/threads", params={"limit": 1, "cursor": ""})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/?from=bookmark", "/schema/openapi.json?v=2"])
async def test_the_page_and_the_document_are_not_api_operations(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await client.get(path)).status_code == 200


# --- Last-Event-ID -----------------------------------------------------------------------


async def test_nothing_running_and_no_id_is_still_204(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    response = await client.get(f"/api/threads/{thread['id']}/stream")
    assert response.status_code == 204


# Fixed, so that every pytest-xdist worker collects the same test ids.
_SOME_ID = uuid.UUID("5d0c7a52-93a4-4f0e-8d7b-2f1e0c3b9a61")


@pytest.mark.parametrize(
    "value",
    [
        "nope",
        "7",
        f"{_SOME_ID}",
        f"{_SOME_ID}:",
        f"{_SOME_ID}:-1",
        f"{_SOME_ID}:1.5",
        f"{_SOME_ID}: 1",
        # Past the events table's integer column.
        f"{_SOME_ID}:9999999999",
        f"{_SOME_ID.hex}:1",
    ],
)
@pytest.mark.parametrize("where", ["header", "query"])
async def test_malformed_last_event_id_is_400_naming_it(
    client: httpx.AsyncClient, value: str, where: str
) -> None:
    url = f"/api/threads/{(await create_thread(client))['id']}/stream"
    if where == "header":
        response = await client.get(url, headers={"Last-Event-ID": value})
        field = "Last-Event-ID"
    else:
        response = await client.get(url, params={"last_event_id": value})
        field = "last_event_id"
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["detail"].startswith(f"{field} {value!r} is not an event id of this API")
    assert "Last-Event-ID is `<generation id>:<n>`" in error["detail"]
    assert error["extra"] == {"field": field}


async def test_a_malformed_query_id_is_400_even_beside_a_good_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        f"/api/threads/{(await create_thread(client))['id']}/stream",
        headers={"Last-Event-ID": f"{uuid.uuid4()}:1"},
        params={"last_event_id": "nope"},
    )
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "last_event_id"}


async def test_last_event_id_of_another_thread_is_400(client: httpx.AsyncClient) -> None:
    mine = await create_thread(client, model="fake-small")
    other = await create_thread(client)
    _, last_id, _ = await send_and_disconnect(
        client, mine["id"], "mine [[chunks:5]]", stop_after_deltas=1
    )
    url = f"/api/threads/{other['id']}/stream"
    for response, field in [
        (await client.get(url, headers={"Last-Event-ID": last_id}), "Last-Event-ID"),
        (await client.get(url, params={"last_event_id": last_id}), "last_event_id"),
    ]:
        assert response.status_code == 400, response.text
        generation_id = last_id.rsplit(":", 1)[0]
        assert response.json() == {
            "status_code": 400,
            "detail": f"{field} names generation {generation_id} of another thread;"
            " a Last-Event-ID resumes only a generation of this thread",
            "extra": {"field": field},
        }


async def test_last_event_id_of_a_generation_that_is_gone_is_204(
    client: httpx.AsyncClient,
) -> None:
    """Finished generations are pruned after the retention: nothing left to follow."""
    thread = await create_thread(client)
    response = await client.get(
        f"/api/threads/{thread['id']}/stream", headers={"Last-Event-ID": f"{uuid.uuid4()}:3"}
    )
    assert response.status_code == 204


# --- OPTIONS -----------------------------------------------------------------------------


async def test_options_lists_every_method_of_each_documented_path(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    some_id = str(uuid.uuid4())
    for template, item in document["paths"].items():
        documented = {method.upper() for method in item if method != "parameters"}
        path = template
        for name in ("thread_id", "message_id", "key_id", "prompt_id"):
            path = path.replace("{" + name + "}", some_id)
        for name in ("version", "old", "new"):
            path = path.replace("{" + name + "}", "1")
        response = await client.options(path)
        assert response.status_code == 204, path
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert allowed == documented | {"OPTIONS"}, path


async def test_options_on_a_thread_lists_get_patch_and_delete(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    response = await client.options(f"/api/threads/{thread['id']}")
    assert response.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
