"""HTTP endpoints for export and import: ``GET /api/threads/{id}/export``,
``GET /api/export`` and ``POST /api/threads/import``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, FromQuery, Parameter
from litestar.response import Stream

from api.http.openapi import errors, operation_class, thread_links
from api.schemas.threads import Thread
from api.schemas.transfer import THREAD_FORMAT, BulkFormat, ExportFormat
from api.transfer.deps import provide_transfer_service
from api.transfer.formats.checks import bad_document
from api.transfer.service import MEDIA_TYPES, TransferService

ThreadFormat = Annotated[
    ExportFormat,
    Parameter(
        description="`json` (the whole tree), `markdown` or `openai-jsonl` (the active branch)."
    ),
]
LinesFormat = Annotated[
    BulkFormat,
    Parameter(
        description="`jsonl` (one `playground.thread/v1` document per line) or `openai-jsonl`."
    ),
]
_TEXT = Schema(type=OpenAPIType.STRING)
_IMPORT_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["messages"],
    properties={
        "format": Schema(type=OpenAPIType.STRING, enum=[THREAD_FORMAT]),
        "messages": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
    },
    description=f'A `{THREAD_FORMAT}` document, or OpenAI\'s chat format `{{"messages": [...],'
    ' "tools": [...]}}` (README "Export and import").',
)


def _documented(content: dict[str, Schema]) -> type[Operation]:
    """An Operation whose 200 lists ``content``: the bodies a raw response may carry."""

    @dataclass
    class ExportOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                ok.content = {kind: OpenAPIMediaType(schema=s) for kind, s in content.items()}

    return ExportOperation


_Linked = operation_class(links={201: thread_links("$response.body#/id")})


@dataclass
class ImportOperation(_Linked):  # type: ignore[valid-type,misc]
    """The import's Operation: its request body is the document the service reads raw."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=_IMPORT_BODY)}, required=True
        )


class ThreadExportController(Controller):
    """A thread out, as a document, Markdown or a fine-tuning line; a document in."""

    path = "/api/threads"
    tags = ["export and import"]
    dependencies = {"transfer": Provide(provide_transfer_service, sync_to_thread=False)}

    @get(
        "/{thread_id:uuid}/export",
        operation_id="exportThread",
        responses=errors(400, 404),
        operation_class=_documented(
            {MEDIA_TYPES["json"]: Schema(type=OpenAPIType.OBJECT), "text/markdown": _TEXT}
            | {MEDIA_TYPES["openai-jsonl"]: _TEXT}
        ),
    )
    async def export_thread(
        self,
        transfer: NamedDependency[TransferService],
        thread_id: FromPath[UUID],
        format: FromQuery[ThreadFormat] = "json",
    ) -> Response[bytes]:
        """One thread: ``json`` (``playground.thread/v1``), ``markdown`` or ``openai-jsonl``."""
        exported = await transfer.export_thread(thread_id, format)
        suffix = {"json": "json", "markdown": "md", "openai-jsonl": "jsonl"}[format]
        return Response(
            exported.body,
            media_type=exported.media_type,
            headers={"Content-Disposition": f'attachment; filename="thread-{thread_id}.{suffix}"'},
        )

    @post(
        "/import",
        operation_id="importThread",
        status_code=201,
        responses=errors(400),
        # The service reads the body itself, against its own byte limit.
        request_max_body_size=None,
        operation_class=ImportOperation,
    )
    async def import_thread(
        self, transfer: NamedDependency[TransferService], request: Request[Any, Any, Any]
    ) -> Thread:
        """Store a ``playground.thread/v1`` document or an OpenAI chat conversation as a
        new thread of the caller: new ids, the same tree and head; nothing on a 400."""
        return await transfer.import_document(await _read_body(request, transfer.max_bytes))


async def _read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The body, read no further than one byte past ``limit``."""
    too_big = bad_document("$", f"the document is over {limit} bytes")
    if (request.content_length or 0) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


class ExportController(Controller):
    """Every thread the caller can see, streamed one per line."""

    path = "/api/export"
    tags = ["export and import"]
    dependencies = {"transfer": Provide(provide_transfer_service, sync_to_thread=False)}

    @get(
        "/",
        operation_id="exportThreads",
        responses=errors(400),
        operation_class=_documented({MEDIA_TYPES["jsonl"]: _TEXT}),
    )
    async def export_threads(
        self, transfer: NamedDependency[TransferService], format: FromQuery[LinesFormat] = "jsonl"
    ) -> Stream:
        """Every thread in the caller's scope (an admin's: all), one line each, streamed
        in constant memory."""
        return Stream(
            transfer.export_lines(format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="threads.{format}"'},
        )
