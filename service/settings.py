"""One settings class, read from the environment once and passed in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BackendName = Literal["local", "openai", "compatible", "fake"]
Strategy = Literal["rules", "refine", "per_statement", "batch"]
Structured = Literal["auto", "json_schema", "function_calling", "json_object_schema"]

# The edits the `refine` strategy may make to the rules' draft (see chain/strategies/refine.py).
EDIT_KINDS = (
    "rename_side", "merge_sides", "split_side", "move", "drop", "merge_points", "split_point",
    "topic", "claim", "kind",
)  # fmt: skip
# Edit kinds a backend's model may not make, because they lost to the rules on the check set with
# that model (docs/REFINE.md); remote models make every kind.
EDITS_OFF: dict[str, frozenset[str]] = {"local": frozenset()}

LOCAL_MODEL_ALIASES = {
    "1.5b": "qwen2.5-coder-1.5b",
    "qwen2.5-coder-1.5b": "qwen2.5-coder-1.5b",
    "0.5b": "qwen2.5-coder-0.5b",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b",
}


def _default_model_dir() -> Path:
    # Apart from Settings fields, only default factories look at the environment, and only for other
    # tools' conventions: the XDG cache root here, Gradio's upload folder below.
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "counterpoint" / "models"


def _default_upload_dir() -> Path:
    # Where Gradio puts uploads (gradio.utils.get_upload_folder): its own variable, else the temp dir.
    root = os.environ.get("GRADIO_TEMP_DIR")
    return Path(root) if root else Path(tempfile.gettempdir()) / "gradio"


class Settings(BaseSettings):
    """Counterpoint settings: `COUNTERPOINT_*`, plus `OPENAI_API_KEY` and `OPENAI_BASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="COUNTERPOINT_", extra="ignore", frozen=True)

    backend: BackendName | None = None
    model: str | None = None
    local_model: str = "qwen2.5-coder-1.5b"
    strategy: Strategy | Literal["auto"] = "auto"
    structured: Structured = "auto"
    # The edit kinds `refine` applies: "auto" (the backend's, see EDITS_OFF), "all", "none", or a
    # comma-separated list of EDIT_KINDS (to measure one kind at a time).
    refine_edits: str = "auto"
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "COUNTERPOINT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "COUNTERPOINT_OPENAI_BASE_URL")
    )
    llm_timeout_s: float = Field(180.0, gt=0)
    # Transport failures (server down, timeout, 429, 5xx) are retried this many times, waiting as the
    # server asks (Retry-After) or backing off, but never longer than llm_max_wait_s per wait.
    llm_retries: int = Field(1, ge=0, le=5)
    llm_max_wait_s: float = Field(10.0, ge=0, le=120)
    local_ctx: int = Field(4096, ge=1024)

    data_dir: Path = Path("data")
    model_dir: Path = Field(default_factory=_default_model_dir)
    chroma_host: str | None = None
    chroma_port: int = Field(8000, ge=1, le=65535)
    lock_timeout_s: float = Field(10.0, ge=0)

    chunk_size: int = Field(800, ge=100, le=20_000)
    chunk_overlap: int = Field(120, ge=0)
    max_file_mb: float = Field(5.0, gt=0)
    url_timeout_s: float = Field(20.0, gt=0)
    # Fetching a URL that resolves to loopback, private, link-local or metadata addresses is refused
    # unless this is set (a page on the same machine or network, on purpose).
    allow_private_urls: bool = False
    upload_dir: Path = Field(default_factory=_default_upload_dir)

    top_k: int = Field(12, ge=1, le=100)
    max_statements: int = Field(48, ge=4, le=200)
    min_relevance: float = Field(0.15, ge=-1, le=1)

    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth: SecretStr | None = None

    @field_validator("local_model")
    @classmethod
    def _known_local_model(cls, value: str) -> str:
        key = value.strip().lower()
        if key not in LOCAL_MODEL_ALIASES:
            raise ValueError(f"unknown local model {value!r}; use one of {sorted(set(LOCAL_MODEL_ALIASES))}")
        return LOCAL_MODEL_ALIASES[key]

    @field_validator("refine_edits")
    @classmethod
    def _known_edits(cls, value: str) -> str:
        named = {w.strip() for w in value.split(",") if w.strip()} - {"auto", "all", "none"}
        if unknown := named - set(EDIT_KINDS):
            raise ValueError(f"unknown edit kinds {sorted(unknown)}; use {', '.join(EDIT_KINDS)}")
        return value

    @field_validator("auth")
    @classmethod
    def _auth_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("COUNTERPOINT_AUTH must look like user:password")
        return value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("COUNTERPOINT_CHUNK_OVERLAP must be smaller than COUNTERPOINT_CHUNK_SIZE")
        return self

    @property
    def resolved_backend(self) -> BackendName:
        """The backend in use: explicit, else base URL, else API key, else the embedded model."""
        if self.backend:
            return self.backend
        if self.openai_base_url:
            return "compatible"
        if self.openai_api_key:
            return "openai"
        return "local"

    @property
    def resolved_strategy(self) -> Strategy:
        """Remote models refine the rules' answer by edits, so a model never does worse than no
        model (docs/REFINE.md). The embedded default answers with the rules: nothing the 1.5B model
        decided where the rules decide beat them (see per_statement.py and docs/REFINE.md); it is
        asked only where they cannot, about arguments no one is named as making (see stance.py).
        The fake backend keeps the per-statement path, which it exists to test."""
        if self.strategy != "auto":
            return self.strategy
        return {"local": "rules", "fake": "per_statement"}.get(self.resolved_backend, "refine")

    def edits_for(self, backend: str) -> frozenset[str]:
        """The edit kinds `refine` applies for `backend`: the setting, else all but EDITS_OFF's."""
        value = self.refine_edits.strip()
        if value == "auto":
            return frozenset(EDIT_KINDS) - EDITS_OFF.get(backend, frozenset())
        if value in ("all", "none"):
            return frozenset(EDIT_KINDS) if value == "all" else frozenset()
        return frozenset(w.strip() for w in value.split(",") if w.strip())

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def auth_pair(self) -> tuple[str, str] | None:
        if self.auth is None:
            return None
        user, _, password = self.auth.get_secret_value().partition(":")
        return user, password
