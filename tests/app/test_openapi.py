"""The OpenAPI document says what the server does: every status an operation answers,
with its body; event streams; and request schemas as strict as the server."""

from __future__ import annotations

import re
import sys
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.schemas.messages import NOT_BLANK
from api.settings import load_settings
from tests.fixtures.app import TEST_ENV

DOCUMENT: dict[str, Any] = create_app(
    "postgresql://unused", load_settings(TEST_ENV)
).openapi_schema.to_schema()
COMPONENTS: dict[str, Any] = DOCUMENT["components"]["schemas"]
OPERATIONS: dict[str, dict[str, Any]] = {
    operation["operationId"]: {**operation, "path": path}
    for path, item in DOCUMENT["paths"].items()
    for operation in item.values()
    if isinstance(operation, dict) and "operationId" in operation
}
GENERATING = {400, 401, 404, 409, 413, 429, 502, 503, 504}

# Every status each operation can answer, success first. Every operation that reads
# the database answers 503 while it cannot be reached; every one but /healthz answers
# 401 when the server requires keys.
STATUSES = {
    "createThread": {201, 400, 401, 413, 503},
    "listThreads": {200, 400, 401, 403, 503},
    "searchThreads": {200, 400, 401, 403, 503},
    "getThread": {200, 400, 401, 404, 503},
    "updateThread": {200, 400, 401, 404, 412, 413, 503},
    "deleteThread": {204, 400, 401, 404, 412, 503},
    "forkThread": {201, 400, 401, 404, 409, 413, 503},
    "setThreadHead": {200, 400, 401, 404, 412, 413, 503},
    "listMessages": {200, 400, 401, 404, 503},
    "getMessage": {200, 400, 401, 404, 503},
    "sendMessage": {200, 201, 422} | GENERATING,
    "editMessage": {200, 400, 401, 404, 409, 412, 413, 503},
    "deleteMessage": {204, 400, 401, 404, 409, 412, 503},
    "regenerateMessage": {200, 422} | GENERATING,
    "submitToolOutputs": {200} | GENERATING,
    "getMessageRequest": {200, 400, 401, 404, 503},
    "replayMessage": {200, 422} | GENERATING,
    "followGeneration": {200, 204, 400, 401, 404, 503},
    "cancelGeneration": {200, 400, 401, 404, 409, 503},
    "createStreamToken": {200, 400, 401, 404, 503},
    "followThreadEvents": {200, 400, 401, 404, 503},
    "followEvents": {200, 400, 401, 503},
    "createEventsStreamToken": {200, 400, 401, 503},
    "listModels": {200, 400, 401},
    "listTools": {200, 400, 401},
    "health": {200, 400, 503},
    "getMe": {200, 400, 401},
    "createKey": {201, 400, 401, 403, 413, 503},
    "listKeys": {200, 400, 401, 403, 503},
    "updateKey": {200, 400, 401, 403, 404, 413, 503},
    "revokeKey": {204, 400, 401, 403, 404, 503},
    "getMetrics": {200, 400, 401, 403},
    "exportThread": {200, 400, 401, 404, 503},
    "exportThreads": {200, 400, 401, 503},
    "importThread": {201, 400, 401, 503},
    "chatThread": {200} | GENERATING,
    "resumeChat": {200, 204, 400, 401, 404, 503},
    "createPrompt": {201, 400, 401, 409, 413, 503},
    "listPrompts": {200, 400, 401, 503},
    "getPrompt": {200, 400, 401, 404, 503},
    "updatePrompt": {200, 400, 401, 404, 409, 413, 503},
    "deletePrompt": {204, 400, 401, 404, 503},
    "createPromptVersion": {201, 400, 401, 404, 413, 503},
    "listPromptVersions": {200, 400, 401, 404, 503},
    "getPromptVersion": {200, 400, 401, 404, 503},
    "diffPromptVersions": {200, 400, 401, 404, 503},
}
# /healthz answers its own body when the database is away, not the error body.
HEALTH_503 = {"$ref": "#/components/schemas/Health"}
STREAMING = {
    "sendMessage",
    "regenerateMessage",
    "submitToolOutputs",
    "followGeneration",
    "replayMessage",
}


async def test_the_server_serves_this_document(client: httpx.AsyncClient) -> None:
    assert (await client.get("/schema/openapi.json")).json() == DOCUMENT


def test_operation_ids_are_stable() -> None:
    assert set(OPERATIONS) == set(STATUSES)


@pytest.mark.parametrize("operation_id", sorted(STATUSES))
def test_each_operation_declares_every_status_it_answers(operation_id: str) -> None:
    assert {int(status) for status in OPERATIONS[operation_id]["responses"]} == (
        STATUSES[operation_id]
    )


@pytest.mark.parametrize("operation_id", sorted(STATUSES))
def test_what_can_fail_is_declared_with_the_error_body(operation_id: str) -> None:
    """400 everywhere (undeclared query parameters), 404 wherever an id is in the path,
    413 wherever a body is read (but an import, whose documents over their limits are
    400s naming the JSON path); every error answer is the error body."""
    operation = OPERATIONS[operation_id]
    responses = operation["responses"]
    assert "400" in responses
    if "{" in operation["path"]:
        assert "404" in responses
    if "requestBody" in operation and operation_id != "importThread":
        assert "413" in responses
    for status, response in responses.items():
        if int(status) >= 400:
            schema = response["content"]["application/json"]["schema"]
            if (operation_id, status) == ("health", "503"):
                assert schema == HEALTH_503
            else:
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, status
            assert response["description"], status


def test_the_error_body_matches_the_error_shape() -> None:
    body = COMPONENTS["ErrorBody"]
    assert body["required"] == ["detail", "status_code"]
    assert set(body["properties"]) == {"status_code", "detail", "extra"}


@pytest.mark.parametrize("operation_id", sorted(STREAMING))
def test_event_streams_are_documented_as_such(operation_id: str) -> None:
    content = OPERATIONS[operation_id]["responses"]["200"]["content"]
    event = content["text/event-stream"]["schema"]
    assert event["required"] == ["id", "event", "data"]
    assert "done" in event["properties"]["event"]["enum"]
    if operation_id != "followGeneration":
        # Or the finished exchange as JSON, with "stream": false.
        json_reply = content["application/json"]["schema"]
        one = {"$ref": "#/components/schemas/SendResult"}
        if operation_id in ("submitToolOutputs", "replayMessage"):
            # No variants there: a tool round or a replay is one reply.
            assert json_reply == one
        else:
            # Or, with variants, the user message and every reply.
            several = {"$ref": "#/components/schemas/CompareResult"}
            assert json_reply == {"oneOf": [one, several]}


@pytest.mark.parametrize("operation_id", ["followThreadEvents", "followEvents"])
def test_feeds_are_documented_as_event_streams_of_changes(operation_id: str) -> None:
    content = OPERATIONS[operation_id]["responses"]["200"]["content"]
    event = content["text/event-stream"]["schema"]
    assert event["required"] == ["id", "event", "data"]
    assert event["properties"]["id"]["pattern"] == "^[0-9]{1,19}-[0-9]{1,19}$"
    assert {"thread.created", "message.updated", "generation.started"} <= set(
        event["properties"]["event"]["enum"]
    )
    parameters = {p["name"]: p for p in OPERATIONS[operation_id]["parameters"]}
    assert {"Last-Event-ID", "last_event_id", "stream_token"} <= set(parameters)


def test_storing_a_message_is_a_201_message() -> None:
    created = OPERATIONS["sendMessage"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Message"
    }


@pytest.mark.parametrize(
    ("operation_id", "required"),
    [
        ("createThread", False),
        ("regenerateMessage", False),
        ("replayMessage", False),
        ("updateThread", True),
        ("sendMessage", True),
        ("editMessage", True),
        ("forkThread", True),
        ("setThreadHead", True),
        ("submitToolOutputs", True),
    ],
)
def test_only_optional_bodies_are_optional(operation_id: str, required: bool) -> None:
    assert OPERATIONS[operation_id]["requestBody"]["required"] is required


def _request_components() -> set[str]:
    """The components request bodies use, and the components those use."""
    found: set[str] = set()
    pending = [
        ref
        for operation in OPERATIONS.values()
        for ref in re.findall(r"#/components/schemas/(\w+)", str(operation.get("requestBody")))
    ]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending += re.findall(r"#/components/schemas/(\w+)", str(COMPONENTS[name]))
    return found


def test_request_bodies_refuse_unknown_fields() -> None:
    names = _request_components()
    assert {"ThreadCreate", "ThreadUpdate", "SendMessage", "ChatParams", "ToolOutput"} <= names
    # The parts of an AI SDK message carry fields the AI SDK adds as it evolves; the
    # service reads a few and ignores the rest (README "AI SDK (useChat)").
    assert "additionalProperties" not in COMPONENTS["ChatPart"]
    for name in names - {"ChatPart"}:
        assert COMPONENTS[name]["additionalProperties"] is False, name


@pytest.mark.parametrize("body", ["SendMessage", "EditMessage"])
def test_content_must_be_non_blank(body: str) -> None:
    content = COMPONENTS[body]["properties"]["content"]
    assert content["minLength"] == 1
    assert content["pattern"] == NOT_BLANK


def test_the_non_blank_pattern_is_what_the_server_checks() -> None:
    """``check_content`` refuses text that ``str.strip()`` empties; the documented pattern
    must match exactly the other characters (spelled out so ECMA-262 reads it alike)."""
    pattern = re.compile(NOT_BLANK)
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(pattern.fullmatch(chr(code))) == (chr(code).strip() == "")
    ]
    assert disagree == []


def test_ranges_include_their_zero_bounds() -> None:
    params = COMPONENTS["ChatParams"]["properties"]
    assert (params["temperature"]["minimum"], params["temperature"]["maximum"]) == (0, 2)
    assert (params["top_p"]["minimum"], params["top_p"]["maximum"]) == (0, 1)
    assert params["max_tokens"]["minimum"] == 1


def test_resume_ids_are_documented_with_their_pattern() -> None:
    parameters = {p["name"]: p for p in OPERATIONS["followGeneration"]["parameters"]}
    for name in ["Last-Event-ID", "last_event_id"]:
        assert parameters[name]["schema"]["type"] == "string"
        assert parameters[name]["schema"]["pattern"].endswith(":[0-9]{1,9}$")


@pytest.mark.parametrize(
    ("operation_id", "status", "targets"),
    [
        ("createThread", "201", {"sendMessage", "getThread", "deleteThread", "listMessages"}),
        ("forkThread", "201", {"sendMessage", "getThread", "deleteThread"}),
        (
            "sendMessage",
            "201",
            {"editMessage", "regenerateMessage", "setThreadHead", "forkThread", "deleteMessage"},
        ),
        ("sendMessage", "200", {"editMessage", "regenerateMessage", "setThreadHead"}),
        ("regenerateMessage", "200", {"editMessage", "setThreadHead", "forkThread"}),
        ("replayMessage", "200", {"getMessageRequest", "replayMessage", "setThreadHead"}),
    ],
)
def test_links_chain_the_operations(operation_id: str, status: str, targets: set[str]) -> None:
    links = OPERATIONS[operation_id]["responses"][status]["links"]
    assert targets <= set(links)
    for link in links.values():
        target = OPERATIONS[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", [])}
        assert set(link["parameters"]) <= names
        if "requestBody" in link:
            assert "requestBody" in target


# Ids that are not ours, so not UUIDs: the AI SDK's chat and message ids, model ids,
# the model server's completion and tool-call ids, and a parent that may be "root".
FOREIGN_IDS = {
    ("ChatMessage", "id"),
    ("ChatRequest", "id"),
    ("ModelInfo", "id"),
    ("ModelResponse", "id"),
    ("Message", "tool_call_id"),
    ("ToolOutput", "call_id"),
    ("SendMessage", "parent_id"),
}


def test_ids_and_times_carry_their_formats() -> None:
    """A generator maps ``format: uuid`` and ``format: date-time`` to its own types."""
    loose = []
    for name, component in COMPONENTS.items():
        for field, schema in component.get("properties", {}).items():
            text = str(schema)
            is_id = field == "id" or field.endswith("_id")
            ours = (name, field) not in FOREIGN_IDS
            if is_id and ours and "'uuid'" not in text and "$ref" not in text:
                loose.append(f"{name}.{field}")
            if field.endswith("_at") and "'date-time'" not in text:
                loose.append(f"{name}.{field}")
    assert loose == []
