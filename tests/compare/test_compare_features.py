"""Compare runs with the request log and the prompt library: each variant's model call
logged against its own reply, and every variant rendered from the thread's prompt."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.compare.conftest import MODELS, THREE, reply_ids, texts
from tests.fixtures.app import SSEResult, stream_events
from tests.fixtures.prompts import create_prompt
from tests.fixtures.threads import create_thread


def completed_by_id(result: SSEResult) -> dict[str, dict[str, Any]]:
    """Each reply's ``message.completed`` message, by its id."""
    return {
        e.data["message"]["id"]: e.data["message"]
        for e in result.events
        if e.event == "message.completed"
    }


async def test_each_variant_logs_its_own_call(
    api: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    thread = await create_thread(api, model="fake-quick")
    url = f"/api/threads/{thread['id']}/messages"
    result = await stream_events(
        api, "POST", url, json={"content": "three [[chunks:3]]", "variants": THREE}
    )
    assert result.status_code == 200, result.body
    replies = reply_ids(result)
    generation_id = result.events[0].id.rsplit(":", 1)[0]

    # Three rows for the run: one per reply, each with that reply's model.
    async with db_engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT message_id::text, request->>'model' FROM model_request"
                    " WHERE generation_id = CAST(:generation AS uuid)"
                ),
                {"generation": generation_id},
            )
        ).all()
    assert sorted((row[0], row[1]) for row in rows) == sorted(zip(replies, MODELS, strict=True))

    # Each reply's request is its own call, not its siblings'.
    for reply_id, model in zip(replies, MODELS, strict=True):
        response = await api.get(f"{url}/{reply_id}/request")
        assert response.status_code == 200, response.text
        logged = response.json()
        assert (logged["message_id"], logged["generation_id"]) == (reply_id, generation_id)
        [call] = logged["rounds"]
        assert call["message_id"] == reply_id
        assert call["request"]["model"] == model
        assert call["request"]["messages"][-1] == {"role": "user", "content": "three [[chunks:3]]"}
        assert call["response"]["model"] == model
        assert call["response"]["finish_reason"] == "stop"

    # Replaying the second variant sends its request again, as one reply of its model.
    replayed = await api.post(f"{url}/{replies[1]}/replay", json={"stream": False})
    assert replayed.status_code == 200, replayed.text
    again = replayed.json()["assistant_message"]
    assert again["model"] == MODELS[1]
    assert again["parent_id"] == result.events[0].data["message"]["id"]


async def test_every_variant_gets_the_rendered_prompt_and_records_it(
    api: httpx.AsyncClient,
) -> None:
    prompt = await create_prompt(api, "Answer in {{language}}.")
    thread = await create_thread(
        api,
        model="fake-quick",
        default_system_prompt=False,
        prompt_id=prompt["id"],
        prompt_variables={"language": "Welsh"},
    )
    url = f"/api/threads/{thread['id']}/messages"
    sent = await stream_events(api, "POST", url, json={"content": "hi [[echo]]", "variants": THREE})
    assert sent.status_code == 200, sent.body
    replies = reply_ids(sent)
    echoed = texts(sent)
    completed = completed_by_id(sent)
    for reply_id in replies:
        system = json.loads(echoed[reply_id])[0]
        assert system == {"role": "system", "content": "Answer in Welsh."}
        assert (completed[reply_id]["prompt_id"], completed[reply_id]["prompt_version"]) == (
            prompt["id"],
            1,
        )

    # A regeneration with variants renders and records it for every new reply too.
    regenerated = await api.post(
        f"{url}/{replies[0]}/regenerate",
        json={"variants": [{"model": "fake-slow"}, {"model": "fake-steady"}], "stream": False},
    )
    assert regenerated.status_code == 200, regenerated.text
    for reply in regenerated.json()["replies"]:
        assert (reply["prompt_id"], reply["prompt_version"]) == (prompt["id"], 1)
        stored = (await api.get(f"{url}/{reply['id']}/request")).json()
        [call] = stored["rounds"]
        assert call["request"]["messages"][0] == {"role": "system", "content": "Answer in Welsh."}
