"""The body of every error answer, as the OpenAPI document describes it."""

from __future__ import annotations

from typing import Any

import msgspec


class ErrorBody(msgspec.Struct, kw_only=True):
    """Litestar's error shape. ``extra`` is an object naming the ``field`` (with details
    such as ``limit`` or ``known_models``) for the service's own checks, or a list of
    ``{message, key, source}`` when decoding the request failed."""

    status_code: int
    detail: str
    extra: dict[str, Any] | list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
