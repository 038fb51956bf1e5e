"""The seed tests' twins for the real request path (test_openai_stub.py) on the invented article in
tests/data/: ChatOpenAI against a stub OpenAI-compatible server on loopback, for `batch` (the request,
the re-ask over HTTP, an exact answer), for `refine` (the remote default: the rules' answer edited,
each edit checked) and for a server that fails (the rules' answer, marked, and never the key)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import test_openai_stub as openai_stub
from conftest import INVENTED
from test_invented_chain import COMPANY, FULL, NARROW, QUESTION
from test_openai_stub import KEY, MODEL, StubOpenAI, compatible, status, tool_call
from typer.testing import CliRunner

from service.cli import app
from service.core import open_service
from service.library import load_file
from service.models import Comparison
from service.settings import Settings

stub = openai_stub.stub  # the stub OpenAI-compatible server, one per test


def compatible_answer(body: dict[str, Any]) -> dict[str, Any]:
    return FULL("\n".join(str(m.get("content") or "") for m in body["messages"]))


def ask_compatible(settings: Settings) -> tuple[Comparison, str]:
    with open_service(settings) as service:
        meta = service.ingest(load_file(INVENTED, settings)).meta
        return service.ask(QUESTION), service.document(meta.id).text


def test_compatible_server_answers_the_invented_article(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Twin of test_openai_stub's seed tests on `batch`: the request, the re-ask over HTTP, the exact
    answer."""
    stub.replies += [tool_call({"answerable": "sometimes"}), tool_call(compatible_answer)]
    result, text = ask_compatible(compatible(monkeypatch, stub.base_url, COUNTERPOINT_STRATEGY="batch"))
    first, second = stub.requests
    assert first.headers["authorization"] == f"Bearer {KEY}" and first.body["model"] == MODEL
    assert first.body["tool_choice"] == {"type": "function", "function": {"name": "Draft"}}
    assert QUESTION in first.body["messages"][1]["content"]
    assert second.body["messages"][: len(first.body["messages"])] == first.body["messages"]
    assert not result.abstained and (result.stats.llm_calls, result.stats.retries) == (2, 1)
    assert result.quotes()[0].text == NARROW
    assert all(text[q.start : q.end] == q.text for q in result.quotes())
    assert (result.stats.backend, result.stats.model, result.stats.strategy) == ("compatible", MODEL, "batch")
    out, err = capsys.readouterr()
    assert KEY not in out + err + result.model_dump_json()


def test_a_compatible_server_refines_the_rules_answer_on_the_invented_article(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twin of test_openai_stub's refine test: by default a remote model gets the rules' answer and
    edits it in one call; each edit is checked (one that cites an unknown id is dropped)."""

    def edits(body: dict[str, Any]) -> dict[str, Any]:
        prompt = "\n".join(str(m.get("content") or "") for m in body["messages"])
        first = re.search(r"^- .*\[(S\d+)", prompt, flags=re.MULTILINE)
        assert first, "the rules' draft was not in the prompt"
        line = re.search(rf"^\[{first.group(1)}\].*$", prompt, flags=re.MULTILINE)
        assert line, "a cited statement was not shown"
        word = max(re.findall(r"[a-z]+", line.group(0)), key=len)  # a topic shares a word with its point
        topic = {"op": "topic", "ids": [first.group(1)], "side": "", "value": f"Who said {word}"}
        unknown = {"op": "move", "ids": ["S999"], "side": COMPANY, "value": ""}
        return {"edits": [topic, unknown], "verdict": "dispute", "reason": ""}

    stub.replies.append(tool_call(edits))
    result, _ = ask_compatible(compatible(monkeypatch, stub.base_url))
    rules, _ = ask_compatible(compatible(monkeypatch, stub.base_url, COUNTERPOINT_STRATEGY="rules"))
    [request] = stub.requests
    assert request.body["tools"][0]["function"]["name"] == "Edits"
    assert (result.stats.strategy, result.stats.llm_calls) == ("refine", 1)
    assert not result.partial and len(result.sides) == len(rules.sides) == 2
    assert [(q.start, q.end) for q in result.quotes()] == [(q.start, q.end) for q in rules.quotes()]
    assert any(p.topic.startswith("Who said ") for p in result.points)
    assert result.notes[-1].startswith(
        "the model's edits of the rules' answer: 1 applied (1 topic); 1 dropped"
    )


def test_a_failed_compatible_call_on_the_invented_article_shows_without_the_key(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = compatible(monkeypatch, stub.base_url, COUNTERPOINT_LLM_MAX_WAIT_S="0")
    with open_service(settings) as service:
        service.ingest(load_file(INVENTED, settings))
    stub.replies += [status(503), status(503)]
    result = CliRunner().invoke(app, ["ask", QUESTION], catch_exceptions=False)
    assert len(stub.requests) == 2 and KEY not in result.stdout + result.stderr
    assert result.exit_code == 0, result.stderr  # the rules hear both sides: their answer, marked
    shown = " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛]", " ", result.stdout).split())
    assert "Partial answer" in shown and "failed twice" in shown and "503" in shown
