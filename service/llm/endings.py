"""The ways a model call ends without an answer to parse: its output cut at the token limit, stopped by
a content filter, refused, or a reply with no choices at all. Each is read from what the OpenAI client
raises (its `parse` path raises for "length" and "content_filter") or from the message LangChain
returns (the `create` path, used for tool calls, returns the cut or filtered message as it is)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import openai
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

Kind = Literal["length", "content_filter", "refusal", "no_choices"]
# A cut output gets one more try with twice the budget, up to this many tokens (llama-cpp-python
# trims a budget that would overrun its context by itself, so the cap only bounds the wait).
MAX_BUDGET = 8192


@dataclass(frozen=True)
class Ending:
    """How one call ended: its kind, the text it carried (cut output or refusal), and its token counts."""

    kind: Kind
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Replies(BaseCallbackHandler):
    """Records how many choices each reply held: LangChain indexes the first without looking, so an
    empty `choices` surfaces as a bare IndexError that says nothing of where it came from."""

    def __init__(self) -> None:
        self.choices: list[int] = []
        self.token_usage: dict[str, Any] = {}

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> Any:
        """Note the reply's number of choices and its token usage."""
        self.choices.append(sum(len(g) for g in response.generations))
        self.token_usage = dict((response.llm_output or {}).get("token_usage") or {})


def _tokens(usage: Any) -> tuple[int, int]:
    """(prompt, completion) tokens from an OpenAI usage object or dict."""
    if usage is None:
        return 0, 0
    get = usage.get if isinstance(usage, dict) else lambda name: getattr(usage, name, None)
    return int(get("prompt_tokens") or 0), int(get("completion_tokens") or 0)


def _completion_text(completion: Any) -> str:
    """What a cut or filtered completion said: its content, else its first tool call's arguments."""
    choices = getattr(completion, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    if message is None:
        return ""
    if message.content:
        return str(message.content)
    calls = getattr(message, "tool_calls", None) or []
    function = getattr(calls[0], "function", None) if calls else None
    return str(getattr(function, "arguments", "") or "")


def from_error(exc: BaseException, replies: Replies) -> Ending | None:
    """The ending an exception raised by the client stands for, or None (not an ending: a bug)."""
    completion = getattr(exc, "completion", None)
    if isinstance(exc, openai.LengthFinishReasonError | openai.ContentFilterFinishReasonError):
        kind: Kind = "length" if isinstance(exc, openai.LengthFinishReasonError) else "content_filter"
        prompt, done = _tokens(getattr(completion, "usage", None))
        return Ending(kind, _completion_text(completion), prompt, done)
    if isinstance(exc, IndexError) and replies.choices and replies.choices[-1] == 0:
        return Ending("no_choices", "", *_tokens(replies.token_usage))
    return None


def from_reply(raw: Any) -> Ending | None:
    """The ending a returned message records: a refusal, a content filter or a cut; None if it stopped."""
    refusal = (getattr(raw, "additional_kwargs", None) or {}).get("refusal")
    content = getattr(raw, "content", "")
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    refused = [str(b.get("refusal") or "") for b in blocks if b.get("type") == "refusal"]
    if refusal or refused:
        return Ending("refusal", str(refusal or refused[0]))
    finish = (getattr(raw, "response_metadata", None) or {}).get("finish_reason")
    if finish not in ("length", "content_filter"):
        return None
    text = content if isinstance(content, str) else ""
    calls = getattr(raw, "tool_calls", None) or getattr(raw, "invalid_tool_calls", None) or []
    if not text.strip() and calls:
        args = calls[0].get("args")
        text = args if isinstance(args, str) else json.dumps(args or "", ensure_ascii=False)
    tokens = getattr(raw, "usage_metadata", None) or {}
    return Ending(finish, text, int(tokens.get("input_tokens") or 0), int(tokens.get("output_tokens") or 0))


def message(who: str, ending: Ending, budget: int | None, tries: int) -> str:
    """The one-line reason for the ModelError this ending becomes."""
    if ending.kind == "length":
        done = f" after {ending.completion_tokens} tokens" if ending.completion_tokens else ""
        if budget is None:  # a remote server's own limit
            return f"the model's output ({who}) hit the token limit: the server cut it off{done}"
        again = ", even with the budget doubled" if tries > 1 else ""
        return (
            f"the model's output ({who}) hit the token limit: cut off at its budget of {budget} tokens{again}"
        )
    if ending.kind == "content_filter":
        return f"the model server ({who}) stopped the output with its content filter"
    if ending.kind == "refusal":
        said = " ".join(ending.text.split())[:300]
        return f"the model ({who}) refused to answer" + (f": {said}" if said else "")
    return f"the model server ({who}) sent a reply with no choices (a filter on the prompt can do this)"
