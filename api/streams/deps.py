"""Dependency providers of the stream endpoints."""

from __future__ import annotations

from litestar.datastructures import State

from api.generation.manager import GenerationManager


def provide_generations(state: State) -> GenerationManager:
    """This process's generation manager."""
    generations: GenerationManager = state.generations
    return generations
