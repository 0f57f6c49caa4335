"""Settings read from the environment, as small typed groups.

Each group is a msgspec Struct whose field names are the lower-cased environment
variable names, so ``msgspec.convert`` does the parsing (strings to ints, floats,
booleans) and reports a bad value with the variable named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import msgspec
import platformdirs

S = TypeVar("S", bound=msgspec.Struct)

OFFLINE_MODEL = "offline"


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the data lives: an external server, or an embedded one under the data dir."""

    database_url: str | None = None
    playground_data_dir: str = str(platformdirs.user_data_path("playground"))
    playground_db_pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 40
    playground_db_echo: bool = False

    @property
    def data_dir(self) -> Path:
        """The folder holding the embedded Postgres cluster (and nothing else)."""
        return Path(self.playground_data_dir).expanduser()


class ModelSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Which model server to call; the offline model is used when no key is set."""

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    # Comma-separated model ids offered for the upstream server; empty asks it (GET /models).
    playground_models: str = ""
    playground_default_model: str | None = None
    playground_upstream_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    playground_upstream_max_retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    # The longest the model server may stay silent, before its first byte or mid-reply.
    playground_upstream_idle_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    # Delay between the offline model's chunks; it really streams, over time.
    playground_offline_chunk_delay_ms: Annotated[float, msgspec.Meta(ge=0)] = 30.0

    def __repr__(self) -> str:
        # Settings get printed while debugging; the key must never be among them.
        shown = {
            name: ("***" if name == "openai_api_key" and value else value)
            for name in self.__struct_fields__
            for value in [getattr(self, name)]
        }
        return f"ModelSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def upstream_enabled(self) -> bool:
        """True when an OpenAI-compatible server (not only the offline model) is configured."""
        return bool(self.openai_api_key or self.openai_base_url)


class GenerationSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits and batching of the generation pipeline."""

    playground_max_content_chars: Annotated[int, msgspec.Meta(ge=1)] = 100_000
    playground_max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1_048_576
    # Streamed text is written to its row at most this often, or when this much piled up.
    playground_flush_interval_ms: Annotated[float, msgspec.Meta(ge=10)] = 1000.0
    playground_flush_chars: Annotated[int, msgspec.Meta(ge=1)] = 4000
    # While another process follows a generation, its events are appended this often.
    playground_event_flush_ms: Annotated[float, msgspec.Meta(ge=1)] = 25.0
    playground_event_retention_s: Annotated[float, msgspec.Meta(ge=1)] = 3600.0
    # Each process renews the lease of its running generations this often; a lease
    # older than playground_lease_s (or a process whose connection is gone) is reaped.
    playground_heartbeat_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    playground_lease_s: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    playground_shutdown_grace_s: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    # Model turns that call tools, per generation; one more ends the reply.
    playground_max_tool_rounds: Annotated[int, msgspec.Meta(ge=0, le=50)] = 5
    # How long the request behind each model call is kept, in days; unset: forever.
    playground_request_log_retention_days: Annotated[float, msgspec.Meta(gt=0)] | None = None


class TransferSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How big a document ``POST /api/threads/import`` (and ``playground import``) takes."""

    playground_import_max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 10_485_760
    playground_import_max_messages: Annotated[int, msgspec.Meta(ge=1)] = 10_000


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class AccessSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Who may call the API, from which browser origins, and how much each may spend.

    See the README section "Running it for a team".
    """

    # off | required | auto (off when serving on a loopback address, required otherwise).
    playground_auth: Literal["off", "required", "auto"] = "auto"
    # Comma-separated origins whose pages may call the API from a browser.
    playground_cors_origins: str = ""
    # Defaults of each principal's quotas; a key's own limits override them. Unset:
    # unlimited.
    playground_tokens_per_day: Annotated[int, msgspec.Meta(ge=1)] | None = None
    playground_requests_per_minute: Annotated[int, msgspec.Meta(ge=1)] | None = None
    playground_max_concurrent_replies: Annotated[int, msgspec.Meta(ge=1)] | None = None
    # How long a stream token (for EventSource, which cannot send headers) may be used.
    playground_stream_token_ttl_s: Annotated[int, msgspec.Meta(ge=10, le=86_400)] = 300

    @property
    def cors_origins(self) -> list[str]:
        """The allowed origins, without blanks or trailing slashes, in lower case (as
        browsers send them)."""
        return [
            origin.strip().rstrip("/").lower()
            for origin in self.playground_cors_origins.split(",")
            if origin.strip()
        ]

    def auth_required(self, host: str) -> bool:
        """Whether requests need a key when the service listens on ``host``."""
        if self.playground_auth == "auto":
            return host not in LOOPBACK_HOSTS
        return self.playground_auth == "required"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """All settings of one process."""

    db: DatabaseSettings
    models: ModelSettings
    generation: GenerationSettings
    access: AccessSettings = msgspec.field(default_factory=AccessSettings)
    transfer: TransferSettings = msgspec.field(default_factory=TransferSettings)


def _group(cls: type[S], env: Mapping[str, str]) -> S:
    fields = set(cls.__struct_fields__)
    values = {key.lower(): value for key, value in env.items() if key.lower() in fields and value}
    try:
        return msgspec.convert(values, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"invalid setting: {exc} (environment variables are upper case)") from exc


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every group from ``env`` (default: the process environment)."""
    source = os.environ if env is None else env
    return Settings(
        db=_group(DatabaseSettings, source),
        models=_group(ModelSettings, source),
        generation=_group(GenerationSettings, source),
        access=_group(AccessSettings, source),
        transfer=_group(TransferSettings, source),
    )
