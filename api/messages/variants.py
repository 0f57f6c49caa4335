"""Compare runs: the ``variants`` of a send or a regeneration, checked and resolved like
a single request's model and params, and the answer of a non-streamed run."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from api.errors import BadRequestError, NotFoundError, UpstreamError
from api.generation.context import ThreadTools
from api.llm.router import ModelRouter
from api.messages.rules import resolve_model
from api.prompts.resolve import RenderedPrompt
from api.schemas.messages import (
    CompareResult,
    Message,
    Regenerate,
    SendMessage,
    SendResult,
)
from api.schemas.views import to_message
from api.stores.messages import reply_placeholder
from api.stores.tree import MessageTree
from db import models as m

# What each reply of a run is asked with: its model and merged params.
Chosen = list[tuple[str, dict[str, Any]]]


def check_variants(body: SendMessage | Regenerate) -> None:
    """400 naming ``variants`` when it comes with a top-level ``model`` or ``params``:
    each variant names its own."""
    if body.variants is not None and (body.model is not None or body.params is not None):
        raise BadRequestError(
            "variants cannot be combined with a top-level model or params; give each "
            "variant its own model and params",
            extra={"field": "variants"},
        )


def choose(models: ModelRouter, thread: m.Thread, body: SendMessage | Regenerate) -> Chosen:
    """The model and params of each reply the request asks for: its variants, or one."""
    if body.variants is None:
        return [resolve_model(models, thread, body.model, body.params)]
    return [
        resolve_model(models, thread, variant.model, variant.params) for variant in body.variants
    ]


def first_variant(body: SendMessage) -> tuple[str | None, dict[str, Any]]:
    """The model and params the send statement stores its reply with (the first
    variant's in a compare run), the params as given (the statement merges them)."""
    first = body if body.variants is None else body.variants[0]
    params: dict[str, Any] = {} if first.params is None else msgspec.to_builtins(first.params)
    return first.model, params


def run_result(tree: MessageTree, generation: m.Generation) -> SendResult | CompareResult:
    """The stored outcome of a finished generation, for a non-streamed request: its
    reply (a 502 if it failed) or, for a compare run, all its replies."""
    if generation.variant_ids:
        return compare_result(tree, generation)
    assistant = tree.by_id.get(generation.message_id) if generation.message_id else None
    if assistant is None:
        raise NotFoundError(f"the reply of generation {generation.id} was deleted")
    if assistant.status == "failed":
        raise UpstreamError(assistant.error or "the model server failed")
    return SendResult(
        user_message=user_view(tree, assistant.id),
        assistant_message=to_message(assistant, tree.sibling_ids(assistant)),
    )


def compare_result(tree: MessageTree, generation: m.Generation) -> CompareResult:
    """The stored replies of a finished compare run and the user message they answer."""
    reply_ids: list[UUID] = generation.variant_ids or []
    replies = [tree.by_id[reply_id] for reply_id in reply_ids if reply_id in tree.by_id]
    if not replies:
        raise NotFoundError(f"the replies of generation {generation.id} were deleted")
    return CompareResult(
        user_message=user_view(tree, replies[0].id),
        replies=[to_message(row, tree.sibling_ids(row)) for row in replies],
    )


def offered(thread: m.Thread, chosen: Chosen) -> ThreadTools:
    """The thread's tools, or none for a compare run: each variant is one model call
    answered in text, never a tool round."""
    return ThreadTools.of(thread) if len(chosen) == 1 else ThreadTools(builtin=[], client={})


def placeholders(
    thread_id: UUID,
    parent_id: UUID | None,
    chosen: Chosen,
    counted: int,
    prompt: RenderedPrompt | None,
) -> list[m.Message]:
    """The reply rows of a run, one per variant, in their places, each recording the
    prompt version its system prompt is rendered from."""
    version = (prompt.prompt_id, prompt.version) if prompt else None
    return [
        reply_placeholder(
            thread_id,
            parent_id,
            model=model,
            params=params,
            request_message_count=counted,
            prompt=version,
            variant=place,
        )
        for place, (model, params) in enumerate(chosen)
    ]


def side_by_side(replies: list[m.Message]) -> list[Message]:
    """The views of a run's new replies, each other's siblings."""
    reply_ids = [row.id for row in replies]
    return [to_message(row, reply_ids) for row in replies]


def user_view(tree: MessageTree, reply_id: UUID) -> Message | None:
    """The user message a reply answers (the nearest above it), if any."""
    user = next((row for row in reversed(tree.path_to(reply_id)) if row.role == "user"), None)
    return to_message(user, tree.sibling_ids(user)) if user else None
