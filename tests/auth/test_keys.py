"""Keys: created, listed and revoked over HTTP and with ``playground keys``; every way a
request can fail to authenticate; a revoked key failing at once on every process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.app import RunningApp
from tests.fixtures.auth import AUTH_ENV, SEEN_BODIES, Caller, create_key, keys_cli
from tests.fixtures.processes import ServerProcess, start_server


async def anonymous(running: RunningApp, method: str, url: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as http:
        response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
    SEEN_BODIES.append(response.text)
    return response


async def test_admin_creates_lists_limits_and_revokes_keys_over_http(
    admin: Caller, auth_app: RunningApp
) -> None:
    created = await admin.request(
        "POST", "/api/keys", json={"name": "carol", "requests_per_minute": 30}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith("pgk_")
    assert len(body["key"]) >= 40
    assert body["prefix"] == body["key"][:12]
    assert body["role"] == "member"
    assert body["limits"] == {
        "tokens_per_day": None,
        "requests_per_minute": 30,
        "max_concurrent_replies": None,
    }
    carol = {"Authorization": f"Bearer {body['key']}"}
    me = await anonymous(auth_app, "GET", "/api/me", headers=carol)
    assert me.json()["principal_id"] == body["principal_id"]
    assert me.json()["auth"] == "required"
    assert me.json()["limits"]["requests_per_minute"] == 30

    listed = (await admin.request("GET", "/api/keys")).json()["data"]
    mine = next(key for key in listed if key["id"] == body["id"])
    assert "key" not in mine
    assert body["key"] not in str(listed)
    assert mine["prefix"] == body["prefix"]
    assert mine["revoked_at"] is None

    patched = await admin.request(
        "PATCH", f"/api/keys/{body['id']}", json={"requests_per_minute": None, "tokens_per_day": 5}
    )
    assert patched.json()["limits"] == {
        "tokens_per_day": 5,
        "requests_per_minute": None,
        "max_concurrent_replies": None,
    }

    revoked = await admin.request("DELETE", f"/api/keys/{body['id']}")
    assert revoked.status_code == 204
    after = await anonymous(auth_app, "GET", "/api/me", headers=carol)
    assert after.status_code == 401
    assert after.json()["detail"] == "the API key was revoked"
    listed = (await admin.request("GET", "/api/keys")).json()["data"]
    assert next(key for key in listed if key["id"] == body["id"])["revoked_at"] is not None
    assert (
        await admin.request("DELETE", "/api/keys/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12)
    ).status_code == 404


async def test_a_second_key_for_a_principal_shares_its_threads(
    admin: Caller, alice: Caller
) -> None:
    thread = (await alice.request("POST", "/api/threads", json={"title": "rotated"})).json()
    second = await admin.request(
        "POST", "/api/keys", json={"name": "alice laptop", "principal_id": alice.principal_id}
    )
    assert second.status_code == 201
    headers = {"Authorization": f"Bearer {second.json()['key']}"}
    seen = await alice.http.get(f"/api/threads/{thread['id']}", headers=headers)
    assert seen.json()["title"] == "rotated"
    both = await admin.request(
        "POST",
        "/api/keys",
        json={"name": "x", "principal_id": alice.principal_id, "admin": True},
    )
    assert both.status_code == 400
    assert both.json()["extra"] == {"field": "admin"}


async def test_members_get_403_on_admin_routes(alice: Caller) -> None:
    for method, url in [("GET", "/api/keys"), ("POST", "/api/keys"), ("GET", "/metrics")]:
        answer = await alice.request(method, url, json={"name": "x"} if method == "POST" else None)
        assert answer.status_code == 403, (url, answer.text)
        assert answer.json()["detail"] == "this needs an admin key"


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "this server requires an API key: send `Authorization: Bearer <key>`"),
        ("Basic dXNlcjpwdw==", "send the key as `Authorization: Bearer <key>`"),
        ("Bearer", "send the key as `Authorization: Bearer <key>`"),
        ("Bearer pgk_not-a-key-of-this-server", "the API key is not valid"),
    ],
)
async def test_missing_or_wrong_keys_are_401(
    auth_app: RunningApp, authorization: str | None, detail: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, url in [("GET", "/api/threads"), ("POST", "/api/threads"), ("GET", "/api/models")]:
        answer = await anonymous(auth_app, method, url, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.json() == {"status_code": 401, "detail": detail}


async def test_the_page_docs_and_health_need_no_key(auth_app: RunningApp) -> None:
    for url in ["/", "/static/main.js", "/schema/openapi.json", "/healthz"]:
        answer = await anonymous(auth_app, "GET", url)
        assert answer.status_code == 200, url


async def test_an_expired_key_is_401(
    auth_app: RunningApp, migrated_database_url: str, db_engine: AsyncEngine
) -> None:
    made = await create_key(migrated_database_url, "temp", expires_in_days=1)
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert (await anonymous(auth_app, "GET", "/api/me", headers=headers)).status_code == 200
    async with db_engine.begin() as connection:
        await connection.execute(
            text("UPDATE api_key SET expires_at = now() - interval '1 s' WHERE id = :id"),
            {"id": made["id"]},
        )
    expired = await anonymous(auth_app, "GET", "/api/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["detail"] == "the API key has expired"


def test_keys_cli_creates_lists_and_revokes(migrated_database_url: str) -> None:
    created = keys_cli(
        migrated_database_url,
        "create",
        "--name",
        "ci bot",
        "--expires-in",
        "30",
        "--tokens-per-day",
        "1000",
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("pgk_")
    key_id = created.stdout.split()[0]
    assert "tokens_per_day=1000" in created.stdout

    listed = keys_cli(migrated_database_url, "list")
    line = next(line for line in listed.stdout.splitlines() if line.startswith(key_id))
    assert key[:12] in line
    assert key not in listed.stdout
    assert "expires" in line
    assert "ci bot" in line

    limited = keys_cli(migrated_database_url, "limits", key_id, "--tokens-per-day", "default")
    assert "limits: defaults" in limited.stdout

    revoked = keys_cli(migrated_database_url, "revoke", key_id)
    assert revoked.returncode == 0
    assert "revoked" in revoked.stdout
    unknown = keys_cli(migrated_database_url, "revoke", "00000000-0000-4000-8000-000000000000")
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    bad = keys_cli(migrated_database_url, "create", "--name", "")
    assert bad.returncode == 1
    assert "name" in bad.stderr


@pytest.fixture(scope="module")
def two_auth_servers(
    migrated_database_url: str, fake_upstream_url: str
) -> Iterator[list[ServerProcess]]:
    """Two processes requiring keys, on one database."""
    servers = [start_server(migrated_database_url, fake_upstream_url, AUTH_ENV) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()
        SEEN_BODIES.extend(server.output)


async def test_a_revoked_key_fails_at_once_on_every_process(
    two_auth_servers: list[ServerProcess], migrated_database_url: str, admin: Caller
) -> None:
    made = await create_key(migrated_database_url, "dave")
    headers = {"Authorization": f"Bearer {made['key']}"}
    for server in two_auth_servers:
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
            assert (await http.get("/api/threads")).status_code == 200
    first, second = two_auth_servers
    async with httpx.AsyncClient(base_url=first.base_url, headers=admin.http.headers) as http:
        assert (await http.delete(f"/api/keys/{made['id']}")).status_code == 204
    for server in (second, first):
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as http:
            answer = await http.get("/api/threads")
        assert answer.status_code == 401
        assert answer.json()["detail"] == "the API key was revoked"
