"""Every GraphQL error code, read with ``gql``: the service's own rules and words,
with ``extensions.code`` (and ``extensions.field`` for bad input), never a 500."""

from __future__ import annotations

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from tests.fixtures.auth import create_key
from tests.fixtures.graphql import error_of, execute, over_http, over_websocket, subscribe
from tests.fixtures.processes import ServerProcess

CREATE = "mutation($input: CreateThreadInput) { createThread(input: $input) { id version } }"
SEND = """
mutation($t: ID!, $content: String!) {
  sendMessage(threadId: $t, input: {content: $content}) { generationId reply { id } }
}"""


async def test_bad_input_names_the_field(graphql_servers: list[ServerProcess], key: str) -> None:
    async with over_http(graphql_servers[0].base_url, key) as gql:
        long_title = await error_of(gql, CREATE, input={"title": "x" * 201})
        unknown_model = await error_of(gql, CREATE, input={"model": "no-such-model"})
        thread = (await execute(gql, CREATE, input={}))["createThread"]["id"]
        blank = await error_of(gql, SEND, t=thread, content="   ")
        bad_id = await error_of(gql, 'query { thread(id: "nope") { id } }')
        bad_message_id = await error_of(
            gql, 'mutation($t: ID!) { setHead(threadId: $t, messageId: "nope") { id } }', t=thread
        )
        bad_after = await error_of(
            gql, 'query { threads(after: "garbage") { pageInfo { hasNextPage } } }'
        )
    assert long_title["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "title"}
    assert long_title["message"] == "title: Expected `str` of length <= 200"
    assert unknown_model["extensions"]["code"] == "BAD_USER_INPUT"
    assert unknown_model["extensions"]["field"] == "model"
    assert blank["extensions"]["field"] == "content"
    assert blank["message"] == "content must not be empty"
    assert bad_id["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "id"}
    assert bad_message_id["extensions"]["field"] == "messageId"
    assert bad_message_id["message"] == "messageId is not an id"
    # The argument the client wrote, not the REST parameter (`cursor`) behind it.
    assert bad_after["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "after"}


async def test_another_owners_thread_is_not_found(
    graphql_servers: list[ServerProcess], key: str, migrated_database_url: str
) -> None:
    other = (await create_key(migrated_database_url, "other"))["key"]
    base_url = graphql_servers[0].base_url
    async with over_http(base_url, key) as gql:
        thread = (await execute(gql, CREATE, input={"title": "mine"}))["createThread"]["id"]
    async with over_http(base_url, other) as gql:
        read = await error_of(gql, "query($t: ID!) { thread(id: $t) { id } }", t=thread)
        deleted = await error_of(gql, "mutation($t: ID!) { deleteThread(id: $t) }", t=thread)
    for error in (read, deleted):
        assert error["extensions"] == {"code": "NOT_FOUND", "status": 404}
        assert error["message"] == f"thread {thread} not found"


async def test_conflicts(graphql_servers: list[ServerProcess], key: str) -> None:
    async with over_http(graphql_servers[0].base_url, key) as gql:
        created = (await execute(gql, CREATE, input={}))["createThread"]
        thread = created["id"]
        idle = await error_of(
            gql, "mutation($t: ID!) { cancelGeneration(threadId: $t) { status } }", t=thread
        )
        stale = await error_of(
            gql,
            'mutation($t: ID!, $v: Int) { updateThread(id: $t, input: {title: "x"},'
            " ifVersion: $v) { id } }",
            t=thread,
            v=created["version"] + 1,
        )
        await execute(gql, SEND, t=thread, content="a long one [[chunks:200]] [[slow:20]]")
        busy = await error_of(gql, SEND, t=thread, content="another")
        await execute(
            gql, "mutation($t: ID!) { cancelGeneration(threadId: $t) { status } }", t=thread
        )
    assert idle["extensions"]["code"] == "CONFLICT"
    assert idle["message"] == f"nothing is being generated in thread {thread}"
    assert stale["extensions"]["code"] == "CONFLICT"
    assert stale["extensions"]["status"] == 412
    assert stale["extensions"]["current"]["id"] == thread
    assert busy["extensions"]["code"] == "CONFLICT"


async def test_quota_is_rate_limited(
    graphql_servers: list[ServerProcess], migrated_database_url: str
) -> None:
    limited = (await create_key(migrated_database_url, "rpm", requests_per_minute=1))["key"]
    async with over_http(graphql_servers[0].base_url, limited) as gql:
        thread = (await execute(gql, CREATE, input={}))["createThread"]["id"]
        await execute(gql, SEND, t=thread, content="one [[chunks:2]]")
        refused = await error_of(gql, SEND, t=thread, content="two")
    assert refused["extensions"]["code"] == "RATE_LIMITED"
    assert refused["extensions"]["limit"] == "requests_per_minute"
    assert refused["extensions"]["retryAfter"] >= 1
    assert refused["message"].startswith("quota requests_per_minute reached")


async def test_unauthenticated_over_http_and_websocket(
    graphql_servers: list[ServerProcess],
) -> None:
    base_url = graphql_servers[0].base_url
    async with over_http(base_url, None) as gql:
        missing = await error_of(gql, "query { threads { edges { cursor } } }")
    async with over_http(base_url, "pg_wrong") as gql:
        wrong = await error_of(gql, "query { models { defaultModel } }")
    assert missing["extensions"] == {"code": "UNAUTHENTICATED", "status": 401}
    assert wrong["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong["message"] == "the API key is not valid"
    nowhere = "00000000-0000-0000-0000-000000000000"
    follow = f'subscription {{ generation(threadId: "{nowhere}") {{ __typename }} }}'
    async with over_websocket(base_url, None) as gql:
        with pytest.raises(TransportQueryError) as raised:
            async for _ in subscribe(gql, follow):
                pass
    assert (raised.value.errors or [{}])[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_hostile_queries_are_refused(graphql_servers: list[ServerProcess], key: str) -> None:
    deep = "query { threads { edges { node { messages { " + "children { " * 8 + "id"
    deep += " }" * 13
    aliases = "query { " + " ".join(f"a{n}: models {{ defaultModel }}" for n in range(40)) + " }"
    async with over_http(graphql_servers[0].base_url, key) as gql:
        too_deep = await error_of(gql, deep)
        too_many = await error_of(gql, aliases)
    assert "exceeds maximum operation depth" in too_deep["message"]
    assert "aliases found" in too_many["message"]
    async with httpx.AsyncClient(base_url=graphql_servers[0].base_url) as http:
        tokens = await http.post(
            "/graphql",
            json={"query": "query { " + "models { defaultModel } " * 600 + "}"},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert tokens.status_code == 200
    assert "token" in tokens.json()["errors"][0]["message"].lower()
