"""Tool outputs a client sends for a reply waiting on them (README "Function calling"):
which of its calls still wait, and the tool rows that answer them."""

from __future__ import annotations

from uuid import UUID

import msgspec

from api.errors import BadRequestError, PayloadTooLargeError
from api.schemas.messages import ToolOutput
from api.stores.messages import new_message
from api.stores.tree import MessageTree
from db import models as m


def answer_rows(
    tree: MessageTree, waiting: m.Message, outputs: list[ToolOutput], max_chars: int
) -> tuple[list[m.Message], UUID]:
    """The tool rows answering ``waiting``'s open calls in the order of the calls, and
    the message they go under: the built-in calls of that turn were answered already,
    as a chain of tool rows below it. 400 for unknown, repeated or missing call ids,
    413 for an output longer than ``max_chars``."""
    chain = [waiting]
    while children := [c for c in tree.children[chain[-1].id] if c.role == "tool"]:
        chain.append(children[0])
    answered = {row.tool_call_id for row in chain[1:]}
    pending = [call["id"] for call in waiting.tool_calls or [] if call.get("id") not in answered]
    rows = []
    parent_id = chain[-1].id
    for output in _in_call_order(outputs, pending):
        content = _output_text(output, max_chars)
        row = new_message(
            waiting.thread_id, parent_id, "tool", content, tool_call_id=output.call_id
        )
        rows.append(row)
        parent_id = row.id
    return rows, chain[-1].id


def _output_text(output: ToolOutput, max_chars: int) -> str:
    content = (
        output.output
        if isinstance(output.output, str)
        else msgspec.json.encode(output.output).decode()
    )
    if len(content) > max_chars:
        raise PayloadTooLargeError(
            f"the output for {output.call_id} is {len(content)} characters long; "
            f"the limit is {max_chars}",
            extra={"field": "outputs.output", "limit": max_chars},
        )
    return content


def _in_call_order(outputs: list[ToolOutput], pending: list[str]) -> list[ToolOutput]:
    """The outputs in the order of the calls; 400 for unknown, repeated or missing ids."""
    by_id: dict[str, ToolOutput] = {}
    for index, output in enumerate(outputs):
        field = f"outputs[{index}].call_id"
        if output.call_id not in pending:
            raise BadRequestError(
                f"{field}: {output.call_id!r} is not a call waiting for output; "
                f"waiting: {', '.join(pending) or '(none)'}",
                extra={"field": field, "pending_call_ids": pending},
            )
        if output.call_id in by_id:
            raise BadRequestError(
                f"{field}: {output.call_id!r} is answered twice", extra={"field": field}
            )
        by_id[output.call_id] = output
    missing = [call_id for call_id in pending if call_id not in by_id]
    if missing:
        raise BadRequestError(
            f"outputs: no output for {', '.join(missing)}; every waiting call needs one",
            extra={"field": "outputs", "missing_call_ids": missing},
        )
    return [by_id[call_id] for call_id in pending]
