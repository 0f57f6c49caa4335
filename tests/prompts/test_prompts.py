"""The prompt library: prompts, numbered immutable versions, diffs, soft deletion."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.prompts import add_version, create_prompt, unique_name

NO_SUCH_ID = "00000000-0000-4000-8000-00000000beef"


async def test_create_answers_the_prompt_and_its_version_1(client: httpx.AsyncClient) -> None:
    name = unique_name("tutor")
    created = await create_prompt(
        client,
        "You teach {{subject}} to {{ audience }}.",
        name=name,
        description="a patient tutor",
        variables={"audience": "beginners"},
    )
    assert created["name"] == name
    assert created["description"] == "a patient tutor"
    assert created["latest_version"] == 1
    version = created["version"]
    assert version["prompt_id"] == created["id"]
    assert version["version"] == 1
    assert version["template"] == "You teach {{subject}} to {{ audience }}."
    assert version["variable_names"] == ["subject", "audience"]
    assert version["variables"] == {"audience": "beginners"}
    assert version["note"] is None

    fetched = (await client.get(f"/api/prompts/{created['id']}")).json()
    assert fetched == {key: value for key, value in created.items() if key != "version"}
    one = (await client.get(f"/api/prompts/{created['id']}/versions/1")).json()
    assert one == version


async def test_versions_are_numbered_and_listed_newest_first(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "v1 {{x}}")
    second = await add_version(client, prompt["id"], "v2 {{x}}", note="shorter")
    third = await add_version(client, prompt["id"], "v3 {{x}} {{y}}", variables={"y": "why"})
    assert (second["version"], second["note"]) == (2, "shorter")
    assert (third["version"], third["variable_names"]) == (3, ["x", "y"])
    assert (await client.get(f"/api/prompts/{prompt['id']}")).json()["latest_version"] == 3

    first_page = (
        await client.get(f"/api/prompts/{prompt['id']}/versions", params={"limit": 2})
    ).json()
    assert [v["version"] for v in first_page["data"]] == [3, 2]
    rest = (
        await client.get(
            f"/api/prompts/{prompt['id']}/versions", params={"cursor": first_page["next_cursor"]}
        )
    ).json()
    assert [v["version"] for v in rest["data"]] == [1]
    assert rest["next_cursor"] is None
    missing = await client.get(f"/api/prompts/{prompt['id']}/versions/4")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"prompt {prompt['id']} has no version 4"


async def test_versions_written_at_once_get_distinct_numbers(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "v1")
    answers = await asyncio.gather(
        *(
            client.post(f"/api/prompts/{prompt['id']}/versions", json={"template": f"t{i}"})
            for i in range(8)
        )
    )
    assert [answer.status_code for answer in answers] == [201] * 8
    numbers = sorted(answer.json()["version"] for answer in answers)
    assert numbers == list(range(2, 10))
    stored = (
        await client.get(f"/api/prompts/{prompt['id']}/versions", params={"limit": 100})
    ).json()["data"]
    by_number = {v["version"]: v["template"] for v in stored}
    assert {by_number[a.json()["version"]] for a in answers} == {f"t{i}" for i in range(8)}


async def test_diff_between_two_versions(client: httpx.AsyncClient) -> None:
    prompt = await create_prompt(client, "Be brief.\nAnswer in {{language}}.\n")
    await add_version(client, prompt["id"], "Be very brief.\nAnswer in {{language}}.\n")
    response = await client.get(f"/api/prompts/{prompt['id']}/versions/1/diff/2")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "prompt_id": prompt["id"],
        "from_version": 1,
        "to_version": 2,
        "diff": (
            "--- v1\n+++ v2\n@@ -1,2 +1,2 @@\n-Be brief.\n+Be very brief.\n"
            " Answer in {{language}}.\n"
        ),
    }
    same = (await client.get(f"/api/prompts/{prompt['id']}/versions/2/diff/2")).json()
    assert same["diff"] == ""
    unknown = await client.get(f"/api/prompts/{prompt['id']}/versions/1/diff/9")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == f"prompt {prompt['id']} has no version 9"


async def test_defaults_for_variables_the_template_lacks_are_a_400(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/prompts",
        json={"name": unique_name("x"), "template": "Hi {{name}}", "variables": {"nmae": "A"}},
    )
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "variables", "unused": ["nmae"]}
    assert "nmae" in response.json()["detail"]


async def test_list_rename_and_duplicate_names(client: httpx.AsyncClient) -> None:
    stem = unique_name("listed")
    first = await create_prompt(client, "a", name=f"{stem} a")
    second = await create_prompt(client, "b", name=f"{stem} b")
    taken = await client.post("/api/prompts", json={"name": f"{stem} a", "template": "again"})
    assert taken.status_code == 409
    assert taken.json()["detail"] == f"a prompt named '{stem} a' exists already"

    renamed = await client.patch(
        f"/api/prompts/{first['id']}", json={"name": f"{stem} c", "description": "moved"}
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["description"]) == (f"{stem} c", "moved")
    clash = await client.patch(f"/api/prompts/{second['id']}", json={"name": f"{stem} c"})
    assert clash.status_code == 409
    assert clash.json()["extra"] == {"field": "name"}

    names: list[str] = []
    cursor = ""
    while True:
        page = (
            await client.get(
                "/api/prompts", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        names.extend(item["name"] for item in page["data"])
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    ours = [name for name in names if name.startswith(stem)]
    assert ours == [f"{stem} b", f"{stem} c"]
    assert names == sorted(names)


async def test_delete_is_soft_and_frees_the_name(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    prompt = await create_prompt(client, "gone soon")
    assert (await client.delete(f"/api/prompts/{prompt['id']}")).status_code == 204
    for url in (f"/api/prompts/{prompt['id']}", f"/api/prompts/{prompt['id']}/versions/1"):
        gone = await client.get(url)
        assert gone.status_code == 404
        assert gone.json()["detail"] == f"prompt {prompt['id']} not found"
    again = await create_prompt(client, "new one", name=prompt["name"])
    assert again["id"] != prompt["id"]
    async with db_engine.connect() as connection:
        kept = await connection.execute(
            text("SELECT template FROM prompt_version WHERE prompt_id = :id"), {"id": prompt["id"]}
        )
        assert kept.scalars().all() == ["gone soon"]


async def test_a_version_never_changes_in_the_database(
    client: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    prompt = await create_prompt(client, "fixed")
    with pytest.raises(DBAPIError, match="a prompt_version row never changes once written"):
        async with db_engine.begin() as connection:
            await connection.execute(
                text("UPDATE prompt_version SET template = 'changed' WHERE prompt_id = :id"),
                {"id": prompt["id"]},
            )
    one = (await client.get(f"/api/prompts/{prompt['id']}/versions/1")).json()
    assert one["template"] == "fixed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/versions"),
        ("POST", "/versions"),
        ("GET", "/versions/1"),
        ("GET", "/versions/1/diff/1"),
    ],
)
async def test_unknown_prompt_is_a_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    body = {"template": "t"} if method == "POST" else {"name": "n"} if method == "PATCH" else None
    response = await client.request(method, f"/api/prompts/{NO_SUCH_ID}{path}", json=body)
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": f"prompt {NO_SUCH_ID} not found"}
