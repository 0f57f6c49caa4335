"""Which client serves which model: the upstream server's models, and the offline one.

One ``ModelRouter`` per process owns the ``AsyncOpenAI`` clients (and so their
connection pools). Both the offline model and an upstream server are called through
the same SDK code path; only the client differs.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx2
import msgspec
from openai import AsyncOpenAI, AsyncStream

from api.llm.chunks import ChunkStream
from api.llm.errors import describe_upstream_error
from api.llm.offline_server import OFFLINE_API_KEY, OFFLINE_BASE_URL, OfflineTransport
from api.llm.request import ChatMessage, ToolSpec
from api.settings import OFFLINE_MODEL, ModelSettings

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
FALLBACK_MODELS = ("gpt-4o-mini", "gpt-4o")
# Listing models happens at start-up: a slow or absent server must not hold it up long.
LIST_MODELS_TIMEOUT_S = 5.0
# api.openai.com lists embeddings, audio and image models too; they cannot chat.
_NOT_CHAT = ("embedding", "tts", "whisper", "dall-e", "moderation", "davinci", "babbage",
             "image", "realtime", "audio", "transcribe", "search")  # fmt: skip

# Set by ``request_body`` itself, or SDK plumbing that a thread's params must not touch;
# every other param goes into the request body as is, so server-specific ones
# (``top_k`` for vLLM, ...) reach the server.
_RESERVED = frozenset(
    {"model", "messages", "tools", "stream", "stream_options", "extra_headers", "extra_query",
     "extra_body", "timeout"}
)  # fmt: skip


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A model the playground offers (``GET /api/models``)."""

    id: str
    owned_by: str
    offline: bool
    description: str


class UnknownModelError(LookupError):
    """A model id that no configured server offers."""

    def __init__(self, model: str) -> None:
        super().__init__(f"unknown model {model!r}")
        self.model = model


class ModelRouter:
    """Holds the model clients and knows which model each one serves.

    The offline model is always there. With ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL``
    set, an upstream client is added; its model list comes from ``PLAYGROUND_MODELS``
    or, in ``start()``, from the server itself.
    """

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self._offline_http = httpx2.AsyncClient(
            transport=OfflineTransport(
                chunk_delay=settings.playground_offline_chunk_delay_ms / 1000
            )
        )
        self._offline = AsyncOpenAI(
            api_key=OFFLINE_API_KEY,
            base_url=OFFLINE_BASE_URL,
            http_client=self._offline_http,
            max_retries=0,
        )
        self._upstream: AsyncOpenAI | None = None
        self._upstream_models: list[ModelInfo] = []
        if settings.upstream_enabled:
            self._upstream = AsyncOpenAI(
                # Local servers (Ollama, vLLM) need no key, but the SDK insists on one.
                api_key=settings.openai_api_key or "none",
                # Explicit, so the SDK does not read OPENAI_BASE_URL behind the settings' back.
                base_url=settings.openai_base_url or OPENAI_BASE_URL,
                # httpx's read timeout is the longest gap between received bytes: a
                # server that stalls mid-reply fails after the idle timeout.
                timeout=httpx2.Timeout(
                    settings.playground_upstream_timeout_s,
                    read=min(
                        settings.playground_upstream_idle_timeout_s,
                        settings.playground_upstream_timeout_s,
                    ),
                ),
                max_retries=settings.playground_upstream_max_retries,
            )
            configured = [m.strip() for m in settings.playground_models.split(",") if m.strip()]
            self._upstream_models = [self._upstream_info(m) for m in dict.fromkeys(configured)]

    @property
    def upstream_url(self) -> str | None:
        """The upstream server's base URL, or None when only the offline model exists."""
        if self._upstream is None:
            return None
        return self.settings.openai_base_url or OPENAI_BASE_URL

    async def start(self) -> None:
        """Resolve the upstream model list when ``PLAYGROUND_MODELS`` did not give it.

        Never fails: a server that cannot list its models gets a small default list and
        a logged warning, so the service still starts.
        """
        if self._upstream is None or self._upstream_models:
            return
        listed = await self._list_upstream_models(self._upstream)
        if not listed:
            listed = [(model_id, "") for model_id in FALLBACK_MODELS]
        # dict(): a server listing an id twice must not offer it twice.
        self._upstream_models = [self._upstream_info(m, o) for m, o in dict(listed).items()]

    async def _list_upstream_models(self, client: AsyncOpenAI) -> list[tuple[str, str]]:
        """``(id, owned_by)`` of the chat models the server lists; empty (logged) on failure."""
        try:
            page = await client.with_options(
                timeout=min(LIST_MODELS_TIMEOUT_S, self.settings.playground_upstream_timeout_s),
                max_retries=0,
            ).models.list()
        except Exception as exc:
            _, detail = describe_upstream_error(exc, secrets=[self.settings.openai_api_key])
            log.warning(
                "could not list the models of %s (%s); offering %s",
                self.upstream_url,
                detail,
                ", ".join(FALLBACK_MODELS),
            )
            return []
        listed = [(model.id, model.owned_by) for model in page.data]
        if self.settings.openai_base_url is None:
            listed = [(mid, owner) for mid, owner in listed if not _is_non_chat(mid)]
        if not listed:
            log.warning(
                "%s lists no chat models; offering %s",
                self.upstream_url,
                ", ".join(FALLBACK_MODELS),
            )
        return listed

    def _upstream_info(self, model_id: str, owned_by: str = "") -> ModelInfo:
        url = self.upstream_url or OPENAI_BASE_URL
        host = urlsplit(url).hostname or url
        return ModelInfo(
            id=model_id,
            owned_by=owned_by or ("openai" if host == "api.openai.com" else host),
            offline=False,
            description=f"served by {url}",
        )

    @property
    def models(self) -> list[ModelInfo]:
        """Every model offered: the upstream ones first, then the offline model."""
        offline = ModelInfo(
            id=OFFLINE_MODEL,
            owned_by="playground",
            offline=True,
            description="Offline demo model: deterministic replies composed locally and "
            "streamed word by word; no API key needed.",
        )
        return [*self._upstream_models, offline]

    @property
    def default_model(self) -> str:
        """``PLAYGROUND_DEFAULT_MODEL`` if offered, else the first upstream model, else offline."""
        wanted = self.settings.playground_default_model
        if wanted and self.is_known(wanted):
            return wanted
        if self._upstream_models:
            return self._upstream_models[0].id
        return OFFLINE_MODEL

    def is_known(self, model: str) -> bool:
        """Whether ``model`` is offered (and so may be stored on a thread or message)."""
        return model == OFFLINE_MODEL or any(m.id == model for m in self._upstream_models)

    def client_for(self, model: str) -> AsyncOpenAI:
        """The client that serves ``model``; raises ``UnknownModelError`` for others."""
        if model == OFFLINE_MODEL:
            return self._offline
        if self._upstream is not None and self.is_known(model):
            return self._upstream
        raise UnknownModelError(model)

    async def open_stream(
        self,
        model: str,
        messages: list[ChatMessage],
        params: dict[str, Any],
        tools: list[ToolSpec] | None = None,
    ) -> ChunkStream:
        """Start a streamed completion of ``request_body(...)``; see ``stream_body``."""
        return await self.stream_body(self.request_body(model, messages, params, tools))

    def request_body(
        self,
        model: str,
        messages: list[ChatMessage],
        params: dict[str, Any],
        tools: list[ToolSpec] | None = None,
    ) -> dict[str, Any]:
        """The JSON body of a streamed chat-completions request, exactly as it is sent.

        ``params`` are the sampling parameters (None values are left out). The typed
        messages and tools are turned into JSON here, once.
        """
        body: dict[str, Any] = {
            key: value
            for key, value in params.items()
            if value is not None and key not in _RESERVED
        }
        if tools:
            body["tools"] = msgspec.to_builtins(tools)
        body.update(
            model=model,
            messages=msgspec.to_builtins(messages),
            stream=True,
            stream_options={"include_usage": True},
        )
        return body

    async def stream_body(self, body: dict[str, Any]) -> ChunkStream:
        """Send a ``request_body`` to the server of its model and return once it answered.

        Errors before the first byte (status, connection, timeout) raise here as
        ``openai`` exceptions, so the caller can still answer a real HTTP error; map
        them with ``describe_error``. The SDK's own ``post`` makes the request, with its
        retries and errors; ``ChunkStream`` reads the body and decodes the chunks into
        msgspec Structs.
        """
        client = self.client_for(str(body["model"]))
        stream = await client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=AsyncStream[object],
        )
        return ChunkStream(stream)

    def describe_error(self, exc: Exception) -> tuple[int, str]:
        """``(http_status, detail)`` for a failed model call, with the API key masked."""
        return describe_upstream_error(exc, secrets=[self.settings.openai_api_key])

    async def aclose(self) -> None:
        """Close every client and its connection pool."""
        if self._upstream is not None:
            await self._upstream.close()
        await self._offline.close()
        await self._offline_http.aclose()


def _is_non_chat(model_id: str) -> bool:
    return any(part in model_id for part in _NOT_CHAT)
