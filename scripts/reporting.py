"""What the benchmark's and the soak's reports share: number formatting, the Jinja2
environment of a Markdown template, the indented JSON, and matplotlib without a display."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import msgspec

NA = "—"


def num(value: float | None, digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals; ``—`` for none."""
    return NA if value is None else f"{value:,.{digits}f}"


def markdown_template(folder: Path, name: str, **filters: Callable[..., str]) -> jinja2.Template:
    """Template ``name`` from ``folder``, with the filters ``num``, ``fmt`` (a Python format
    spec) and ``filters``; blocks trim their own line breaks."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        # Markdown, not HTML: a query or a note is printed as it is.
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(num=num, fmt=format, **filters)
    return environment.get_template(name)


def write_json(path: Path, value: Any) -> Path:
    """``value`` (msgspec-encodable) as indented JSON at ``path``."""
    path.write_bytes(msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n")
    return path


def pyplot() -> ModuleType | None:
    """``matplotlib.pyplot`` on the Agg backend (no display), or None when not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt
