"""The schema's SDL, committed as ``api/graphql/schema.graphql`` for client code
generators; ``python -m api.graphql.sdl`` writes it again after a schema change (a
test fails while it is stale)."""

from __future__ import annotations

from pathlib import Path

from api.graphql.schema import schema

SDL_PATH = Path(__file__).with_name("schema.graphql")


def sdl() -> str:
    """The schema as SDL, ending with a newline."""
    return schema.as_str() + "\n"


def main() -> None:
    """Write the SDL file."""
    SDL_PATH.write_text(sdl(), encoding="utf-8")


if __name__ == "__main__":
    main()
