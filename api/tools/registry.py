"""The registry of server-side tools a thread can enable by name."""

from __future__ import annotations

from typing import Any

import msgspec


class ToolInfo(msgspec.Struct, kw_only=True):
    """A tool as ``GET /api/tools`` lists it: its name, purpose and argument schema."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolRegistry:
    """The tools this process offers; empty until tools are registered."""

    def __init__(self, tools: list[ToolInfo] | None = None) -> None:
        self._tools = {tool.name: tool for tool in tools or []}

    def names(self) -> list[str]:
        """Names of every registered tool, sorted."""
        return sorted(self._tools)

    def all(self) -> list[ToolInfo]:
        """Every registered tool, sorted by name."""
        return [self._tools[name] for name in self.names()]

    def unknown(self, names: list[str]) -> list[str]:
        """The names in ``names`` that no registered tool has."""
        return [name for name in names if name not in self._tools]
