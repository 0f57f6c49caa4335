"""The registry of server-side tools a thread can enable by name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from api.llm.request import ToolSpec
from api.tools.base import Tool
from api.tools.builtins import BUILTIN_TOOLS, DEFAULT_TOOL_NAMES


class ToolInfo(msgspec.Struct, kw_only=True):
    """A tool as ``GET /api/tools`` lists it: its name, purpose and argument schema."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolRegistry:
    """The tools this process offers, by name, and the ones new threads enable.

    ``default_names`` defaults to every tool given. Names must be unique.
    """

    def __init__(
        self, tools: Sequence[Tool[Any]] = (), *, default_names: Iterable[str] | None = None
    ) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r}")
            self._tools[tool.name] = tool
        defaults = list(self._tools) if default_names is None else list(default_names)
        unknown = self.unknown(defaults)
        if unknown:
            raise ValueError(f"default tools {unknown} are not registered")
        self._defaults = defaults

    def get(self, name: str) -> Tool[Any] | None:
        """The tool called ``name``, or None."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Names of every registered tool, sorted."""
        return sorted(self._tools)

    def all(self) -> list[ToolInfo]:
        """Every registered tool as ``GET /api/tools`` lists it, sorted by name."""
        return [
            ToolInfo(name=tool.name, description=tool.description, parameters=tool.parameters())
            for tool in (self._tools[name] for name in self.names())
        ]

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The names in ``names`` that no registered tool has."""
        return [name for name in names if name not in self._tools]

    def default_names(self) -> list[str]:
        """The tools a new thread enables when it names none."""
        return list(self._defaults)

    def openai_specs(self, names: Iterable[str]) -> list[ToolSpec]:
        """The OpenAI ``tools`` entries of the named tools (unknown names are skipped)."""
        return [tool.openai_spec() for name in names if (tool := self._tools.get(name))]


def default_registry() -> ToolRegistry:
    """The registry of the built-in tools, all of them enabled on new threads."""
    return ToolRegistry(BUILTIN_TOOLS, default_names=DEFAULT_TOOL_NAMES)
