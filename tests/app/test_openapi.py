"""The OpenAPI document says what the server does: request schemas as strict as the
server."""

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


async def test_the_server_serves_this_document(client: httpx.AsyncClient) -> None:
    assert (await client.get("/schema/openapi.json")).json() == DOCUMENT


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
    for name in names:
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
