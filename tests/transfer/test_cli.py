"""``playground export`` and ``playground import`` as an operator runs them: real
processes on the database, the tree coming back the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.transfer import branched_thread, settings_of, tree_shape
from tests.fixtures.upstream import REPO_ROOT


def playground(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def document_of(client: httpx.AsyncClient, thread_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/threads/{thread_id}/export")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def newest_thread(client: httpx.AsyncClient) -> dict[str, Any]:
    thread: dict[str, Any] = (await client.get("/api/threads?limit=1")).json()["data"][0]
    return thread


async def test_export_then_import_gives_the_same_tree(
    client: httpx.AsyncClient, migrated_database_url: str, tmp_path: Path
) -> None:
    source = await branched_thread(client)
    original = await document_of(client, source["id"])
    for fmt in ("json", "jsonl"):
        out = tmp_path / f"thread.{fmt}"
        exported = playground(
            migrated_database_url,
            "export",
            "--thread",
            source["id"],
            "--format",
            fmt,
            "-o",
            str(out),
        )
        assert exported.returncode == 0, exported.stderr
        assert "exported 1 thread(s)" in exported.stderr
        assert "1/1" in exported.stderr  # the progress bar
        if fmt == "json":
            assert json.loads(out.read_text())["format"] == "playground.thread/v1"
        else:
            assert out.read_text().count("\n") == 1
        imported = playground(migrated_database_url, "import", str(out))
        assert imported.returncode == 0, imported.stderr
        assert "imported 1 thread(s)" in imported.stderr
        copy = await newest_thread(client)
        assert copy["id"] != source["id"]
        again = await document_of(client, copy["id"])
        assert tree_shape(again) == tree_shape(original)
        assert settings_of(again) == settings_of(original)


async def test_export_to_stdout_as_markdown(
    client: httpx.AsyncClient, migrated_database_url: str
) -> None:
    source = await branched_thread(client)
    result = playground(
        migrated_database_url, "export", "--thread", source["id"], "--format", "markdown"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Transfer\n")
    missing = playground(
        migrated_database_url, "export", "--thread", "00000000-0000-4000-8000-00000000beef"
    )
    assert missing.returncode == 1
    assert "not found" in missing.stderr


async def test_a_bad_line_stores_none_of_the_file(
    client: httpx.AsyncClient, migrated_database_url: str, tmp_path: Path
) -> None:
    before = (await newest_thread(client))["id"]
    good = {"format": "playground.thread/v1", "model": "offline", "title": "cli", "messages": []}
    bad = {"messages": [{"role": "user", "content": "hi"}, {"role": "robot"}]}
    lines = tmp_path / "threads.jsonl"
    lines.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    result = playground(migrated_database_url, "import", str(lines))
    assert result.returncode == 1
    assert f"error: {lines} line 2: $.messages[1].role: " in result.stderr
    assert (await newest_thread(client))["id"] == before
