"""The document the server serves is valid OpenAPI 3.1, as Redocly's structural check
(``@redocly/openapi-core``, which openapi-typescript builds on) reads the
specification: what a generator rejects or misreads shows here first."""

from __future__ import annotations

from tests.clients.conftest import last_json, run_node
from tests.fixtures.processes import ServerProcess


def test_the_served_document_is_valid_openapi_3_1(node: str, server: ServerProcess) -> None:
    url = f"{server.base_url}/schema/openapi.json"
    result = last_json(run_node(node, ["validate.mjs", url], {}).stdout)
    assert result == {"openapi": "3.1.0", "problems": []}
