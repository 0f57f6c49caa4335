"""Prompts belong to their owner: another member's prompt answers exactly what a prompt
that does not exist answers, in the library and as a thread's prompt; an admin reaches
all, as with threads."""

from __future__ import annotations

from typing import Any

from tests.fixtures.auth import Caller
from tests.fixtures.prompts import unique_name

NO_SUCH_ID = "00000000-0000-4000-8000-00000000beef"


async def alice_prompt(alice: Caller) -> dict[str, Any]:
    response = await alice.request(
        "POST", "/api/prompts", json={"name": unique_name("secret"), "template": "Hi {{x}}"}
    )
    assert response.status_code == 201, response.text
    prompt: dict[str, Any] = response.json()
    return prompt


def attempts(prompt_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/prompts/{prompt_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"name": "taken over"}),
        ("DELETE", base, None),
        ("GET", f"{base}/versions", None),
        ("POST", f"{base}/versions", {"template": "mine now"}),
        ("GET", f"{base}/versions/1", None),
        ("GET", f"{base}/versions/1/diff/1", None),
    ]


async def test_another_members_prompt_is_a_404_like_a_missing_one(
    alice: Caller, bob: Caller
) -> None:
    prompt = await alice_prompt(alice)
    for (method, url, body), (_, missing_url, _) in zip(
        attempts(prompt["id"]), attempts(NO_SUCH_ID), strict=True
    ):
        theirs = await bob.request(method, url, json=body)
        missing = await bob.request(method, missing_url, json=body)
        assert theirs.status_code == missing.status_code == 404, (method, url)
        assert (
            theirs.json()["detail"].replace(prompt["id"], NO_SUCH_ID) == (missing.json()["detail"])
        )
    listed = (await bob.request("GET", "/api/prompts")).json()["data"]
    assert prompt["id"] not in {item["id"] for item in listed}
    # Nothing of alice's changed.
    still = (await alice.request("GET", f"/api/prompts/{prompt['id']}")).json()
    assert (still["name"], still["latest_version"]) == (prompt["name"], 1)


async def test_a_thread_cannot_use_another_members_prompt(alice: Caller, bob: Caller) -> None:
    prompt = await alice_prompt(alice)
    body = {"prompt_id": prompt["id"], "prompt_variables": {"x": "1"}}
    theirs = await bob.request("POST", "/api/threads", json=body)
    assert theirs.status_code == 400
    assert theirs.json() == {
        "status_code": 400,
        "detail": f"prompt {prompt['id']} not found",
        "extra": {"field": "prompt_id"},
    }
    mine = await alice.request("POST", "/api/threads", json=body)
    assert mine.status_code == 201, mine.text


async def test_a_name_is_unique_per_owner_only(alice: Caller, bob: Caller) -> None:
    name = unique_name("shared")
    for caller in (alice, bob):
        made = await caller.request("POST", "/api/prompts", json={"name": name, "template": "t"})
        assert made.status_code == 201, made.text
        assert made.json()["owner_id"] == caller.principal_id


async def test_an_admin_reaches_every_prompt(alice: Caller, admin: Caller) -> None:
    prompt = await alice_prompt(alice)
    read = await admin.request("GET", f"/api/prompts/{prompt['id']}")
    assert read.status_code == 200
    assert read.json()["owner_id"] == alice.principal_id
    version = await admin.request(
        "POST", f"/api/prompts/{prompt['id']}/versions", json={"template": "Hello {{x}}"}
    )
    assert version.json()["version"] == 2
