"""Stand-in models that need no LLM: a scripted one for tests, a rule-based one (`COUNTERPOINT_BACKEND=fake`)
that gives deterministic, schema-valid answers for demos, page tests and eval plumbing. Neither is
meant to be good at the task; the real backends are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

# Capitalised word runs: the fake's crude stand-in for names (the chain uses a real parser).
_NAME_RUN = re.compile(r"[A-Z][\w'’-]+(?:\s+(?:of\s+|the\s+)?[A-Z][\w'’-]+)*")


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, in order: a dict becomes a tool call (structured output), a string
    becomes plain content, an exception is raised, a callable is called with (messages, tool name).
    Every request is recorded in `history` (messages) and `tools` (requested tool names) unless
    `record` is off."""

    script: list[Any] = Field(default_factory=list)
    history: list[list[BaseMessage]] = Field(default_factory=list)
    tools: list[str | None] = Field(default_factory=list)
    model_name: str = "scripted"
    record: bool = True  # keep every request in `history` and `tools` (tests read them)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def enqueue(self, items: Sequence[Any]) -> ScriptedChatModel:
        """Add replies to the end of the script."""
        self.script.extend(items)
        return self

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        """Bind tools like ChatOpenAI does, so `with_structured_output(method="function_calling")` works."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _next(self, messages: list[BaseMessage], tool: dict[str, Any] | None) -> Any:
        if not self.script:
            raise AssertionError(f"the script is empty; unexpected request for {tool and tool['name']}")
        return self.script.pop(0)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools") or []
        tool = tools[0]["function"] if tools else None
        if self.record:
            self.history.append(list(messages))
            self.tools.append(tool["name"] if tool else None)
        item = self._next(list(messages), tool)
        if callable(item) and not isinstance(item, BaseException):
            item = item(list(messages), tool["name"] if tool else None)
        if isinstance(item, BaseException):
            raise item
        prompt_chars = sum(len(str(m.content)) for m in messages)
        if isinstance(item, dict) and tool:
            message = AIMessage(
                content="",
                tool_calls=[{"name": tool["name"], "args": item, "id": f"call_{len(self.history)}"}],
            )
            out_chars = len(str(item))
        else:
            message = AIMessage(content=str(item))
            out_chars = len(str(item))
        message.usage_metadata = {
            "input_tokens": prompt_chars // 4,
            "output_tokens": max(1, out_chars // 4),
            "total_tokens": prompt_chars // 4 + max(1, out_chars // 4),
        }
        return ChatResult(generations=[ChatGeneration(message=message)])


def _last_user(messages: list[BaseMessage]) -> str:
    return str(messages[-1].content) if messages else ""


def _stem(word: str) -> str:
    return word.casefold()[:5]


def _mentions(name: str, text: str) -> bool:
    stems = {_stem(w) for w in re.findall(r"[A-Za-z]{3,}", name)}
    return bool(stems & {_stem(w) for w in re.findall(r"[A-Za-z]{3,}", text)})


class HeuristicChatModel(ScriptedChatModel):
    """Answers each step by rules over the prompt text: sides are names from the question that the
    statements mention; a statement goes to the side it names; claims are the first words."""

    model_name: str = "heuristic-fake"
    record: bool = False  # a long-running demo page must not keep every request it was sent

    @property
    def _llm_type(self) -> str:
        return "heuristic-fake"

    def _next(self, messages: list[BaseMessage], tool: dict[str, Any] | None) -> Any:
        text = _last_user(messages)
        name = tool["name"] if tool else ""
        params = (tool or {}).get("parameters", {})
        handler = {"PointStep": self._point, "Stances": self._stances, "Voices": self._voices}.get(
            name, self._batch
        )
        return handler(text, params)

    @staticmethod
    def _statements(text: str) -> list[tuple[str, str]]:
        return re.findall(r"^\[(S\d+)\](?: \(speaker: [^)]*\))? (.*)$", text, flags=re.MULTILINE)

    def _sides(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        question = re.search(r"^Question: (.*)$", text, flags=re.MULTILINE)
        body = " ".join(s for _, s in self._statements(text))
        counts: dict[str, int] = {}
        for m in _NAME_RUN.finditer(question.group(1) if question else ""):
            name = re.sub(r"^(?:The|How|What|Why|Who|Which|Do|Does|Did|Is|Are|In|On)\s+", "", m.group(0))
            name = re.sub(r"[’']s$", "", name)
            for part in re.split(r"\s+and\s+|[–—/]", name):
                if len(part) >= 3 and _mentions(part, body):
                    counts[part] = sum(_mentions(part, s) for _, s in self._statements(text))
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        # Parties are the names the statements keep coming back to; a place named in passing is not.
        sides = [n for n, c in ranked if c * 2 >= ranked[0][1]][:4] if ranked else []
        if len(sides) < 2:
            return {
                "answerable": False,
                "reason": "fewer than two named parties in the statements",
                "sides": [],
            }
        return {"answerable": True, "reason": "", "sides": sides}

    def _point(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        blocks = re.findall(r"^Side (\d+): .*\n((?:\[S\d+\] .*\n?)+)", text, flags=re.MULTILINE)
        reply: dict[str, Any] = {"kind": "contradiction"}
        for number, body in blocks:
            first = re.sub(r"^\[S\d+\] ", "", body.strip().splitlines()[0])
            reply[f"claim_{number}"] = " ".join(first.split()[:20])[:160]
        reply["topic"] = " ".join(reply.get("claim_1", "Point").split()[:6])[:60]
        return reply

    def _stances(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        """A statement argues for the one side it names, else for none."""
        sides = re.findall(r"^- (.*)$", text, flags=re.MULTILINE)
        reply = {}
        for sid, body in self._statements(text):
            named = [side for side in sides if _mentions(side, body)]
            reply[sid] = named[0] if len(named) == 1 else "none"
        return reply

    def _voices(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        """It knows no one: every speaker speaks for none (so a rules-only run stays the rules')."""
        return dict.fromkeys(params.get("properties", {}), "none")

    def _batch(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        sides = self._sides(text, params)
        if not sides["answerable"]:
            return {"answerable": False, "reason": sides["reason"], "sides": [], "points": []}
        accounts = []
        for side in sides["sides"]:
            cited = [sid for sid, s in self._statements(text) if _mentions(side, s)][:3]
            if cited:
                accounts.append(
                    {"side": side, "claim": f"{side}'s account", "citations": [{"id": c} for c in cited]}
                )
        return {
            "answerable": True,
            "reason": "",
            "sides": [{"name": s, "speakers": []} for s in sides["sides"]],
            "points": [{"topic": "Main point", "kind": "contradiction", "accounts": accounts}],
        }
