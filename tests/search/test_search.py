"""``GET /api/search``: ranking, snippets, titles, pagination and bad input, over real
HTTP on a real Postgres. Each test searches words of its own, so the other tests'
threads (in the same database) never match."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.stores.search import search_statement
from tests.fixtures.search import word
from tests.fixtures.threads import create_thread


async def add(http: httpx.AsyncClient, thread_id: str, content: str, **body: Any) -> str:
    """Store a message without a reply; its id."""
    response = await http.post(
        f"/api/threads/{thread_id}/messages",
        json={"content": content, "generate": False, **body},
    )
    assert response.status_code == 201, response.text
    message_id: str = response.json()["id"]
    return message_id


async def search(http: httpx.AsyncClient, q: str, **params: Any) -> dict[str, Any]:
    response = await http.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def marked(result: dict[str, Any]) -> str:
    """The snippet with its matches in [brackets], to compare in one string."""
    return "".join(
        f"[{part['text']}]" if part["match"] else part["text"] for part in result["snippet"]
    )


async def test_more_matches_rank_first_and_snippets_mark_the_words(
    client: httpx.AsyncClient,
) -> None:
    w = word()
    thread = await create_thread(client, title="Baking notes")
    once = await add(client, thread["id"], f"We talked about {w} once, among other things.")
    often = await add(client, thread["id"], f"{w.upper()} bread: feed the {w} daily.", role="user")
    await add(client, thread["id"], "Nothing to see here.")

    page = await search(client, w)

    assert [r["message_id"] for r in page["data"]] == [often, once]
    assert page["next_cursor"] is None
    best = page["data"][0]
    assert best["thread_id"] == thread["id"]
    assert best["thread_title"] == "Baking notes"
    assert best["role"] == "user"
    # A short message is its own snippet.
    assert marked(best) == f"[{w.upper()}] bread: feed the [{w}] daily."
    assert marked(page["data"][1]) == f"We talked about [{w}] once, among other things."


async def test_a_long_message_shows_fragments_around_the_matches(
    client: httpx.AsyncClient,
) -> None:
    w = word()
    thread = await create_thread(client)
    filler = " ".join(f"filler{n}" for n in range(200))
    await add(client, thread["id"], f"{filler} the {w} is here {filler}")

    (result,) = (await search(client, w))["data"]
    # Up to two fragments of at most 24 words around the matches, joined by " … ".
    snippet = marked(result)
    assert f"the [{w}] is here" in snippet
    assert len(snippet.split()) <= 2 * 24 + 1, snippet


async def test_a_title_match_is_a_result_without_a_message(client: httpx.AsyncClient) -> None:
    w = word()
    titled = await create_thread(client, title=f"All about {w} and more")
    other = await create_thread(client, title="Something else")
    message = await add(client, other["id"], f"a message naming {w}")

    page = await search(client, w)

    # A title's words weigh more than a message's: the title comes first.
    assert [(r["thread_id"], r["message_id"], r["role"]) for r in page["data"]] == [
        (titled["id"], None, None),
        (other["id"], message, "user"),
    ]
    assert marked(page["data"][0]) == f"All about [{w}] and more"
    assert page["data"][0]["thread_title"] == f"All about {w} and more"


async def test_web_search_syntax(client: httpx.AsyncClient) -> None:
    a, b = word(), word()
    thread = await create_thread(client)
    both = await add(client, thread["id"], f"{a} {b} side by side")
    apart = await add(client, thread["id"], f"{b} first, then far away {a}")
    only_a = await add(client, thread["id"], f"just {a}")

    async def ids(q: str) -> set[str]:
        return {r["message_id"] for r in (await search(client, q))["data"]}

    assert await ids(f"{a} {b}") == {both, apart}
    assert await ids(f'"{a} {b}"') == {both}
    assert await ids(f"{a} -{b}") == {only_a}
    assert await ids(f"{b} or {a}") == {both, apart, only_a}
    # Only stop words: nothing to look for, nothing found.
    assert (await search(client, "the and of"))["data"] == []


async def test_pages_cover_every_result_once(client: httpx.AsyncClient) -> None:
    w = word()
    thread = await create_thread(client, title=f"{w} thread")
    # Equal texts rank equal: the id orders them, and no page repeats or skips one.
    same = {
        await add(client, thread["id"], f"the same {w} text, words around it") for _ in range(5)
    }
    thrice = {await add(client, thread["id"], f"{w} {w} {w} variant {n}") for n in range(3)}

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await search(client, w, **params)
        pages += 1
        assert len(page["data"]) == 3
        seen += [r["message_id"] or r["thread_id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 9
    # Best first across pages: the title, then the three-times matches, then the rest.
    assert seen[0] == thread["id"]
    assert set(seen[1:4]) == thrice
    assert set(seen[4:]) == same
    # The same search again gives the same order.
    assert [r["message_id"] or r["thread_id"] for r in (await search(client, w))["data"]] == seen


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "limit": 101}, "limit"),
        ({"q": "x", "limit": "many"}, "limit"),
        ({"q": "x", "cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x", "cursor": "WzEsMl0"}, "cursor"),  # [1,2]: JSON, but no cursor
        ({"q": "x", "owner": "bob"}, "owner"),
        ({"q": "x", "page": 2}, "page"),
    ],
)
async def test_bad_input_is_a_400_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    extra = body["extra"]
    named = extra["field"] if isinstance(extra, dict) else extra[0]["key"]
    assert named == field, body


async def test_a_search_without_q_is_a_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search")
    assert response.status_code == 400, response.text
    assert response.json()["extra"] == {"field": "q"}


async def test_the_queries_use_the_gin_indexes(db_engine: AsyncEngine) -> None:
    statement, params = search_statement([], "sourdough", 20)
    async with db_engine.connect() as connection:
        # On a small table a sequential scan, or a whole-index scan in another index's
        # order, is cheaper; forbid both to see which indexes the planner *can* use for
        # the matches: a bitmap scan needs an index whose expression matches.
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        await connection.execute(text("SET LOCAL enable_indexscan = off"))
        plan = await connection.execute(text(f"EXPLAIN {statement.text}"), params)
        lines = "\n".join(line for (line,) in plan)
    assert "ix_message_content_fts" in lines, lines
    assert "ix_thread_title_fts" in lines, lines
