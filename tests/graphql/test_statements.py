"""No N+1: listing threads with their active branches and each message's siblings and
children costs the same number of SQL statements for 2 threads as for 20, counted on
the engine of the server that answers over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import RunningApp
from tests.fixtures.statements import is_timed

LIST = """
query($first: Int) {
  threads(first: $first) {
    edges { node { id messages { id content siblings { id } children { id } } } }
  }
}"""


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        # Not the app's heartbeat, reaper or pruning, which may land inside the window.
        if not is_timed(args[2]):
            statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def branched_thread(http: httpx.AsyncClient, n: int) -> None:
    thread = (await http.post("/api/threads", json={"title": f"n+1 {n}"})).json()["id"]
    url = f"/api/threads/{thread}/messages"
    for content, parent in (("first", None), ("again", "root"), ("answer", None)):
        body = {"content": content, "generate": False, "role": "user", "parent_id": parent}
        assert (await http.post(url, json=body)).status_code == 201


async def test_listing_costs_a_constant_number_of_statements(running_app: RunningApp) -> None:
    engine: AsyncEngine = running_app.app.state.engine
    async with httpx.AsyncClient(base_url=running_app.base_url, timeout=30) as http:
        for n in range(20):
            await branched_thread(http, n)
        counts = []
        for first in (2, 20):
            with counted(engine) as statements:
                answer = (
                    await http.post("/graphql", json={"query": LIST, "variables": {"first": first}})
                ).json()
            edges = answer["data"]["threads"]["edges"]
            assert len(edges) == first
            messages = edges[0]["node"]["messages"]
            assert [m["content"] for m in messages] == ["again", "answer"]
            assert len(messages[0]["siblings"]) == 2
            assert messages[0]["children"] == [{"id": messages[1]["id"]}]
            counts.append(len(statements))
    assert counts[0] == counts[1], counts
    # The page and the trees, each with its transaction's statements; no per-thread query.
    assert counts[1] <= 8, counts
