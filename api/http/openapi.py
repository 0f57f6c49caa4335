"""What the OpenAPI document says beyond what Litestar reads from a handler's signature:
each operation's error answers, answers that are event streams, bodies that may be left
out, links from an answer to the operations its ids lead to, and the rules of msgspec
request bodies that Litestar leaves out of their schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

import msgspec
from litestar import post
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    Link,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)

from api.schemas.errors import ErrorBody
from api.schemas.events import EVENT_ID_PATTERN, EventName

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

ERROR_DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, unknown or wrongly typed fields, values out of range,"
    " undeclared query parameters, or a check of the service; `extra` names the field",
    401: "No API key, or one that is wrong, expired or revoked, while the server requires"
    " keys (`WWW-Authenticate: Bearer`)",
    403: "The key is valid but this needs an admin key",
    404: "No such thread or message here (or it belongs to another principal), or a path id"
    " that is not a UUID",
    409: "A reply is being generated in the thread (`extra.message_id` names it), or the"
    " message is still being generated",
    412: "`If-Match` names a version the thread or message no longer has (or a weak tag);"
    " `extra.current` is the current representation, `extra.etag` its ETag; nothing changed",
    413: "The body, or a text in it, is over its size limit (`extra.limit`)",
    422: "The `Idempotency-Key` was used before with a different request",
    429: "A quota of the caller is used up (`extra.limit` names it); retry after `Retry-After`",
    502: "The model server failed before any output (the user message is stored)",
    503: "The database cannot be reached, or this process is shutting down; retry after"
    " `Retry-After`",
    504: "The model server did not answer in time, before any output",
}
# Whatever starts a generation can fail in all these ways before the stream starts.
GENERATING = (400, 404, 409, 413, 429, 502, 503, 504)


def errors(
    *statuses: int,
    described: Mapping[int, str] | None = None,
    database: bool = True,
    auth: bool = True,
) -> dict[int, ResponseSpec]:
    """The error answers of an operation, each with the error body; ``described`` words
    some of them for this operation. An operation that reads the database answers 503
    while it cannot be reached (``database``); one that needs a key answers 401 when
    the server requires keys (``auth``)."""
    if auth:
        statuses = tuple(dict.fromkeys((*statuses, 401)))
    if database:
        statuses = tuple(dict.fromkeys((*statuses, 503)))
    return {
        status: ResponseSpec(
            data_container=ErrorBody,
            description=(described or {}).get(status, ERROR_DESCRIPTIONS[status]),
            generate_examples=False,
        )
        for status in statuses
    }


# OpenAPI 3.1 has no way to describe the events of a stream; as schemathesis (and the
# 3.2 draft's ``itemSchema``) read it, the schema of a ``text/event-stream`` answer
# describes one event.
SSE_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "event", "data"],
    properties={
        "id": Schema(type=OpenAPIType.STRING, pattern=EVENT_ID_PATTERN),
        "event": Schema(type=OpenAPIType.STRING, enum=list(get_args(EventName))),
        "data": Schema(type=OpenAPIType.STRING, content_media_type="application/json"),
    },
    description="One event of the stream: `id:` (`<generation id>:<n>`), `event:` and JSON"
    ' `data:` (README "SSE events"); `done` is always last.',
)


# One event of the AI SDK's UI message stream (``/chat``): a ``data:`` line only.
UI_MESSAGE_CHUNK = Schema(
    type=OpenAPIType.OBJECT,
    required=["data"],
    properties={"data": Schema(type=OpenAPIType.STRING)},
    description="One chunk of the AI SDK's UI message stream: `data:` holds its JSON"
    ' (`{"type": "start" | "text-delta" | …}`), and `[DONE]` last (README "AI SDK (useChat)").',
)


def thread_links(thread_id: str) -> dict[str, Link]:
    """Links from an answer holding a thread id (a runtime expression) to the operations
    on that thread."""
    operations = [
        "getThread",
        "updateThread",
        "deleteThread",
        "listMessages",
        "sendMessage",
        "followGeneration",
        "cancelGeneration",
    ]
    return {op: Link(operation_id=op, parameters={"thread_id": thread_id}) for op in operations}


def message_links(thread_id: str, message_id: str) -> dict[str, Link]:
    """Links from an answer holding a message (runtime expressions of its thread's id and
    its own) to the operations on that message."""
    in_path = {"thread_id": thread_id, "message_id": message_id}
    links = {
        op: Link(operation_id=op, parameters=in_path)
        for op in [
            "getMessage",
            "editMessage",
            "deleteMessage",
            "regenerateMessage",
            "getMessageRequest",
            "replayMessage",
        ]
    }
    for op in ["setThreadHead", "forkThread"]:
        links[op] = Link(
            operation_id=op,
            parameters={"thread_id": thread_id},
            request_body={"message_id": message_id},
        )
    return links


# From a JSON reply (``stream: false``) on to its assistant message.
REPLY_LINKS = message_links(
    "$response.body#/assistant_message/thread_id", "$response.body#/assistant_message/id"
)


def operation_class(
    *,
    event_stream: bool = False,
    event_schema: Schema = SSE_EVENT,
    optional_body: bool = False,
    links: Mapping[int, dict[str, Link]] | None = None,
) -> type[Operation]:
    """An Operation class for what Litestar does not infer from a handler: a 200 answer
    that is also an event stream (each event as ``event_schema`` says), a JSON body that
    may be left out, and the links from an answer (by status) to the operations its ids
    lead to."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if optional_body and isinstance(self.request_body, RequestBody):
                self.request_body.required = False
            responses = self.responses or {}
            ok = responses.get("200")
            if event_stream and isinstance(ok, OpenAPIResponse):
                ok.content = {
                    **(ok.content or {}),
                    "text/event-stream": OpenAPIMediaType(schema=event_schema),
                }
            for status, status_links in (links or {}).items():
                response = responses.get(str(status))
                if isinstance(response, OpenAPIResponse):
                    response.links = {**(response.links or {}), **status_links}

    return DocumentedOperation


def new_reply_post(path: str, *, operation_id: str, answer: ResponseSpec) -> post:
    """The route decorator of a POST that makes a new reply beside a stored message (a
    regeneration, a replay): answered as ``answer`` or as its events, with a body that
    may be left out, links on to the reply, and the errors of starting a generation
    (422 for an ``Idempotency-Key`` used before with another request)."""
    return post(
        path,
        operation_id=operation_id,
        status_code=200,
        responses={200: answer, **errors(*GENERATING, 422)},
        operation_class=operation_class(
            event_stream=True, optional_body=True, links={200: REPLY_LINKS}
        ),
    )


# Litestar copies a bound only when it is truthy, so ``ge=0`` went missing.
_BOUNDS = {"ge": "minimum", "gt": "exclusive_minimum", "le": "maximum", "lt": "exclusive_maximum"}


class MsgspecRulesSchemaPlugin(StructSchemaPlugin):
    """Struct schemas with what Litestar leaves out: ``additionalProperties: false`` for
    Structs that forbid unknown fields, numeric bounds of 0, and the keys of a field's
    ``extra_json_schema`` (rules the services check, documented with ``msgspec.Meta``)."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        """Litestar's schema for the Struct, completed."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct: type[msgspec.Struct] = field_definition.type_
        if struct.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        aliases = Schema.field_aliases()
        info: Any = msgspec.inspect.type_info(struct)
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if not isinstance(prop, Schema):
                continue
            field_type, extra = _unwrap(field.type)
            if isinstance(field_type, msgspec.inspect.IntType | msgspec.inspect.FloatType):
                for bound, keyword in _BOUNDS.items():
                    if (value := getattr(field_type, bound)) is not None:
                        setattr(prop, keyword, value)
            for key, value in extra.items():
                name = aliases.get(key, key)
                if not hasattr(prop, name):
                    raise ValueError(f"{struct.__name__}.{field.name}: no schema keyword {key!r}")
                setattr(prop, name, value)
        return schema


def _unwrap(field_type: msgspec.inspect.Type) -> tuple[msgspec.inspect.Type, dict[str, Any]]:
    """A field's type inside ``X | None`` and its ``Meta``, and its ``extra_json_schema``."""
    if isinstance(field_type, msgspec.inspect.UnionType):
        inner = [t for t in field_type.types if not isinstance(t, msgspec.inspect.NoneType)]
        field_type = inner[0] if len(inner) == 1 else field_type
    if isinstance(field_type, msgspec.inspect.Metadata):
        return field_type.type, dict(field_type.extra_json_schema or {})
    return field_type, {}
