"""HTTP endpoints of the prompt library (``/api/prompts``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from api.http.openapi import errors
from api.http.paging import PageCursor, page_limit
from api.prompts.deps import provide_prompt_service
from api.prompts.service import PromptService
from api.schemas.prompts import (
    Prompt,
    PromptCreate,
    PromptCreated,
    PromptPage,
    PromptUpdate,
    PromptVersion,
    VersionCreate,
    VersionDiff,
    VersionPage,
)

PageLimit = Annotated[int, page_limit("Items")]
VersionNumber = Annotated[int, Parameter(ge=1, le=2_147_483_647, description="A version number.")]
NAME_TAKEN = {409: "The caller has a prompt of that name already"}


class PromptController(Controller):
    """Create, list, read, rename and delete prompts; write and read their versions."""

    path = "/api/prompts"
    tags = ["prompts"]
    dependencies = {"prompts": Provide(provide_prompt_service, sync_to_thread=False)}

    @post(
        "/",
        operation_id="createPrompt",
        status_code=201,
        responses=errors(400, 409, 413, described=NAME_TAKEN),
    )
    async def create_prompt(
        self, prompts: NamedDependency[PromptService], data: JSONBody[PromptCreate]
    ) -> PromptCreated:
        """Create a prompt with its version 1."""
        return await prompts.create(data)

    @get("/", operation_id="listPrompts", responses=errors(400))
    async def list_prompts(
        self,
        prompts: NamedDependency[PromptService],
        limit: FromQuery[PageLimit] = 100,
        cursor: FromQuery[PageCursor] = "",
    ) -> PromptPage:
        """List the caller's prompts (an admin's: everyone's) by name, a page at a time."""
        return await prompts.list(limit, cursor)

    @get("/{prompt_id:uuid}", operation_id="getPrompt", responses=errors(400, 404))
    async def get_prompt(
        self, prompts: NamedDependency[PromptService], prompt_id: FromPath[UUID]
    ) -> Prompt:
        """Read one prompt."""
        return await prompts.get(prompt_id)

    @patch(
        "/{prompt_id:uuid}",
        operation_id="updatePrompt",
        responses=errors(400, 404, 409, 413, described=NAME_TAKEN),
    )
    async def update_prompt(
        self,
        prompts: NamedDependency[PromptService],
        prompt_id: FromPath[UUID],
        data: JSONBody[PromptUpdate],
    ) -> Prompt:
        """Rename a prompt or change its description (its text changes by new versions)."""
        return await prompts.update(prompt_id, data)

    @delete(
        "/{prompt_id:uuid}",
        operation_id="deletePrompt",
        status_code=204,
        responses=errors(400, 404),
    )
    async def delete_prompt(
        self, prompts: NamedDependency[PromptService], prompt_id: FromPath[UUID]
    ) -> None:
        """Delete a prompt; replies keep the versions they were generated with."""
        await prompts.delete(prompt_id)

    @post(
        "/{prompt_id:uuid}/versions",
        operation_id="createPromptVersion",
        status_code=201,
        responses=errors(400, 404, 413),
    )
    async def create_version(
        self,
        prompts: NamedDependency[PromptService],
        prompt_id: FromPath[UUID],
        data: JSONBody[VersionCreate],
    ) -> PromptVersion:
        """Write the prompt's next version."""
        return await prompts.add_version(prompt_id, data)

    @get(
        "/{prompt_id:uuid}/versions", operation_id="listPromptVersions", responses=errors(400, 404)
    )
    async def list_versions(
        self,
        prompts: NamedDependency[PromptService],
        prompt_id: FromPath[UUID],
        limit: FromQuery[PageLimit] = 20,
        cursor: FromQuery[PageCursor] = "",
    ) -> VersionPage:
        """List a prompt's versions, newest first, a page at a time."""
        return await prompts.versions(prompt_id, limit, cursor)

    @get(
        "/{prompt_id:uuid}/versions/{version:int}",
        operation_id="getPromptVersion",
        responses=errors(400, 404),
    )
    async def get_version(
        self,
        prompts: NamedDependency[PromptService],
        prompt_id: FromPath[UUID],
        version: FromPath[VersionNumber],
    ) -> PromptVersion:
        """Read one version of a prompt."""
        return await prompts.version(prompt_id, version)

    @get(
        "/{prompt_id:uuid}/versions/{old:int}/diff/{new:int}",
        operation_id="diffPromptVersions",
        responses=errors(400, 404),
    )
    async def diff_versions(
        self,
        prompts: NamedDependency[PromptService],
        prompt_id: FromPath[UUID],
        old: FromPath[VersionNumber],
        new: FromPath[VersionNumber],
    ) -> VersionDiff:
        """The unified diff of version ``old``'s template to version ``new``'s."""
        return await prompts.diff(prompt_id, old, new)
