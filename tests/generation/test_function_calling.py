"""Function calling through the API: built-in tools, validation and retry, rounds, client tools."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import SSEResult, stream_events
from tests.fixtures.threads import create_thread
from tests.fixtures.tools import WEATHER

# The client function as a thread's ``tools`` list declares it.
WEATHER_TOOL: dict[str, Any] = msgspec.to_builtins(WEATHER)


async def send(client: httpx.AsyncClient, thread: dict[str, Any], content: str) -> SSEResult:
    result = await stream_events(
        client, "POST", f"/api/threads/{thread['id']}/messages", json={"content": content}
    )
    assert result.status_code == 200, result.body
    return result


def of(result: SSEResult, name: str) -> list[dict[str, Any]]:
    return [event.data for event in result.events if event.event == name]


async def test_new_threads_enable_the_default_tools(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    listed = (await client.get("/api/tools")).json()["data"]
    names = {tool["name"] for tool in listed}
    assert {"set_thread_title", "calculator", "current_time", "search_threads"} <= names
    assert set(thread["tools"]) == names
    calculator = next(tool for tool in listed if tool["name"] == "calculator")
    assert calculator["parameters"]["type"] == "object"
    assert "expression" in calculator["parameters"]["properties"]
    assert "$ref" not in str(calculator["parameters"])


async def test_one_stream_shows_call_validation_error_retry_result_and_answer(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(client, tools=["current_time"])
    result = await send(client, thread, "What time is it in Europe/Paris? [[bad-args]]")
    names = result.names()
    assert names[-2:] == ["message.completed", "done"]
    results = of(result, "tool_result")
    calls = of(result, "tool_call")
    # First the malformed call: rejected before running, the field named.
    assert "error" in results[0]
    assert "$.timezone" in results[0]["error"]
    assert "Expected `str`" in results[0]["error"]
    # Then the corrected call and its output.
    assert calls[0]["call"]["name"] == "current_time"
    assert calls[0]["call"]["arguments"] == {"timezone": "Europe/Paris"}
    assert results[1]["call_id"] == calls[0]["call"]["id"]
    assert results[1]["output"]["timezone"] == "Europe/Paris"
    final = result.completed()
    assert final["status"] == "completed"
    assert final["finish_reason"] == "stop"
    assert "Europe/Paris" in final["content"]
    assert names.index("tool_call") < names.index("tool_result", names.index("tool_call"))

    branch = (await client.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [m["role"] for m in branch] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    first_turn, bad_result = branch[1], branch[2]
    assert first_turn["finish_reason"] == "tool_calls"
    assert first_turn["tool_calls"][0]["function"]["arguments"] == '{"timezone":42}'
    assert bad_result["tool_call_id"] == first_turn["tool_calls"][0]["id"]
    assert bad_result["content"].startswith("error: ")
    assert bad_result["error"] is not None
    assert branch[4]["content"].startswith("{")
    assert branch[5]["id"] == final["id"]
    async with db_engine.connect() as conn:
        statuses = (
            await conn.execute(
                text("SELECT status FROM message WHERE thread_id = :t ORDER BY created_at"),
                {"t": thread["id"]},
            )
        ).scalars()
        assert set(statuses) == {"completed"}


async def test_two_calls_in_one_turn(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, tools=["current_time", "calculator"])
    result = await send(client, thread, "What time is it in Asia/Tokyo, and what is 12*(3+4)?")
    calls = of(result, "tool_call")
    assert [call["call"]["name"] for call in calls] == ["current_time", "calculator"]
    outputs = [r["output"] for r in of(result, "tool_result")]
    assert outputs[1] == {"expression": "12*(3+4)", "result": 84}
    assert "84" in result.completed()["content"]
    branch = (await client.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [m["role"] for m in branch] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [m["tool_call_id"] for m in branch[2:4]] == [c["call"]["id"] for c in calls]
    assert len(branch[1]["tool_calls"]) == 2


async def test_model_names_the_thread(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client)
    await send(client, thread, "Please name this thread: Rose pruning")
    assert (await client.get(f"/api/threads/{thread['id']}")).json()["title"] == "Rose pruning"


async def test_search_threads_finds_other_conversations(client: httpx.AsyncClient) -> None:
    other = await create_thread(client, title="Sourdough notes")
    await client.post(
        f"/api/threads/{other['id']}/messages",
        json={"content": "My sourdough starter smells of acetone", "generate": False},
    )
    thread = await create_thread(client)
    result = await send(client, thread, "Search for sourdough starter")
    output = of(result, "tool_result")[0]["output"]
    assert any(hit["thread_id"] == other["id"] for hit in output["results"])


async def test_round_limit_ends_the_reply_with_a_clear_reason(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, tools=["calculator"])
    result = await send(client, thread, "what is 1+1 [[tool-loop]]")
    final = result.completed()
    assert final["finish_reason"] == "max_tool_rounds"
    assert len(of(result, "tool_result")) == 5
    assert result.names()[-1] == "done"
    # The thread is usable afterwards.
    again = await send(client, thread, "what is 2+2")
    assert again.completed()["status"] == "completed"


async def test_regenerate_after_a_tool_turn(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, tools=["calculator"])
    first = await send(client, thread, "what is 6*7")
    final = first.completed()
    url = f"/api/threads/{thread['id']}/messages"
    again = await stream_events(client, "POST", f"{url}/{final['id']}/regenerate", json={})
    assert again.status_code == 200
    new = again.completed()
    assert new["parent_id"] == final["parent_id"]
    assert new["sibling_ids"] == [final["id"], new["id"]]
    assert "42" in new["content"]
    branch = (await client.get(url)).json()["data"]
    assert [m["role"] for m in branch] == ["user", "assistant", "tool", "assistant"]


async def test_client_tool_round_trip(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, tools=["calculator", WEATHER_TOOL])
    assert thread["tools"][1]["name"] == "get_weather"
    result = await send(client, thread, "Use get_weather for Paris")
    waiting = result.completed()
    assert waiting["status"] == "requires_action"
    assert result.names()[-1] == "done"
    call = of(result, "tool_call")[0]["call"]
    assert call["name"] == "get_weather"
    assert call["arguments"] == {"city": "Paris"}
    url = f"/api/threads/{thread['id']}/messages/{waiting['id']}/tool_outputs"

    wrong = await client.post(url, json={"outputs": [{"call_id": "nope", "output": "x"}]})
    assert wrong.status_code == 400
    assert "outputs[0].call_id" in wrong.json()["detail"]
    assert wrong.json()["extra"]["pending_call_ids"] == [call["id"]]
    missing = await client.post(url, json={"outputs": []})
    assert missing.status_code == 400

    resumed = await stream_events(
        client,
        "POST",
        url,
        json={"outputs": [{"call_id": call["id"], "output": {"sky": "clear", "celsius": 21}}]},
    )
    assert resumed.status_code == 200
    assert resumed.names()[0] == "message.created"
    final = resumed.completed()
    assert final["status"] == "completed"
    branch = (await client.get(f"/api/threads/{thread['id']}/messages")).json()["data"]
    assert [m["role"] for m in branch] == ["user", "assistant", "tool", "assistant"]
    assert branch[1]["status"] == "completed"
    assert branch[2]["content"] == '{"sky":"clear","celsius":21}'
    again = await client.post(url, json={"outputs": [{"call_id": call["id"], "output": "x"}]})
    assert again.status_code == 409


async def test_client_tool_with_invalid_arguments_is_corrected(client: httpx.AsyncClient) -> None:
    thread = await create_thread(client, tools=[WEATHER_TOOL])
    result = await send(client, thread, "get_weather in Rome [[bad-args]]")
    first = of(result, "tool_result")[0]
    assert "invalid arguments for get_weather" in first["error"]
    assert result.completed()["status"] == "requires_action"
    assert of(result, "tool_call")[0]["call"]["arguments"] == {"city": "Rome"}


async def test_thread_tool_validation(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/threads", json={"tools": ["calculator", "teleport"]})
    assert unknown.status_code == 400
    assert "teleport" in unknown.json()["detail"]
    assert "tools[1]" in unknown.json()["detail"]
    bad_schema = {
        **WEATHER_TOOL,
        "parameters": {"type": "object", "properties": {"c": {"type": 7}}},
    }
    response = await client.post("/api/threads", json={"tools": [bad_schema]})
    assert response.status_code == 400
    assert "tools[0].parameters" in response.text
    clash = await client.post(
        "/api/threads", json={"tools": [{**WEATHER_TOOL, "name": "calculator"}]}
    )
    assert clash.status_code == 400


async def test_openai_path_with_tool_call_deltas_split_across_chunks(
    client: httpx.AsyncClient,
) -> None:
    thread = await create_thread(client, model="fake-small", tools=["calculator"])
    result = await send(client, thread, "what is 2**10 [[tools]]")
    calls = of(result, "tool_call")
    assert calls[0]["call"]["arguments"] == {"expression": "2**10"}
    assert of(result, "tool_result")[0]["output"]["result"] == 1024
    assert "1024" in result.completed()["content"]
