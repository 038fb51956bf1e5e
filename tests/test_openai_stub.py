"""The real request path: ChatOpenAI against a stub OpenAI-compatible server on loopback. What the
request carries (model, temperature, seed, tools or a JSON schema, the key), what the answer quotes,
and how server errors, a closed port and a slow server become one clear ModelError."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from langchain_openai import ChatOpenAI
from pydantic import BaseModel
from typer.testing import CliRunner

from service.cli import app
from service.core import open_service
from service.errors import ModelError
from service.library import load_file
from service.llm import Backend, Usage, make_backend, structured
from service.models import Comparison
from service.settings import Settings

KEY = "sk-test-secret-7f3a9c"
MODEL = "stub-model"
QUESTION = "Why did the Istanbul talks between Afghanistan and Pakistan fail?"
ASIF = "The Afghan delegation wanted verbal guarantees"
NARROW = "verbal guarantees, but that is impossible in international negotiations"
MUJAHID = "the Pakistani side tried to place the entire responsibility"

Body = dict[str, Any]
# (status, JSON body or raw bytes[, extra response headers])
Reply = Callable[[Body], tuple[Any, ...]]
HANG = "hang"


# --- the stub server ----------------------------------------------------------------------------
@dataclass
class Request:
    """One request the stub received."""

    path: str
    headers: dict[str, str]
    body: Body
    raw: bytes = b""


@dataclass
class StubOpenAI:
    """POST /v1/chat/completions answered from `replies` in order; every request is recorded."""

    base_url: str
    replies: list[Reply | str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def completion(body: Body, message: Body, finish: str = "stop") -> Body:
    """An OpenAI chat.completion around `message`, with usage figures."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375},
    }


def tool_call(args: Body | Callable[[Body], Body]) -> Reply:
    """Reply with a call of the requested tool (function_calling)."""

    def reply(body: Body) -> tuple[int, Body]:
        name = body["tools"][0]["function"]["name"]
        arguments = json.dumps(args(body) if callable(args) else args)
        call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        return 200, completion(
            body, {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        )

    return reply


def content(text: str) -> Reply:
    """Reply with plain content (json_object)."""
    return lambda body: (200, completion(body, {"role": "assistant", "content": text}))


def status(code: int, headers: dict[str, str] | None = None) -> Reply:
    """An error reply, with extra headers such as Retry-After."""
    error = {"error": {"message": f"stub says {code}", "type": "server_error"}}
    return lambda body: (code, error, headers or {})


@pytest.fixture
def stub() -> Iterator[StubOpenAI]:
    """A stub OpenAI-compatible server on a free loopback port, for one test."""
    state = StubOpenAI(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append(Request(self.path, headers, body, raw))
            extra: dict[str, str] = {}
            if self.path != "/v1/chat/completions":
                code, payload = 404, {"error": {"message": f"no route {self.path}"}}
            else:
                reply = state.replies.pop(0) if state.replies else status(599)
                if reply == HANG:  # answer only when the test ends; the client must time out first
                    state.release.wait(timeout=30)
                    return
                assert callable(reply)
                code, payload, *more = reply(body)
                extra = more[0] if more else {}
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def compatible(monkeypatch: pytest.MonkeyPatch, base_url: str, **env: str) -> Settings:
    """Settings for an OpenAI-compatible server at `base_url`, with a key."""
    values = {
        "COUNTERPOINT_BACKEND": "compatible",
        "OPENAI_BASE_URL": base_url,
        "COUNTERPOINT_MODEL": MODEL,
        "OPENAI_API_KEY": KEY,
        **env,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings()


def prompt_of(body: Body) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


def sid(prompt: str, fragment: str) -> str:
    """The id of the statement that holds `fragment` (the last id before it in the prompt)."""
    at = prompt.find(fragment)
    assert at >= 0, f"no statement with {fragment!r} was sent"
    return re.findall(r"\b(S\d+)\b", prompt[:at])[-1]


def batch_answer(body: Body) -> Body:
    """A Draft citing the seed's statements by the ids the request carried."""
    prompt = prompt_of(body)
    return {
        "answerable": True,
        "reason": "",
        "sides": [
            {"name": "Pakistan", "speakers": ["Khawaja Asif"]},
            {"name": "Afghanistan", "speakers": []},
        ],
        "points": [
            {
                "topic": "Why the talks failed",
                "kind": "contradiction",
                "accounts": [
                    {
                        "side": "Pakistan",
                        "claim": "No written deal",
                        "citations": [{"id": sid(prompt, ASIF), "span": NARROW}],
                    },
                    {
                        "side": "Afghanistan",
                        "claim": "Blame shifted",
                        "citations": [{"id": sid(prompt, MUJAHID)}],
                    },
                ],
            }
        ],
    }


def ask(settings: Settings, seed_path: Path) -> tuple[Comparison, str]:
    """Ingest the seed and ask; returns the answer and the seed's text."""
    with open_service(settings) as service:
        meta = service.ingest(load_file(seed_path, settings)).meta
        return service.ask(QUESTION), service.document(meta.id).text


# --- the happy path -----------------------------------------------------------------------------
def test_compatible_server_request_and_answer(
    stub: StubOpenAI,
    seed_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.replies.append(tool_call(batch_answer))
    result, text = ask(compatible(monkeypatch, stub.base_url, COUNTERPOINT_STRATEGY="batch"), seed_path)

    [request] = stub.requests
    body = request.body
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"  # the key reaches the server
    assert body["model"] == MODEL and body["temperature"] == 0 and body["seed"] == 0
    assert body.get("stream") in (None, False)
    [tool] = body["tools"]
    assert tool["type"] == "function" and tool["function"]["name"] == "Draft"
    assert {"answerable", "sides", "points"} <= set(tool["function"]["parameters"]["properties"])
    assert body["tool_choice"] == {"type": "function", "function": {"name": "Draft"}}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert QUESTION in body["messages"][1]["content"]

    assert not result.abstained and len(result.quotes()) == 2
    assert result.quotes()[0].text == NARROW
    for q in result.quotes():
        assert text[q.start : q.end] == q.text
    stats = result.stats
    assert (stats.backend, stats.model, stats.strategy) == ("compatible", MODEL, "batch")
    assert (stats.llm_calls, stats.prompt_tokens, stats.completion_tokens) == (1, 321, 54)

    # The key is in no log record, no output and not in the answer.
    out, err = capsys.readouterr()
    assert caplog.records, "expected the HTTP clients' debug logs to be captured"
    for shown in (caplog.text, out, err, result.model_dump_json()):
        assert KEY not in shown


def test_invalid_output_over_http_is_re_asked(
    stub: StubOpenAI, seed_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub.replies += [tool_call({"answerable": "sometimes"}), tool_call(batch_answer)]
    result, _ = ask(compatible(monkeypatch, stub.base_url, COUNTERPOINT_STRATEGY="batch"), seed_path)
    assert not result.abstained and (result.stats.llm_calls, result.stats.retries) == (2, 1)
    first, second = (r.body["messages"] for r in stub.requests)
    assert second[: len(first)] == first
    shown, reask = second[len(first) :]
    assert shown["role"] == "assistant" and "sometimes" in shown["content"]
    assert reask["role"] == "user" and "answerable" in reask["content"] and "boolean" in reask["content"]


def test_a_compatible_server_refines_the_rules_answer_by_default(
    stub: StubOpenAI, seed_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default for a remote model: the rules' answer, then one call whose edits are checked."""

    def edits(body: Body) -> Body:
        prompt = prompt_of(body)
        first = re.search(r"^- .*\[(S\d+)", prompt, flags=re.MULTILINE)
        assert first, "the rules' draft was not in the prompt"
        line = re.search(rf"^\[{first.group(1)}\].*$", prompt, flags=re.MULTILINE)
        assert line, "a cited statement was not shown"
        word = max(re.findall(r"[a-z]+", line.group(0)), key=len)  # a topic must share a word with its point
        topic = {"op": "topic", "ids": [first.group(1)], "side": "", "value": f"Who said {word}"}
        unknown = {"op": "move", "ids": ["S999"], "side": "Pakistan", "value": ""}
        return {"edits": [topic, unknown], "verdict": "dispute", "reason": ""}

    stub.replies.append(tool_call(edits))
    result, _ = ask(compatible(monkeypatch, stub.base_url), seed_path)
    rules, _ = ask(compatible(monkeypatch, stub.base_url, COUNTERPOINT_STRATEGY="rules"), seed_path)
    [request] = stub.requests
    [tool] = request.body["tools"]
    assert tool["function"]["name"] == "Edits"
    assert (result.stats.strategy, result.stats.llm_calls) == ("refine", 1)
    assert not result.partial and len(result.sides) == len(rules.sides) >= 2
    assert [(q.start, q.end) for q in result.quotes()] == [(q.start, q.end) for q in rules.quotes()]
    assert any(p.topic.startswith("Who said ") for p in result.points)
    assert result.notes[-1].startswith(
        "the model's edits of the rules' answer: 1 applied (1 topic); 1 dropped"
    )


# --- failures -----------------------------------------------------------------------------------
class Pair(BaseModel):
    """A small schema for direct calls through the one door."""

    answerable: bool
    sides: list[str]


def ask_directly(settings: Settings) -> Pair:
    """One structured call through the configured backend, its backoff waits skipped."""
    backend = make_backend(settings)
    backend.sleep = lambda seconds: None
    return structured(backend, Pair, "reask", Usage(), error="Which sides?")


def test_server_error_twice_is_a_model_error(stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    stub.replies += [status(500), status(500)]
    with pytest.raises(ModelError) as caught:
        ask_directly(compatible(monkeypatch, stub.base_url))
    message = str(caught.value)
    assert message.startswith(f"the model (compatible: {MODEL}) failed twice: ")
    assert "500" in message and "stub says 500" in message and "\n" not in message and KEY not in message
    assert len(caught.value.attempts) == 2 and KEY not in " ".join(caught.value.attempts)
    assert len(stub.requests) == 2


def test_a_failed_model_call_shows_on_the_terminal_without_the_key(
    stub: StubOpenAI, seed_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = compatible(monkeypatch, stub.base_url, COUNTERPOINT_LLM_MAX_WAIT_S="0")
    with open_service(settings) as service:
        service.ingest(load_file(seed_path, settings))
    stub.replies += [status(503), status(503)]
    result = CliRunner().invoke(app, ["ask", QUESTION], catch_exceptions=False)
    assert len(stub.requests) == 2 and KEY not in result.stdout + result.stderr
    if result.exit_code == 0:  # the chain kept the rules' answer: the table says it is partial
        shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stdout).split())
        assert "Partial answer" in shown and "failed twice" in shown and "503" in shown
    else:  # no answer at all: one error line
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.exit_code == 1 and result.stdout == "" and len(lines) == 1, result.stderr
        assert (
            lines[0].startswith(f"error: the model (compatible: {MODEL}) failed twice") and "503" in lines[0]
        )


def test_closed_port_is_a_quick_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = compatible(monkeypatch, f"http://127.0.0.1:{free_port()}/v1")
    started = time.monotonic()
    with pytest.raises(ModelError, match=rf"cannot reach the model server \(compatible: {MODEL}\)") as caught:
        ask_directly(settings)
    assert time.monotonic() - started < 10
    assert len(caught.value.attempts) == 2 and KEY not in str(caught.value)


def test_slow_server_times_out(stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    stub.replies += [HANG, HANG]
    settings = compatible(monkeypatch, stub.base_url, COUNTERPOINT_LLM_TIMEOUT_S="0.5")
    with pytest.raises(ModelError, match="timed out twice; raise COUNTERPOINT_LLM_TIMEOUT_S") as caught:
        ask_directly(settings)
    assert len(caught.value.attempts) == 2 and all("Timeout" in a for a in caught.value.attempts)


# --- the local method: json_object with a schema, as llama.cpp's server expects -----------------
class Sides(BaseModel):
    """A small schema for the direct calls."""

    answerable: bool
    sides: list[str]


def local_backend(base_url: str) -> Backend:
    chat = ChatOpenAI(model="stub-local", base_url=base_url, api_key="local", temperature=0, seed=0,
                      timeout=10, max_retries=0)  # fmt: skip
    return Backend(
        name="local", model="stub-local", chat=chat, method="json_object_schema", strategy="per_statement"
    )


def test_local_method_sends_a_json_schema(stub: StubOpenAI) -> None:
    stub.replies += [
        content('{"answerable": true, "sides": "Pakistan"}'),
        content('{"answerable": true, "sides": ["A", "B"]}'),
    ]
    usage = Usage()
    backend = local_backend(stub.base_url)
    result = structured(backend, Sides, "reask", usage, max_tokens=77, error="Which sides?")
    assert result == Sides(answerable=True, sides=["A", "B"])
    assert (usage.calls, usage.retries, usage.prompt_tokens) == (2, 1, 642)
    first, second = (r.body for r in stub.requests)
    assert first["response_format"] == {"type": "json_object", "schema": Sides.model_json_schema()}
    assert "tools" not in first and "tool_choice" not in first
    assert (first["model"], first["temperature"], first["seed"]) == ("stub-local", 0, 0)
    # The length bound in the field llama-cpp-python's server reads (it ignores max_completion_tokens).
    assert first["max_tokens"] == 77
    assert "sides" in second["messages"][-1]["content"]  # the re-ask names the bad field
