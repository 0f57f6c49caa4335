"""Threads and messages through ``/graphql`` with ``gql`` against ``playground serve``:
create, list a page at a time (in the REST order), edit, branch and fork."""

from __future__ import annotations

import httpx

from tests.fixtures.graphql import error_of, execute, over_http
from tests.fixtures.processes import ServerProcess

CREATE = """
mutation($title: String) {
  createThread(input: {title: $title, params: {temperature: 0.5}}) {
    id title model params version messages { id }
  }
}"""
LIST = """
query($first: Int, $after: String) {
  threads(first: $first, after: $after) {
    edges { cursor node { id title } }
    pageInfo { endCursor hasNextPage }
  }
}"""
APPEND = """
mutation($t: ID!, $content: String!, $role: String! = "user", $parent: String) {
  appendMessage(threadId: $t, input: {content: $content, role: $role, parentId: $parent}) {
    id parentId role content siblingIds
  }
}"""
BRANCH = """
query($t: ID!) {
  thread(id: $t) {
    id title headId
    messages { id content siblingIds siblings { id content } children { id } }
  }
}"""


async def test_create_and_list_threads_a_page_at_a_time(
    graphql_servers: list[ServerProcess], key: str
) -> None:
    base_url = graphql_servers[0].base_url
    async with over_http(base_url, key) as gql:
        created = [
            (await execute(gql, CREATE, title=f"thread {n}"))["createThread"] for n in range(3)
        ]
        assert created[0]["title"] == "thread 0"
        assert created[0]["params"]["temperature"] == 0.5
        assert created[0]["messages"] == []
        first = (await execute(gql, LIST, first=2))["threads"]
        assert first["pageInfo"]["hasNextPage"] is True
        assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
        rest = (await execute(gql, LIST, first=2, after=first["pageInfo"]["endCursor"]))["threads"]
        assert rest["pageInfo"] == {"endCursor": rest["edges"][-1]["cursor"], "hasNextPage": False}
    listed = [edge["node"]["id"] for edge in first["edges"] + rest["edges"]]
    # Newest activity first, as REST lists them.
    assert listed == [thread["id"] for thread in reversed(created)]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:
        rest_page = (await http.get("/api/threads", params={"limit": 3})).json()
    assert [thread["id"] for thread in rest_page["data"]] == listed


async def test_edit_branch_and_fork_through_mutations(
    graphql_servers: list[ServerProcess], key: str
) -> None:
    async with over_http(graphql_servers[0].base_url, key) as gql:
        thread = (await execute(gql, CREATE, title="branches"))["createThread"]
        t = thread["id"]
        question = (await execute(gql, APPEND, t=t, content="first question"))["appendMessage"]
        answer = (await execute(gql, APPEND, t=t, content="an answer", role="assistant"))[
            "appendMessage"
        ]
        assert answer["parentId"] == question["id"]
        edited = await execute(
            gql,
            "mutation($t: ID!, $m: ID!) { editMessage(threadId: $t, messageId: $m,"
            ' content: "second question") { id content } }',
            t=t,
            m=question["id"],
        )
        assert edited["editMessage"] == {"id": question["id"], "content": "second question"}
        # A new first message: a branch at the root, which becomes the head.
        other = (await execute(gql, APPEND, t=t, content="another start", parent="root"))[
            "appendMessage"
        ]
        assert other["siblingIds"] == [question["id"], other["id"]]
        branch = (await execute(gql, BRANCH, t=t))["thread"]
        assert [m["content"] for m in branch["messages"]] == ["another start"]
        assert [s["content"] for s in branch["messages"][0]["siblings"]] == [
            "second question",
            "another start",
        ]
        switched = await execute(
            gql,
            "mutation($t: ID!, $m: ID!) { setHead(threadId: $t, messageId: $m) {"
            " headId messages { content children { id } } } }",
            t=t,
            m=question["id"],
        )
        assert switched["setHead"]["headId"] == answer["id"]
        assert switched["setHead"]["messages"] == [
            {"content": "second question", "children": [{"id": answer["id"]}]},
            {"content": "an answer", "children": []},
        ]
        forked = await execute(
            gql,
            "mutation($t: ID!, $m: ID!) { forkThread(id: $t, messageId: $m) {"
            " id title messages { content } } }",
            t=t,
            m=answer["id"],
        )
        assert forked["forkThread"]["title"] == "branches (fork)"
        assert [m["content"] for m in forked["forkThread"]["messages"]] == [
            "second question",
            "an answer",
        ]
        deleted = await execute(
            gql,
            "mutation($t: ID!, $m: ID!) { deleteMessage(threadId: $t, messageId: $m) }",
            t=t,
            m=answer["id"].upper(),
        )
        # The id in the form every answer gives, whatever form the argument had.
        assert deleted == {"deleteMessage": answer["id"]}
        renamed = await execute(
            gql,
            'mutation($t: ID!) { updateThread(id: $t, input: {title: "renamed"}) { title } }',
            t=t,
        )
        assert renamed["updateThread"]["title"] == "renamed"
        gone = await execute(gql, "mutation($t: ID!) { deleteThread(id: $t) }", t=t.upper())
        assert gone == {"deleteThread": t}
        missing = await error_of(gql, BRANCH, t=t)
    assert missing["extensions"]["code"] == "NOT_FOUND"
    assert missing["message"] == f"thread {t} not found"
