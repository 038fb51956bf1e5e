"""Which chat model answers: backend selection, its description, and the cost counters of one answer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..errors import SetupError
from ..settings import EDIT_KINDS, Settings, Strategy

Method = Literal["json_object_schema", "function_calling", "json_schema"]
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


@dataclass
class Backend:
    """A chat model plus how to ask it for structured output, and how to retry a failed call."""

    name: str
    model: str
    chat: Any
    method: Method
    strategy: str
    retries: int = 1
    max_wait_s: float = 10.0
    # The edit kinds the `refine` strategy applies for this model (Settings.edits_for).
    edits: frozenset[str] = frozenset(EDIT_KINDS)
    # Strings scrubbed from every error, log line and answer: a server may echo the request back.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


@dataclass
class Usage:
    """Cost counters for one answer."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    log: list[str] = field(default_factory=list)

    def add(self, message: Any) -> None:
        """Count one call from the usage a LangChain message carries."""
        usage = getattr(message, "usage_metadata", None) or {}
        self.count(int(usage.get("input_tokens", 0) or 0), int(usage.get("output_tokens", 0) or 0))

    def count(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Count one call, also one that returned no message (its output cut or filtered)."""
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens


class BackendInfo(BaseModel):
    """Which backend, model and strategy answer; known without connecting to anything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str
    model: str
    strategy: Strategy


def describe_backend(settings: Settings, chat_model: Any | None = None) -> BackendInfo:
    """Backend, model and strategy names, without connecting to anything."""
    if chat_model is not None:
        name = "custom" if settings.backend is None else settings.backend
        model = getattr(chat_model, "model_name", None) or type(chat_model).__name__
    else:
        name = settings.resolved_backend
        model = {
            "local": settings.local_model,
            "openai": settings.model or DEFAULT_OPENAI_MODEL,
            "compatible": settings.model or "",
            "fake": "heuristic-fake",
        }[name]
    return BackendInfo(backend=name, model=model, strategy=settings.resolved_strategy)


def _chat_openai(settings: Settings, model: str, base_url: str | None, api_key: str) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=api_key,
        temperature=0,
        seed=0,
        timeout=settings.llm_timeout_s,
        max_retries=0,  # retries are ours: one, with the error shown (see structured()).
    )


def make_backend(settings: Settings, chat_model: Any | None = None) -> Backend:
    """The configured backend; the embedded default starts (or reuses) the local llama.cpp server."""
    backend = _make_backend(settings, chat_model)
    if settings.structured != "auto":
        backend.method = settings.structured
    backend.retries, backend.max_wait_s = settings.llm_retries, settings.llm_max_wait_s
    backend.edits = settings.edits_for(backend.name)
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    backend.secrets = (key,) if key.strip() else ()
    return backend


def _make_backend(settings: Settings, chat_model: Any | None) -> Backend:
    info = describe_backend(settings, chat_model)
    strategy = info.strategy
    if chat_model is not None:
        return Backend(info.backend, info.model, chat_model, "function_calling", strategy)
    name = settings.resolved_backend
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if name == "fake":
        from .fake import HeuristicChatModel

        return Backend(name, info.model, HeuristicChatModel(), "function_calling", strategy)
    if name == "openai":
        if not key:
            raise SetupError("COUNTERPOINT_BACKEND=openai needs OPENAI_API_KEY")
        chat = _chat_openai(settings, info.model, settings.openai_base_url, key)
        return Backend(name, info.model, chat, "json_schema", strategy)
    if name == "compatible":
        if not settings.openai_base_url or not settings.model:
            raise SetupError("an OpenAI-compatible server needs OPENAI_BASE_URL and COUNTERPOINT_MODEL")
        chat = _chat_openai(settings, settings.model, settings.openai_base_url, key or "not-needed")
        return Backend(name, settings.model, chat, "function_calling", strategy)
    from .local import shared_server

    server = shared_server(settings)
    chat = _chat_openai(settings, server.alias, server.base_url, "local")
    return Backend(name, server.alias, chat, "json_object_schema", strategy)
