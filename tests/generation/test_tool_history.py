"""Every history sent to a model keeps OpenAI's tool-call rule.

Both model servers of the suite (the fake upstream and the offline model) reject a
request that breaks it, as OpenAI's does, so every other test runs with the check on;
here the rule itself, and the 409 for a send below a reply still waiting for client
tool outputs.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import openai
import pytest
from openai import AsyncOpenAI

from api.llm.wire import history_error
from api.settings import OFFLINE_MODEL
from tests.fixtures.app import stream_events
from tests.fixtures.threads import create_thread
from tests.fixtures.tools import WEATHER

CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
ASKED = {"role": "assistant", "content": None, "tool_calls": [CALL]}
ANSWER = {"role": "tool", "tool_call_id": "call_1", "content": "42"}
USER = {"role": "user", "content": "hi"}


def test_a_kept_rule_passes() -> None:
    assert history_error([USER, ASKED, ANSWER, {"role": "assistant", "content": "ok"}]) is None


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ([USER, ASKED, USER], "no answer for call_1"),
        ([USER, ANSWER], "'call_1' is not one of its open calls"),
        ([USER, ASKED], "have no tool messages"),
        ([USER, ASKED, ANSWER, ANSWER], "'call_1' is not one of its open calls"),
    ],
    ids=["turn before the answer", "answer without a call", "no answer at all", "answered twice"],
)
def test_broken_histories_are_named(messages: list[dict[str, Any]], says: str) -> None:
    error = history_error(messages)
    assert error is not None
    assert says in error


@pytest.mark.parametrize("server", ["upstream", "offline"])
async def test_both_model_servers_reject_a_broken_history(
    server: str, upstream: AsyncOpenAI, offline: AsyncOpenAI
) -> None:
    client, model = (upstream, "fake-small") if server == "upstream" else (offline, OFFLINE_MODEL)
    with pytest.raises(openai.BadRequestError) as raised:
        await client.chat.completions.create(
            model=model,
            messages=[USER, ASKED, USER],  # type: ignore[list-item]
            stream=True,
        )
    assert "no answer for call_1" in raised.value.message


async def test_a_send_below_a_reply_waiting_for_tool_outputs_is_a_409(
    client: httpx.AsyncClient,
) -> None:
    thread = await create_thread(client, tools=[msgspec.to_builtins(WEATHER)])
    url = f"/api/threads/{thread['id']}/messages"
    first = await stream_events(client, "POST", url, json={"content": "Use get_weather for Paris"})
    waiting = first.completed()
    assert waiting["status"] == "requires_action"

    refused = await client.post(url, json={"content": "never mind", "stream": False})
    assert refused.status_code == 409
    assert refused.json()["extra"] == {"message_id": waiting["id"]}
    assert f"message {waiting['id']} is waiting for tool outputs" in refused.json()["detail"]
    branch = (await client.get(url)).json()["data"]
    assert "never mind" not in [message["content"] for message in branch]

    # Sending below another message keeps the history valid, so it goes through.
    user_id = branch[0]["id"]
    beside = await client.post(
        url, json={"content": "weather aside", "parent_id": user_id, "stream": False}
    )
    assert beside.status_code == 200
    assert beside.json()["assistant_message"]["status"] == "completed"
