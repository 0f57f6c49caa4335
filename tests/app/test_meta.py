"""Meta endpoints: models, tools, health and the OpenAPI document."""

from __future__ import annotations

import httpx

from api.settings import load_settings


async def test_models_lists_upstream_and_offline(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/models")).json()
    ids = [model["id"] for model in body["data"]]
    assert "offline" in ids
    assert {"fake-small", "fake-large"} <= set(ids)
    offline = next(model for model in body["data"] if model["id"] == "offline")
    assert offline["offline"] is True
    assert "offline" in offline["description"].lower()
    assert body["default_model"] == "offline"


async def test_health_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_tools_listing(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tools")
    assert response.status_code == 200
    assert isinstance(response.json()["data"], list)


async def test_openapi_document_names_every_operation(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {
        operation["operationId"]
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    assert {
        "createThread",
        "listThreads",
        "getThread",
        "updateThread",
        "deleteThread",
        "forkThread",
        "setThreadHead",
        "listMessages",
        "getMessage",
        "sendMessage",
        "editMessage",
        "deleteMessage",
        "regenerateMessage",
        "listModels",
        "health",
    } <= operations


def test_settings_never_show_the_api_key() -> None:
    settings = load_settings({"OPENAI_API_KEY": "sk-secret-value"})
    assert settings.models.openai_api_key == "sk-secret-value"
    assert "sk-secret-value" not in repr(settings)
    assert "openai_api_key='***'" in repr(settings.models)
