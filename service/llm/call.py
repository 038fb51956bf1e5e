"""The one door to the LLM: render a prompt file with the system framing, ask for a schema, validate,
re-ask once with the error, and count the cost."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from ..errors import ModelError
from . import prompts
from .backend import Backend, Usage

M = TypeVar("M", bound=BaseModel)


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
    backend: Backend, schema: type[M], prompt: str, usage: Usage, *, max_tokens: int = 512, **values: Any
) -> M:
    """Ask for `schema` with the prompt file `prompt` rendered with `values` (after the shared system
    framing); on invalid output or a transport failure, ask once more (showing the error), then
    raise ModelError carrying both attempts."""
    messages: list[Any] = [
        SystemMessage(content=prompts.system()),
        HumanMessage(content=prompts.load(prompt).render(**values)),
    ]
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
