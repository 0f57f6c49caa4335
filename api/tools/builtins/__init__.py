"""The built-in server-side tools, one module each, and the set new threads enable.

Every built-in is enabled on a new thread by default (``DEFAULT_TOOL_NAMES``); a
thread narrows that with its ``tools`` field.
"""

from __future__ import annotations

from typing import Any

from api.tools.base import Tool
from api.tools.builtins import (
    calculator,
    current_time,
    model_stats,
    search_threads,
    set_thread_title,
)

BUILTIN_TOOLS: list[Tool[Any]] = [
    set_thread_title.TOOL,
    calculator.TOOL,
    current_time.TOOL,
    search_threads.TOOL,
    model_stats.TOOL,
]

DEFAULT_TOOL_NAMES: list[str] = [tool.name for tool in BUILTIN_TOOLS]

__all__ = ["BUILTIN_TOOLS", "DEFAULT_TOOL_NAMES"]
