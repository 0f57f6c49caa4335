"""``useChat`` against the service, unchanged: the real ``ai`` package (its Chat over
``DefaultChatTransport``, in Node) sends, streams, regenerates, resumes on another
process after a dropped connection, sees a rejected tool argument and its retry, and
answers a client tool with ``addToolResult``. Each check compares what the client holds
with what the thread stores."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import Principal, run_chat
from tests.fixtures.processes import ServerProcess
from tests.fixtures.tools import WEATHER

WEATHER_TOOL: dict[str, Any] = {
    "name": WEATHER.name,
    "description": WEATHER.description,
    "parameters": WEATHER.parameters,
}


def env(server: ServerProcess, principal: Principal, thread: dict[str, Any]) -> dict[str, str]:
    return {"BASE_URL": server.base_url, "THREAD_ID": thread["id"], "API_KEY": principal.key}


def text_of(message: dict[str, Any]) -> str:
    return "".join(part["text"] for part in message["parts"] if part["type"] == "text")


def test_send_streams_the_stored_reply_with_its_ids_usage_and_timings(
    node: str, servers: list[ServerProcess], carol: Principal
) -> None:
    thread = carol.thread(tools=[])
    result = run_chat(node, "send", env(servers[0], carol, thread))
    assert result["errors"] == []
    assert result["status"] == "ready"
    user, reply = result["messages"]
    assert text_of(user) == "Write about autumn"

    stored_user, stored_reply = carol.branch(thread["id"])
    assert stored_user["content"] == "Write about autumn"
    assert reply["id"] == stored_reply["id"]
    assert text_of(reply) == stored_reply["content"]
    assert stored_reply["content"].startswith("Offline model here.")
    metadata = reply["metadata"]
    assert metadata["thread_id"] == thread["id"]
    assert metadata["user_message_id"] == stored_user["id"]
    assert metadata["message_id"] == stored_reply["id"]
    assert metadata["status"] == "completed"
    assert metadata["usage"] == stored_reply["usage"]
    assert metadata["timings"] == stored_reply["timings"]
    assert result["finishes"] == [
        {"id": stored_reply["id"], "finishReason": "stop", "isDisconnect": False}
    ]


def test_regenerate_makes_a_sibling_and_the_thread_keeps_both(
    node: str, servers: list[ServerProcess], carol: Principal
) -> None:
    thread = carol.thread(tools=[])
    result = run_chat(node, "regenerate", env(servers[0], carol, thread))
    assert result["errors"] == []
    first = result["first"]
    user, again = result["messages"]
    assert again["id"] != first["id"]

    stored_user, stored_reply = carol.branch(thread["id"])
    assert stored_reply["id"] == again["id"]
    assert stored_reply["sibling_ids"] == [first["id"], again["id"]]
    assert text_of(again) == stored_reply["content"]
    assert stored_user["content"] == text_of(user) == "Write about spring"
    assert again["metadata"]["user_message_id"] == stored_user["id"]


def test_resume_after_a_dropped_connection_on_another_process(
    node: str, servers: list[ServerProcess], carol: Principal
) -> None:
    server_a, server_b = servers
    thread = carol.thread(tools=[])
    result = run_chat(
        node, "resume", {**env(server_a, carol, thread), "RESUME_BASE_URL": server_b.base_url}
    )
    # The POST's body failed like a network drop mid-reply; resumeStream (on B) went on.
    assert result["dropped"]["status"] == "error"
    assert result["errors"] == ["network error: connection dropped"]
    assert result["status"] == "ready"
    _, reply = result["messages"]
    stored = carol.branch(thread["id"])[-1]
    assert stored["status"] == "completed"
    assert reply["id"] == stored["id"]
    assert text_of(reply) == stored["content"]
    assert result["finishes"][-1] == {
        "id": stored["id"],
        "finishReason": "stop",
        "isDisconnect": False,
    }


def test_a_rejected_tool_argument_and_its_retry(
    node: str, servers: list[ServerProcess], carol: Principal
) -> None:
    thread = carol.thread(tools=["current_time"])
    result = run_chat(node, "tools", env(servers[0], carol, thread))
    assert result["errors"] == []
    _, reply = result["messages"]
    tools = [part for part in reply["parts"] if part["type"] == "tool-current_time"]
    rejected, corrected = tools
    assert rejected["state"] == "output-error"
    assert rejected["input"] == {"timezone": 42}
    assert "Expected `str`, got `int` - at `$.timezone`" in rejected["errorText"]
    assert corrected["state"] == "output-available"
    assert corrected["input"] == {"timezone": "Europe/Paris"}
    assert corrected["output"]["timezone"] == "Europe/Paris"
    # Each model turn is a step: the bad call, the corrected call, the answer.
    assert [part["type"] for part in reply["parts"]].count("step-start") == 3

    stored = carol.branch(thread["id"])
    assert [row["role"] for row in stored] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assert reply["id"] == stored[1]["id"]
    assert text_of(reply) == stored[-1]["content"]
    assert [call["id"] for call in stored[1]["tool_calls"]] == [rejected["toolCallId"]]
    assert [call["id"] for call in stored[3]["tool_calls"]] == [corrected["toolCallId"]]
    assert reply["metadata"]["message_id"] == stored[-1]["id"]


def test_a_client_tool_answered_with_add_tool_result(
    node: str, servers: list[ServerProcess], carol: Principal
) -> None:
    thread = carol.thread(tools=[WEATHER_TOOL])
    result = run_chat(node, "client-tool", env(servers[0], carol, thread))
    assert result["errors"] == []
    (call,) = result["toolCalls"]
    assert call["toolName"] == "get_weather"
    assert call["input"] == {"city": "Paris"}
    # The stream ended waiting for the tool; the automatic second request answered it.
    reasons = [finish["finishReason"] for finish in result["finishes"]]
    assert reasons == ["tool-calls", "stop"]
    _, reply = result["messages"]
    (part,) = [part for part in reply["parts"] if part["type"] == "tool-get_weather"]
    assert part["state"] == "output-available"

    stored = carol.branch(thread["id"])
    assert [row["role"] for row in stored] == ["user", "assistant", "tool", "assistant"]
    asked, answer, final = stored[1:]
    assert asked["status"] == "completed"
    assert asked["tool_calls"][0]["id"] == call["toolCallId"]
    assert answer["tool_call_id"] == call["toolCallId"]
    assert answer["content"] == '{"city":"Paris","forecast":"sunny","celsius":21}'
    assert reply["id"] == asked["id"]
    assert text_of(reply) == final["content"]
    assert "sunny" in final["content"]


def test_resume_with_nothing_running_leaves_the_chat_ready(
    node: str, servers: list[ServerProcess], carol: Principal
) -> None:
    thread = carol.thread(tools=[])
    result = run_chat(node, "nothing-to-resume", env(servers[1], carol, thread))
    assert result == {
        "status": "ready",
        "messages": [],
        "errors": [],
        "toolCalls": [],
        "finishes": [],
    }
