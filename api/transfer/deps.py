"""Dependency providers of the export and import endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.auth import Principal
from api.settings import Settings
from api.transfer.formats.checks import ImportLimits
from api.transfer.service import TransferService


def import_limits(settings: Settings) -> ImportLimits:
    """The size limits of an imported document, from the settings."""
    return ImportLimits(
        max_bytes=settings.transfer.playground_import_max_bytes,
        max_messages=settings.transfer.playground_import_max_messages,
        max_content_chars=settings.generation.playground_max_content_chars,
    )


def provide_transfer_service(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> TransferService:
    """The export and import service of this request's caller."""
    return TransferService(
        db_session,
        state.session_factory,
        caller,
        state.tools,
        import_limits(state.settings),
        state.models.default_model,
    )
