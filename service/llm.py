"""The one place the LLM enters: backend selection and validated structured calls with one re-ask."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from . import prompts
from .errors import ModelError, SetupError
from .settings import Settings

Method = Literal["json_object_schema", "function_calling", "json_schema"]
M = TypeVar("M", bound=BaseModel)
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


@dataclass
class Backend:
    """A chat model plus how to ask it for structured output."""

    name: str
    model: str
    chat: Any
    method: Method
    strategy: str


@dataclass
class Usage:
    """Cost counters for one answer."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    log: list[str] = field(default_factory=list)

    def add(self, message: Any) -> None:
        self.calls += 1
        usage = getattr(message, "usage_metadata", None) or {}
        self.prompt_tokens += int(usage.get("input_tokens", 0) or 0)
        self.completion_tokens += int(usage.get("output_tokens", 0) or 0)


def describe_backend(settings: Settings, chat_model: Any | None = None) -> dict[str, str]:
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
    return {"backend": name, "model": model, "strategy": settings.resolved_strategy}


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
    return backend


def _make_backend(settings: Settings, chat_model: Any | None) -> Backend:
    info = describe_backend(settings, chat_model)
    strategy = info["strategy"]
    if chat_model is not None:
        return Backend(info["backend"], info["model"], chat_model, "function_calling", strategy)
    name = settings.resolved_backend
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if name == "fake":
        from .fake import HeuristicChatModel

        return Backend(name, info["model"], HeuristicChatModel(), "function_calling", strategy)
    if name == "openai":
        if not key:
            raise SetupError("COUNTERPOINT_BACKEND=openai needs OPENAI_API_KEY")
        chat = _chat_openai(settings, info["model"], settings.openai_base_url, key)
        return Backend(name, info["model"], chat, "json_schema", strategy)
    if name == "compatible":
        if not settings.openai_base_url or not settings.model:
            raise SetupError("an OpenAI-compatible server needs OPENAI_BASE_URL and COUNTERPOINT_MODEL")
        chat = _chat_openai(settings, settings.model, settings.openai_base_url, key or "not-needed")
        return Backend(name, settings.model, chat, "function_calling", strategy)
    from .local_model import shared_server

    server = shared_server(settings)
    chat = _chat_openai(settings, server.alias, server.base_url, "local")
    return Backend(name, server.alias, chat, "json_object_schema", strategy)


def _runnable(backend: Backend, schema: type[BaseModel], max_tokens: int) -> Any:
    chat = backend.chat
    if backend.method == "json_object_schema":
        # llama.cpp's server turns this schema into a grammar, so output is valid by construction.
        # The bound goes in extra_body: ChatOpenAI renames max_tokens to max_completion_tokens,
        # which llama-cpp-python's server ignores (it would then generate up to the context size).
        return chat.bind(
            response_format={"type": "json_object", "schema": schema.model_json_schema()},
            extra_body={"max_tokens": max_tokens},
        )
    # Remote models: LangChain's structured output; their own limits bound the length.
    return chat.with_structured_output(schema, method=backend.method, include_raw=True)


def _parse(backend: Backend, schema: type[M], result: Any) -> tuple[M | None, Any, str]:
    """(parsed, raw message, error text) from one invocation."""
    if backend.method == "json_object_schema":
        raw = result
        try:
            return schema.model_validate_json(raw.content or ""), raw, ""
        except ValidationError as exc:
            return None, raw, _brief(exc)
    raw = result["raw"]
    parsed = result.get("parsed")
    if isinstance(parsed, schema):
        return parsed, raw, ""
    if isinstance(parsed, dict):
        try:
            return schema.model_validate(parsed), raw, ""
        except ValidationError as exc:
            return None, raw, _brief(exc)
    error = result.get("parsing_error")
    if isinstance(error, ValidationError):
        return None, raw, _brief(error)
    return None, raw, str(error or "no structured output in the reply")


def _brief(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'output'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


def _raw_text(raw: Any) -> str:
    calls = getattr(raw, "tool_calls", None) or []
    if calls:
        return json.dumps(calls[0].get("args", {}), ensure_ascii=False)
    content = getattr(raw, "content", "")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def structured(
    backend: Backend, schema: type[M], messages: list[Any], usage: Usage, max_tokens: int = 512
) -> M:
    """Ask for `schema`; on invalid output or a transport failure, ask once more (showing the
    error), then raise ModelError carrying both attempts."""
    from langchain_core.messages import AIMessage, HumanMessage

    runnable = _runnable(backend, schema, max_tokens)
    attempts: list[str] = []
    current = list(messages)
    for attempt in range(2):
        try:
            result = runnable.invoke(current)
        except Exception as exc:  # openai/httpx raise many types; all mean "no usable answer"
            attempts.append(f"{type(exc).__name__}: {exc}")
            if attempt == 0:
                usage.retries += 1
                continue
            raise ModelError(_transport_message(backend, exc), attempts) from exc
        parsed, raw, error = _parse(backend, schema, result)
        usage.add(raw)
        if parsed is not None:
            return parsed
        attempts.append(_raw_text(raw)[:2000])
        usage.log.append(f"invalid {schema.__name__}: {error}")
        if attempt == 0:
            usage.retries += 1
            current = [
                *messages,
                AIMessage(content=_raw_text(raw)),
                HumanMessage(content=prompts.load("reask").render(error=error)),
            ]
    raise ModelError(
        f"the model ({backend.model}) gave invalid {schema.__name__} output twice: {error}", attempts
    )


def _transport_message(backend: Backend, exc: Exception) -> str:
    kind = type(exc).__name__
    if "Timeout" in kind:
        return (
            f"the model ({backend.name}: {backend.model}) timed out twice; raise COUNTERPOINT_LLM_TIMEOUT_S?"
        )
    if "Connection" in kind:
        return f"cannot reach the model server ({backend.name}: {backend.model}): {exc}"
    return f"the model ({backend.name}: {backend.model}) failed twice: {kind}: {exc}"
