"""Client-defined functions as a thread declares them (OpenAI playground style).

The server never runs them; ``api.tools.client`` checks their schemas and the
arguments the model produces for them.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

NAME_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"


class ClientFunction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A function the client declares and runs: its name, purpose and argument schema."""

    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    description: str = ""
    # A JSON Schema whose top-level ``type`` is ``"object"``.
    parameters: dict[str, Any]
