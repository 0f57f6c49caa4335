"""Request and response bodies shared by several domains (msgspec Structs)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Temperature = Annotated[float, msgspec.Meta(ge=0, le=2, description="Sampling temperature, 0-2.")]
TopP = Annotated[float, msgspec.Meta(ge=0, le=1, description="Nucleus sampling mass, 0-1.")]
MaxTokens = Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description="Reply length cap.")]
Penalty = Annotated[float, msgspec.Meta(ge=-2, le=2)]
ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
StopSequences = Annotated[list[str], msgspec.Meta(max_length=4)]


class ChatParams(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Sampling parameters passed to the model; unset ones are left to the model's defaults."""

    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    seed: int | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    stop: StopSequences | None = None


def merge_params(base: ChatParams, override: ChatParams | None) -> ChatParams:
    """Return ``base`` with every field that ``override`` sets replaced."""
    if override is None:
        return base
    merged = msgspec.to_builtins(base)
    merged.update(msgspec.to_builtins(override))
    return msgspec.convert(merged, ChatParams)
