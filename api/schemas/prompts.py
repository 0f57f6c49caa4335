"""Bodies of the prompt library endpoints (``/api/prompts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.messages import NOT_BLANK

PromptName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, extra_json_schema={"pattern": NOT_BLANK})
]
Description = Annotated[str, msgspec.Meta(max_length=2_000)]
Template = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100_000, extra_json_schema={"pattern": NOT_BLANK})
]
Note = Annotated[str, msgspec.Meta(max_length=2_000)]
VariableName = Annotated[str, msgspec.Meta(pattern="^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
VariableValue = Annotated[str, msgspec.Meta(max_length=100_000)]
# Values of a template's ``{{name}}`` variables, by name.
Variables = Annotated[dict[VariableName, VariableValue], msgspec.Meta(max_length=100)]


class PromptCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/prompts``: a prompt and its version 1."""

    name: PromptName
    description: Description | None = None
    template: Template
    variables: Variables | None = None


class PromptUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``PATCH /api/prompts/{id}``: only the fields present change (the text
    changes only by a new version)."""

    name: PromptName | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET


class VersionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/prompts/{id}/versions``: the next version's text."""

    template: Template
    variables: Variables | None = None
    note: Note | None = None


class PromptVersion(msgspec.Struct, kw_only=True):
    """One version of a prompt, as written (versions never change)."""

    prompt_id: UUID
    version: int
    template: str
    # The template's variables, in order of first use: what a thread fills in.
    variable_names: list[str]
    # Default values of some of them.
    variables: dict[str, str]
    note: str | None
    created_at: datetime


class Prompt(msgspec.Struct, kw_only=True):
    """A prompt of the library; ``latest_version`` is its newest version's number."""

    id: UUID
    owner_id: UUID
    name: str
    description: str | None
    latest_version: int
    created_at: datetime
    updated_at: datetime


class PromptCreated(Prompt, kw_only=True):
    """Answer of ``POST /api/prompts``: the prompt and its version 1."""

    version: PromptVersion


class PromptPage(msgspec.Struct, kw_only=True):
    """One page of prompts by name; pass ``next_cursor`` back for the next."""

    data: list[Prompt]
    next_cursor: str | None


class VersionPage(msgspec.Struct, kw_only=True):
    """One page of a prompt's versions, newest first; pass ``next_cursor`` back for the next."""

    data: list[PromptVersion]
    next_cursor: str | None


class VersionDiff(msgspec.Struct, kw_only=True):
    """A unified diff of two versions' templates (empty when they are the same)."""

    prompt_id: UUID
    from_version: int
    to_version: int
    diff: str
