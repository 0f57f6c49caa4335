"""The served page's own stream code (``sse.js`` and ``live.js``, unchanged, in Node):
a send's POST stream dropped mid-reply and resumed as the page resumes after a reload
(``?last_event_id=`` on top of the text saved with it) shows exactly the stored branch;
and the parser reads a whole generation's stream alike however its bytes are cut."""

from __future__ import annotations

import httpx

from tests.clients.conftest import last_json, run_node
from tests.fixtures.processes import ServerProcess

# Non-ASCII, so that some cuts fall inside a character.
CONTENT = "Écris sur l\u2019automne 🍂, s\u2019il te plaît"


def test_the_page_resumes_a_dropped_stream_with_the_stored_text(
    node: str, server: ServerProcess, http: httpx.Client
) -> None:
    thread = http.post("/api/threads", json={"tools": []}).json()
    env = {
        "BASE_URL": server.base_url,
        "THREAD_ID": thread["id"],
        "CONTENT": CONTENT,
        "CUT_AFTER": "3",
    }
    result = last_json(run_node(node, ["page_sse.mjs"], env).stdout)

    assert result["deltasBeforeCut"] == 3
    assert result["sawDone"] is True
    stored = http.get(f"/api/threads/{thread['id']}/messages").json()["data"]
    assert result["branch"] == [
        {key: message[key] for key in ("id", "role", "content", "status")} for message in stored
    ]
    assert stored[0]["content"] == CONTENT
    assert stored[1]["status"] == "completed"
    assert stored[1]["content"].startswith("Offline model here.")

    assert result["problems"] == []
    assert result["streamBytes"] > 1000
    replayed = result["replayed"]
    assert replayed[:2] == ["message.created", "message.created"]
    assert replayed[-2:] == ["message.completed", "done"]
