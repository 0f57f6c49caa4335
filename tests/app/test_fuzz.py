"""Schemathesis drives every operation of the API's own OpenAPI document against a real
``playground serve`` process, and checks each answer against the document.

- Checks: no 5xx; every status, content type and body is one the document declares
  for the operation (JSON bodies against their schema; event streams, up to
  ``max-stream-events`` events, each event against the schema documented for
  ``text/event-stream``); ``OPTIONS`` lists exactly the documented methods of a path,
  and a method the path lacks is a 405 with ``Allow``.
- Inputs: valid and invalid ones (``mode: all``), from the coverage and fuzzing phases.
- Stateful scenarios, with valid inputs, chain operations through the document's own
  links (a created thread's ``id`` into ``{thread_id}``, a stored message's into
  ``{message_id}`` and ``message_id`` bodies): create, send, edit, regenerate, switch
  head, fork, delete. Schemathesis's own link inference is off, so the document's links
  are what is tested. A streamed send ends its chain (an event stream holds no body to
  follow); ``generate: false`` (201 Message) and ``stream: false`` (200 SendResult)
  carry ids onwards.

Reproducible and bounded: a fixed seed, deterministic generation and a few examples per
operation (about 40 s here). The offline model runs at 1 ms per chunk so sends finish
quickly. The live feeds (``followThreadEvents``, ``followEvents``) are left out: their
streams never end by themselves, which a fuzzer reading a response to its end cannot
take; ``tests/feeds`` covers them. Strings carry no NUL: the API refuses it in any text
(Postgres cannot store it), a 400 the bad-input tests cover, and one that would
otherwise take most requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import Case

from api.app import create_app
from api.settings import load_settings
from tests.fixtures.app import TEST_ENV
from tests.fixtures.processes import ServerProcess, start_server

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "allow_header_conformance",
    "unsupported_method",
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261126,
        "max-stream-events": 100,
        "request-timeout": 20,
        "generation": {
            "mode": "all",
            "max-examples": 15,
            "deterministic": True,
            "allow-x00": False,
            "database": "none",
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        # Scenarios go on only while their steps succeed, through the document's links.
        "phases": {
            "stateful": {"generation": {"mode": "positive"}, "inference": {"algorithms": []}}
        },
    }
)

# The document as the app builds it: collecting the tests needs it before any server
# runs (and schemathesis's fixture-based loader fails on this pytest version).
# ``fuzzed_server`` checks that the server serves this very document.
DOCUMENT = create_app("postgresql://unused", load_settings(TEST_ENV)).openapi_schema.to_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(
    operation_id=["followThreadEvents", "followEvents"]
)


@pytest.fixture(scope="module")
def fuzzed_server(migrated_database_url: str, fake_upstream_url: str) -> Iterator[ServerProcess]:
    server = start_server(
        migrated_database_url, fake_upstream_url, {"PLAYGROUND_OFFLINE_CHUNK_DELAY_MS": "1"}
    )
    try:
        assert httpx.get(f"{server.base_url}/schema/openapi.json").json() == DOCUMENT
        yield server
    finally:
        server.stop()


@schema.parametrize()
def test_every_operation_answers_as_documented(
    case: Case[Any], fuzzed_server: ServerProcess
) -> None:
    case.call_and_validate(base_url=fuzzed_server.base_url)


def test_chained_operations_answer_as_documented(fuzzed_server: ServerProcess) -> None:
    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"base_url": fuzzed_server.base_url}

    Scenarios.run(
        settings=hypothesis.settings(
            max_examples=60,
            stateful_step_count=10,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
