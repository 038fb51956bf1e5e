"""The one door to the LLM: render a prompt file with the system framing, ask for a schema, validate
(leniently parsed JSON, then pydantic), re-ask once with the error, retry transport failures with a
bounded backoff, turn every other way a call can end (cut, filtered, refused, empty) into a
ModelError, and count the cost. Errors in our own code are not model errors and pass through."""

from __future__ import annotations

import json
import math
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import openai
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from ..errors import ModelError
from . import endings, prompts
from .backend import Backend, Usage

M = TypeVar("M", bound=BaseModel)

# Failures of the model server or the way to it: worth another try after a wait.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.APIResponseValidationError,
    httpx.TransportError,
)
# What the client raises for a reply that ended without an answer: `parse` raises for "length" and
# "content_filter", and LangChain a bare IndexError for an empty `choices` (see endings).
ENDING_ERRORS: tuple[type[BaseException], ...] = (
    openai.LengthFinishReasonError,
    openai.ContentFilterFinishReasonError,
    IndexError,
)
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
# Modules whose ValueError/KeyError/TypeError describe a malformed server reply, not a bug of ours
# (langchain_openai raises them for a 200 reply without `choices`, an `error` field or an HTML page).
CLIENT_MODULES = ("openai", "langchain_openai", "httpx", "httpcore", "httpx2", "httpcore2")
OUR_MODULES = ("service",)
BASE_BACKOFF_S = 0.5
# Shorter "keys" (placeholders such as "local") are not secrets, and scrubbing them would maul text.
MIN_SECRET = 6


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


# --- parsing ------------------------------------------------------------------------------------
def _loads(text: str) -> Any:
    """JSON with raw control characters allowed inside strings (llama.cpp's grammar lets them through)."""
    text = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, flags=re.DOTALL)
    return json.loads(fenced.group(1) if fenced else text, strict=False)


def _candidate(backend: Backend, raw: Any) -> tuple[Any, str]:
    """The JSON value the reply carries (a tool call's arguments, else the content), or an error."""
    calls = getattr(raw, "tool_calls", None) or []
    bad_calls = getattr(raw, "invalid_tool_calls", None) or []
    content = getattr(raw, "content", "")
    content = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    if calls:
        args = calls[0].get("args")
        if not isinstance(args, str):
            return args, ""
        content = args  # arguments that arrived as a JSON string
    elif bad_calls:
        content = str(bad_calls[0].get("args") or "")
    if not content.strip():
        return None, "the reply was empty"
    if not (calls or bad_calls) and backend.method == "function_calling" and content.strip()[:1] not in "{`":
        return None, "no structured output in the reply (expected a call of the requested tool)"
    try:
        return _loads(content), ""
    except json.JSONDecodeError as exc:
        return None, f"Invalid JSON: {exc.msg} at character {exc.pos}"


def _parse(backend: Backend, schema: type[M], result: Any) -> tuple[M | None, Any, str]:
    """(parsed, raw message, error text) from one invocation."""
    if backend.method == "json_object_schema":
        raw = result
    else:
        raw = result["raw"]
        parsed = result.get("parsed")
        if isinstance(parsed, schema):
            return parsed, raw, ""
    value, error = _candidate(backend, raw)
    if error:
        return None, raw, error
    try:
        return schema.model_validate(value), raw, ""
    except ValidationError as exc:
        return None, raw, _brief(exc)


def _brief(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'output'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


def _raw_text(raw: Any) -> str:
    calls = getattr(raw, "tool_calls", None) or []
    if calls:
        args = calls[0].get("args", {})
        return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    bad_calls = getattr(raw, "invalid_tool_calls", None) or []
    if bad_calls:
        return str(bad_calls[0].get("args") or "")
    content = getattr(raw, "content", "")
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


# --- secrets ------------------------------------------------------------------------------------
def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret replaced by `***`."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            text = text.replace(secret, "***")
    return text


def _scrub_model(parsed: M, secrets: tuple[str, ...]) -> M:
    """The parsed answer without secrets a server echoed into it (claims, names: any string)."""
    body = parsed.model_dump_json()
    # A secret as it appears inside a JSON string (keys rarely need escaping; this stays exact if they do).
    encoded = tuple(json.dumps(s)[1:-1] for s in secrets)
    cleaned = scrub(body, encoded)
    return parsed if cleaned == body else type(parsed).model_validate_json(cleaned)


# --- failures -----------------------------------------------------------------------------------
def _model_failure(exc: BaseException) -> bool:
    """The server, the network or the server's reply failed (as opposed to our own code)."""
    if isinstance(exc, openai.APIError | httpx.HTTPError):
        return True
    return _raised_in(exc, CLIENT_MODULES)


def _retryable(exc: BaseException) -> bool:
    """A model failure worth another try: transport, 408/409/425/429, 5xx, a malformed reply."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in RETRYABLE_STATUS
    if isinstance(exc, openai.APIError | httpx.HTTPError):
        return isinstance(exc, TRANSPORT_ERRORS)
    return True  # a ValueError/KeyError/TypeError from the client: the reply was malformed


def _raised_in(exc: BaseException, modules: tuple[str, ...]) -> bool:
    """True when, of the frames in our code and in `modules`, the innermost belongs to `modules`:
    the client failed on what the server sent, even if the error came from json or pydantic below it."""
    owner = ""
    tb = exc.__traceback__
    while tb is not None:
        top = str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0]
        if top in modules or top in OUR_MODULES:
            owner = top
        tb = tb.tb_next
    return owner in modules


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if it said."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(float(ms) / 1000, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
            return max(seconds, 0.0) if math.isfinite(seconds) else None
        except ValueError:
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)  # an HTTP date
    except (TypeError, ValueError, OverflowError):
        return None  # a header we cannot read is no instruction


def backoff(exc: BaseException, retry: int, cap: float) -> float:
    """The wait before retry number `retry` (1-based): as the server asked, else doubling; capped."""
    asked = retry_after(exc)
    wait = asked if asked is not None else BASE_BACKOFF_S * 2 ** (retry - 1)
    return min(wait, cap)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _detail(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:500]


def _transport_message(backend: Backend, exc: BaseException, failures: int) -> str:
    who = f"{backend.name}: {backend.model}"
    kind = type(exc).__name__
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return f"the model ({who}) timed out {_times(failures)}; raise COUNTERPOINT_LLM_TIMEOUT_S?"
    if isinstance(exc, openai.APIConnectionError | httpx.ConnectError):
        return f"cannot reach the model server ({who}): {_detail(exc)}"
    if isinstance(exc, openai.RateLimitError):
        asked = retry_after(exc)
        wait = f" (it asked to wait {asked:g} s)" if asked is not None else ""
        return f"the model server ({who}) is rate limiting{wait}; failed {_times(failures)}: {_detail(exc)}"
    if not isinstance(exc, openai.APIError | httpx.HTTPError):
        return f"the model server ({who}) sent a malformed reply {_times(failures)}: {_detail(exc)}"
    return f"the model ({who}) failed {_times(failures)}: {kind}: {' '.join(str(exc).split())[:500]}"


def structured(
    backend: Backend, schema: type[M], prompt: str, usage: Usage, *, max_tokens: int = 512, **values: Any
) -> M:
    """Ask for `schema` with the prompt file `prompt` rendered with `values` (after the shared system
    framing). Invalid output gets one re-ask showing the error; a transport failure gets up to
    `backend.retries` more tries after a capped wait; output cut at the token limit one more try with
    twice the budget where the budget is ours; a refusal, a content filter or a reply with no choices
    ends at once; each failure is a ModelError carrying every attempt."""
    messages: list[Any] = [
        SystemMessage(content=prompts.system()),
        HumanMessage(content=prompts.load(prompt).render(**values)),
    ]
    budget = max_tokens
    runnable = _runnable(backend, schema, budget)
    secrets = backend.secrets
    who = f"{backend.name}: {backend.model}"
    attempts: list[str] = []
    current = list(messages)
    reasks_left, failures, cuts = 1, 0, 0
    while True:
        replies = endings.Replies()
        ending: endings.Ending | None = None
        try:
            result = runnable.invoke(current, config={"callbacks": [replies]})
        except ENDING_ERRORS as exc:
            ending = endings.from_error(exc, replies)
            if ending is None:
                raise  # an IndexError of our own: a bug, not a reply without choices
            usage.count(ending.prompt_tokens, ending.completion_tokens)
        except (openai.APIError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if not _model_failure(exc):
                raise  # a bug in our own code: it surfaces as itself, neither retried nor renamed
            failures += 1
            attempts.append(scrub(_detail(exc), secrets))
            if not _retryable(exc):
                # 400, 401, 403, 404...: asking again cannot help; say what the server said.
                message = f"the model server ({who}) refused the request: "
                raise ModelError(scrub(message + _detail(exc), secrets), attempts) from None
            if failures <= backend.retries:
                usage.retries += 1
                backend.sleep(backoff(exc, failures, backend.max_wait_s))
                continue
            # `from None`: the cause's own message may carry what the server echoed (the key included).
            raise ModelError(scrub(_transport_message(backend, exc, failures), secrets), attempts) from None
        if ending is None:
            parsed, raw, error = _parse(backend, schema, result)
            usage.add(raw)
            if parsed is not None:
                return _scrub_model(parsed, secrets) if secrets else parsed
            ending = endings.from_reply(raw)
        if ending is not None:
            attempts.append(scrub(ending.text, secrets)[:2000])
            usage.log.append(f"{schema.__name__} ended: {ending.kind}")
            # Only the local method sends a budget of ours; a remote server's own limit cannot be raised.
            ours = backend.method == "json_object_schema"
            cuts += ending.kind == "length"
            if ending.kind == "length" and ours and cuts == 1 and budget < endings.MAX_BUDGET:
                budget = min(budget * 2, endings.MAX_BUDGET)
                runnable = _runnable(backend, schema, budget)
                usage.retries += 1
                continue  # the same messages: the output was not wrong, only too long for its budget
            text = endings.message(who, ending, budget if ours else None, cuts)
            raise ModelError(scrub(text, secrets), attempts)
        error = scrub(error, secrets)
        attempts.append(scrub(_raw_text(raw), secrets)[:2000])
        usage.log.append(f"invalid {schema.__name__}: {error}")
        if reasks_left == 0:
            raise ModelError(
                f"the model ({backend.model}) gave invalid {schema.__name__} output twice: {error}", attempts
            )
        reasks_left -= 1
        usage.retries += 1
        current = [
            *messages,
            AIMessage(content=_raw_text(raw)),
            HumanMessage(content=prompts.load("reask").render(error=error)),
        ]
