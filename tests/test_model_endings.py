"""Every way a model call can end without an answer becomes a ModelError: output cut at the token
limit (one more try with twice the budget where the budget is ours), a content filter, a refusal, a
reply with no choices. Each reply is the JSON a real server sends, given to a real `ChatOpenAI`
through an `httpx.MockTransport`, so the OpenAI client and LangChain handle it as they would live;
and `counterpoint ask` against a loopback server that cuts every answer shows the rules' answer."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel
from typer.testing import CliRunner

from service.cli import app
from service.errors import ModelError
from service.llm import Backend, Usage, structured
from service.llm import backend as llm
from service.llm.endings import MAX_BUDGET
from service.models import Comparison

Body = dict[str, Any]
KEY = "sk-endings-secret-0123456789"
CUT = '{"answerable": true, "sides": ["Norland", "Sud'
VALID = '{"answerable": true, "sides": ["Norland", "Sudmark"]}'


class Verdict(BaseModel):
    """A small schema for the calls below."""

    answerable: bool
    sides: list[str]


# --- what the servers send ----------------------------------------------------------------------
def openai_reply(message: Body, finish: str, **extra: Any) -> Body:
    """A chat.completion as api.openai.com sends it (usage details, fingerprint, service tier)."""
    return {
        "id": "chatcmpl-BxGq7h2Zk9sNw3",
        "object": "chat.completion",
        "created": 1753000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish, **extra}],
        "usage": {
            "prompt_tokens": 412,
            "completion_tokens": 300,
            "total_tokens": 712,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_34a54ae93c",
    }


def openai_message(content: str | None, refusal: str | None = None, **extra: Any) -> Body:
    return {"role": "assistant", "content": content, "refusal": refusal, "annotations": [], **extra}


def tool_message(name: str, arguments: str) -> Body:
    call = {"id": "call_5kq2", "type": "function", "function": {"name": name, "arguments": arguments}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def llama_cpp_reply(content: str, finish: str, completion_tokens: int) -> Body:
    """A chat.completion as llama-cpp-python's server sends it (json_object with a schema)."""
    return {
        "id": "chatcmpl-5b1f0c7e-43a2-4b51-9d0e-2f7d8c1a9e64",
        "object": "chat.completion",
        "created": 1753000000,
        "model": "qwen2.5-coder-1.5b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": 380,
            "completion_tokens": completion_tokens,
            "total_tokens": 380 + completion_tokens,
        },
    }


# What Azure OpenAI sends when its filter blocks the prompt: a 200 with no choices.
NO_CHOICES: Body = {
    "choices": [],
    "created": 0,
    "id": "",
    "model": "",
    "object": "",
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": {"filtered": True, "severity": "high"},
                "self_harm": {"filtered": False, "severity": "safe"},
            },
        }
    ],
}
FILTERED_CHOICE = {"content_filter_results": {"violence": {"filtered": True, "severity": "medium"}}}
REFUSAL = "I'm sorry, but I can't assist with that request."


# --- a ChatOpenAI over scripted replies ---------------------------------------------------------
Reply = Body | Callable[[Body], Body]


class Scripted:
    """Replies in order through an httpx.MockTransport; every request body is kept."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[Body] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        assert self.replies, f"unexpected request {len(self.requests)}"
        reply = self.replies.pop(0)
        return httpx.Response(200, json=reply(body) if callable(reply) else reply)


def backend(method: llm.Method, server: Scripted, secrets: tuple[str, ...] = ()) -> Backend:
    """A backend as make_backend builds it, its HTTP going to `server`."""
    chat = ChatOpenAI(
        model="gpt-4o-mini" if method != "json_object_schema" else "qwen2.5-coder-1.5b",
        base_url="http://127.0.0.1:9/v1", api_key=KEY, temperature=0, seed=0, max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )  # fmt: skip
    name = {"json_schema": "openai", "function_calling": "compatible"}.get(method, "local")
    return Backend(name, str(chat.model_name), chat, method, "batch", secrets=secrets, sleep=lambda s: None)


def ask(b: Backend, usage: Usage, max_tokens: int = 512) -> Verdict:
    return structured(b, Verdict, "reask", usage, max_tokens=max_tokens, error="Which sides?")


def failure(b: Backend, usage: Usage | None = None, max_tokens: int = 512) -> ModelError:
    with pytest.raises(ModelError) as caught:
        ask(b, usage or Usage(), max_tokens)
    assert "\n" not in str(caught.value)
    return caught.value


# --- length -------------------------------------------------------------------------------------
def test_openai_output_cut_at_the_length_limit_is_a_model_error() -> None:
    # The client's `parse` raises LengthFinishReasonError (an OpenAIError, not an APIError) for it.
    server = Scripted(openai_reply(openai_message(CUT), "length"))
    usage = Usage()
    error = failure(backend("json_schema", server), usage)
    assert "hit the token limit" in str(error) and "after 300 tokens" in str(error)
    assert "(openai: gpt-4o-mini)" in str(error)
    assert len(server.requests) == 1  # the server's own limit: asking again would be cut again
    assert error.attempts == [CUT]
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 412, 300)


def test_a_tool_call_cut_at_the_length_limit_is_a_model_error_not_a_re_ask() -> None:
    # The tool-call path (`create`) returns the cut call; its arguments are JSON that stops mid-string.
    server = Scripted(openai_reply(tool_message("Verdict", CUT), "length"))
    usage = Usage()
    error = failure(backend("function_calling", server), usage)
    assert "hit the token limit: the server cut it off after 300 tokens" in str(error)
    assert len(server.requests) == 1 and error.attempts == [CUT]
    assert (usage.calls, usage.completion_tokens, usage.retries) == (1, 300, 0)


def test_llama_cpp_cut_json_gets_one_more_try_with_twice_the_budget() -> None:
    server = Scripted(llama_cpp_reply(CUT, "length", 77), llama_cpp_reply(VALID, "stop", 19))
    usage = Usage()
    assert ask(backend("json_object_schema", server), usage, max_tokens=77) == Verdict(
        answerable=True, sides=["Norland", "Sudmark"]
    )
    first, second = server.requests
    assert (first["max_tokens"], second["max_tokens"]) == (77, 154)
    assert second["messages"] == first["messages"]  # not a re-ask with an error: only a bigger budget
    assert (usage.calls, usage.retries, usage.completion_tokens) == (2, 1, 96)
    assert usage.log == ["Verdict ended: length"]


def test_llama_cpp_cut_twice_is_a_model_error_naming_the_token_limit() -> None:
    server = Scripted(llama_cpp_reply(CUT, "length", 512), llama_cpp_reply(CUT + "mark", "length", 1024))
    error = failure(backend("json_object_schema", server), max_tokens=512)
    assert str(error) == (
        "the model's output (local: qwen2.5-coder-1.5b) hit the token limit: "
        "cut off at its budget of 1024 tokens, even with the budget doubled"
    )
    assert [r["max_tokens"] for r in server.requests] == [512, 1024]
    assert error.attempts == [CUT, CUT + "mark"]


@pytest.mark.parametrize(("asked", "retried"), [(6000, MAX_BUDGET), (MAX_BUDGET, None)])
def test_the_bigger_budget_is_capped(asked: int, retried: int | None) -> None:
    cut = llama_cpp_reply(CUT, "length", asked)
    server = Scripted(cut, cut)
    failure(backend("json_object_schema", server), max_tokens=asked)
    assert [r["max_tokens"] for r in server.requests] == [asked] + ([retried] if retried else [])


def test_a_cut_then_invalid_output_still_gets_its_re_ask_with_the_error() -> None:
    server = Scripted(
        llama_cpp_reply(CUT, "length", 64),
        llama_cpp_reply('{"answerable": "perhaps", "sides": []}', "stop", 12),
        llama_cpp_reply(VALID, "stop", 19),
    )
    usage = Usage()
    assert ask(backend("json_object_schema", server), usage, max_tokens=64).answerable
    assert [r["max_tokens"] for r in server.requests] == [64, 128, 128]
    assert "answerable" in server.requests[2]["messages"][-1]["content"]
    assert (usage.calls, usage.retries) == (3, 2)


def test_a_key_in_cut_output_is_scrubbed() -> None:
    leaked = CUT + KEY
    server = Scripted(llama_cpp_reply(leaked, "length", 64), llama_cpp_reply(leaked, "length", 128))
    error = failure(backend("json_object_schema", server, secrets=(KEY,)), max_tokens=64)
    assert all(KEY not in a for a in error.attempts) and error.attempts[0].endswith("***")


# --- content filter, refusal, no choices --------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("json_schema", openai_message(None)),  # parse raises ContentFilterFinishReasonError
        ("function_calling", openai_message(None)),  # create returns it; LangChain flags it
        ("json_object_schema", openai_message("")),
    ],
)
def test_a_content_filter_is_a_model_error_at_once(method: llm.Method, message: Body) -> None:
    server = Scripted(openai_reply(message, "content_filter", **FILTERED_CHOICE))
    usage = Usage()
    error = failure(backend(method, server), usage)
    assert "stopped the output with its content filter" in str(error)
    assert len(server.requests) == 1 and usage.calls == 1


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_object_schema"])
def test_a_refusal_is_a_model_error_that_says_what_the_model_said(method: llm.Method) -> None:
    server = Scripted(openai_reply(openai_message(None, refusal=REFUSAL), "stop"))
    usage = Usage()
    b = backend(method, server)
    error = failure(b, usage)
    assert str(error) == f"the model ({b.name}: {b.model}) refused to answer: {REFUSAL}"
    assert len(server.requests) == 1 and error.attempts == [REFUSAL]
    assert usage.calls == 1 and usage.retries == 0  # asking again rarely turns a refusal round


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_object_schema"])
def test_a_reply_with_no_choices_is_a_model_error(method: llm.Method) -> None:
    # LangChain indexes choices[0] without looking: a bare IndexError, which is not ours to surface.
    server = Scripted(NO_CHOICES)
    error = failure(backend(method, server))
    assert "sent a reply with no choices" in str(error)
    assert len(server.requests) == 1 and error.attempts == [""]


# --- end to end: a server that cuts every answer, and `counterpoint ask` ------------------------
ARTICLE = """Velora and Castamir end dam talks without a deal

The talks between Velora and Castamir over the Aldra dam ended on Tuesday without an agreement.

"We will not accept a dam that dries out our farms," said Ana Ruse, Velora's water minister. Ruse said \
Castamir had refused to share the river flow data that Velora asked for in March.

Karl Ode, a spokesman for the Castamir government, said the dam would bring power to half a million \
homes. Ode denied that the data had been withheld, and said Velora had rejected every compromise.

"Castamir offered the data twice," Ode said. "Velora walked away from the table."
"""
ARTICLE_QUESTION = "Why did the dam talks between Velora and Castamir fail?"
SEED_QUESTION = "Why did the Istanbul talks between Afghanistan and Pakistan fail?"


@pytest.fixture
def cutting_server() -> Iterator[tuple[str, list[Body]]]:
    """An OpenAI-compatible server on loopback that cuts every answer at the token limit, as
    llama.cpp's server does when the output outgrows max_tokens; yields (base URL, request bodies)."""
    requests: list[Body] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            requests.append(body)
            tools = body.get("tools") or []
            message = (
                tool_message(tools[0]["function"]["name"], CUT)
                if tools
                else {"role": "assistant", "content": CUT}
            )
            data = json.dumps(openai_reply(message, "length")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("source", "question", "parties"),
    [("invented", ARTICLE_QUESTION, ("Velora", "Castamir")), ("seed", SEED_QUESTION, ("Pakistan", "Afghan"))],
)
def test_ask_on_a_server_that_cuts_every_answer_shows_the_rules_answer_with_a_note(
    source: str,
    question: str,
    parties: tuple[str, str],
    cutting_server: tuple[str, list[Body]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    base_url, requests = cutting_server
    if source == "seed":
        path: Path = request.getfixturevalue("seed_path")  # skips, saying why, without /work/shared
    else:
        path = tmp_path / "dam-talks.txt"
        path.write_text(ARTICLE, encoding="utf-8")
    env = {"COUNTERPOINT_BACKEND": "compatible", "OPENAI_BASE_URL": base_url,
           "COUNTERPOINT_MODEL": "stub-model", "OPENAI_API_KEY": KEY}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(path)], catch_exceptions=False)
    assert ingested.exit_code == 0, ingested.stderr

    shown = runner.invoke(app, ["ask", question], catch_exceptions=False)
    assert shown.exit_code == 0, shown.stderr
    assert requests, "the model was never asked"
    table = " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛]", " ", shown.stdout).split())
    assert "Partial answer" in table and "hit the token limit" in table and "rules" in table
    assert all(p in table for p in parties) and KEY not in shown.stdout + shown.stderr

    asked = runner.invoke(app, ["ask", "--json", question], catch_exceptions=False)
    assert asked.exit_code == 0, asked.stderr
    answer = Comparison.model_validate_json(asked.stdout)
    assert not answer.abstained and answer.partial and answer.quotes()
    assert any("hit the token limit" in note for note in answer.notes)
    for party in parties:
        assert any(party in side.name for side in answer.sides), [s.name for s in answer.sides]
    text = path.read_text(encoding="utf-8")
    for quote in answer.quotes():  # the rules' quotes, exact as always
        assert text[quote.start : quote.end] == quote.text
