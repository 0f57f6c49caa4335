"""The committed SDL is the schema's: regenerate it with ``python -m api.graphql.sdl``."""

from __future__ import annotations

from api.graphql.sdl import SDL_PATH, sdl


def test_committed_sdl_is_current() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == sdl(), (
        "api/graphql/schema.graphql is stale: run `python -m api.graphql.sdl`"
    )
