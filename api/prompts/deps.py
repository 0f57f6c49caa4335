"""Dependency providers of the prompt library endpoints."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.prompts.service import PromptService
from api.schemas.auth import Principal


def provide_prompt_service(
    db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> PromptService:
    """The prompt service of this request's caller, over its session."""
    return PromptService(db_session, caller)
