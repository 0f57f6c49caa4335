"""A TypeScript client generated from the live server's OpenAPI document
(openapi-typescript) and used through openapi-fetch, unchanged: it type-checks with
``tsc --strict`` (a body with an unknown field must not), then creates, lists, sends
with ``stream: false``, edits and forks, and reads typed error bodies, against the
server. Each answer is compared with what the server stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients.conftest import last_json, run_node
from tests.fixtures.processes import ServerProcess


@pytest.fixture(scope="module")
def result(node: str, compiled: Path, server: ServerProcess) -> dict[str, Any]:
    """What ``client.ts`` printed: every answer it got."""
    return last_json(run_node(node, ["dist/client.js"], {"BASE_URL": server.base_url}).stdout)


def test_the_generated_client_drives_the_api(result: dict[str, Any], http: httpx.Client) -> None:

    thread = result["thread"]
    assert thread["title"] == "Typed client"
    assert thread["system_prompt"] == "Answer briefly."
    assert thread["tools"] == []
    assert thread["id"] in result["listedIds"]

    user = result["sent"]["user_message"]
    reply = result["sent"]["assistant_message"]
    assert user["content"] == "Write about autumn"
    assert reply["status"] == "completed"
    assert reply["content"].startswith("Offline model here.")

    edited = result["edited"]
    assert (edited["id"], edited["content"]) == (reply["id"], "An edited reply")
    stored = http.get(f"/api/threads/{thread['id']}/messages").json()["data"]
    assert [(m["id"], m["content"]) for m in stored] == [
        (user["id"], "Write about autumn"),
        (reply["id"], "An edited reply"),
    ]

    forked = result["forked"]
    assert forked["id"] != thread["id"]
    assert forked["system_prompt"] == "Answer briefly."
    assert [(m["role"], m["content"]) for m in result["forkBranch"]] == [
        ("user", "Write about autumn"),
        ("assistant", "An edited reply"),
    ]
    assert http.get(f"/api/threads/{forked['id']}").json()["title"] == forked["title"]


def test_error_bodies_reach_the_client_typed(result: dict[str, Any]) -> None:
    errors = result["errors"]
    unknown = errors["unknownField"]
    assert unknown["status"] == 400
    assert unknown["body"]["status_code"] == 400
    assert any("colour" in str(item) for item in unknown["body"]["extra"]), unknown

    out_of_range = errors["outOfRange"]
    assert out_of_range["status"] == 400
    assert "temperature" in str(out_of_range["body"]), out_of_range

    missing = errors["missing"]
    assert missing["status"] == 404
    assert missing["body"] == {
        "status_code": 404,
        "detail": "thread 00000000-0000-0000-0000-000000000001 not found",
    }
