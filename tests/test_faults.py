"""Model faults over real HTTP (a stub OpenAI-compatible server on loopback): rate limits and busy
servers with Retry-After, malformed and empty replies, JSON with raw control characters, a server that
echoes the API key back; and invented statement ids through the public facade."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from langchain_core.messages import BaseMessage
from pydantic import BaseModel
from test_openai_stub import (
    KEY,
    MODEL,
    Body,
    Reply,
    StubOpenAI,
    compatible,
    completion,
    status,
    stub,
    tool_call,
)
from typer.testing import CliRunner

from service.cli import app
from service.core import open_service
from service.errors import ModelError
from service.library import Loaded
from service.llm import Backend, Usage, make_backend, structured
from service.llm.fake import ScriptedChatModel
from service.models import Comparison
from service.page import handlers as h
from service.page.render import comparison_html, comparison_markdown
from service.settings import Settings

__all__ = ["stub"]  # the fixture, imported so that pytest finds it here

ARTICLE = (
    "Water talks fail in the Ossberg valley\n\n"
    "The Ossberg town council and the Karst farmers' cooperative blamed each other on Tuesday for the "
    "failed water-sharing talks. Council spokeswoman Orsola Dantz said the cooperative had rejected a "
    "fair quota before the vote. “We offered half of the reservoir and they walked away,” Dantz said.\n\n"
    "Cooperative chair Ulrich Renk said the council never put its offer in writing. “There was no "
    "written offer, only a speech,” Renk said. According to Renk, the council wants to divert the river "
    "to a new golf course."
)
QUESTION = "Why did the water talks between the Ossberg town council and the Karst cooperative fail?"
COUNCIL = "We offered half of the reservoir"
COOP = "There was no written offer"


class Sides(BaseModel):
    answerable: bool
    sides: list[str]


def backend_for(settings: Settings) -> tuple[Backend, list[float]]:
    """The configured backend with its waits recorded instead of slept."""
    backend = make_backend(settings)
    waits: list[float] = []
    backend.sleep = waits.append
    return backend, waits


def ask_sides(backend: Backend, usage: Usage | None = None) -> Sides:
    return structured(backend, Sides, "reask", usage or Usage(), error="Which sides?")


def raw(code: int, data: bytes) -> Reply:
    """A reply whose body is sent as is (not JSON, or JSON that is not a chat completion)."""
    return lambda body: (code, data)


def tool_arguments(arguments: str) -> Reply:
    """A tool call whose arguments string is sent exactly as given."""

    def reply(body: Body) -> tuple[int, Body]:
        name = body["tools"][0]["function"]["name"]
        call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return 200, completion(body, message, "tool_calls")

    return reply


def plain(text: str) -> Reply:
    return lambda body: (200, completion(body, {"role": "assistant", "content": text}))


# --- retries over HTTP ----------------------------------------------------------------------------
def test_429_with_retry_after_waits_as_asked_then_answers(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, waits = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies += [status(429, {"Retry-After": "2"}), tool_call({"answerable": True, "sides": ["A", "B"]})]
    usage = Usage()
    assert ask_sides(backend, usage) == Sides(answerable=True, sides=["A", "B"])
    assert waits == [2.0] and len(stub.requests) == 2 and (usage.calls, usage.retries) == (1, 1)


def test_503_with_a_long_retry_after_is_capped_then_a_clear_error(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = compatible(
        monkeypatch, stub.base_url, COUNTERPOINT_LLM_RETRIES="2", COUNTERPOINT_LLM_MAX_WAIT_S="4"
    )
    backend, waits = backend_for(settings)
    stub.replies += [status(503, {"Retry-After": "600"})] * 3
    with pytest.raises(ModelError) as caught:
        ask_sides(backend)
    assert waits == [4.0, 4.0] and len(stub.requests) == 3
    message = str(caught.value)
    assert message.startswith(f"the model (compatible: {MODEL}) failed 3 times: ") and "503" in message


def test_429_twice_says_the_server_is_rate_limiting(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, waits = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies += [status(429, {"retry-after-ms": "1500"})] * 2
    with pytest.raises(ModelError, match=r"is rate limiting \(it asked to wait 1\.5 s\); failed twice"):
        ask_sides(backend)
    assert waits == [1.5]


def test_a_server_that_is_down_is_retried_with_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = compatible(monkeypatch, f"http://127.0.0.1:{free_port()}/v1", COUNTERPOINT_LLM_RETRIES="2")
    backend, waits = backend_for(settings)
    with pytest.raises(ModelError, match=rf"cannot reach the model server \(compatible: {MODEL}\)") as caught:
        ask_sides(backend)
    assert waits == [0.5, 1.0] and len(caught.value.attempts) == 3


@pytest.mark.parametrize(
    "reply",
    [
        raw(200, b'{"object": "error", "message": "model is loading"}'),  # valid JSON, wrong shape
        raw(200, b"<html><body>Bad gateway</body></html>"),  # not JSON at all
        raw(200, b'{"error": {"message": "out of memory"}}'),
        tool_arguments("[1, 2]"),  # arguments that are not an object: the client cannot build a message
    ],
)
def test_a_malformed_http_reply_is_retried_then_a_model_error(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch, reply: Reply
) -> None:
    backend, waits = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies += [reply, reply]
    with pytest.raises(ModelError, match=rf"the model server \(compatible: {MODEL}\)|the model \(compatible"):
        ask_sides(backend)
    assert len(stub.requests) == 2 and len(waits) == 1


def test_a_malformed_reply_then_a_good_one_answers(stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    backend, _ = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies += [raw(200, b'{"unexpected": true}'), tool_call({"answerable": False, "sides": []})]
    assert ask_sides(backend) == Sides(answerable=False, sides=[])


# --- what the reply carries -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arguments", "sides"),
    [
        # Raw control characters inside a JSON string ("control character found while parsing").
        ('{"answerable": true, "sides": ["North\tbank", "South\nbank"]}', ["North\tbank", "South\nbank"]),
        # Arguments in a Markdown code fence, as small models write them: the client gives up on them.
        ('```json\n{"answerable": true, "sides": ["East", "We\x02st"]}\n```', ["East", "We\x02st"]),
    ],
)
def test_tool_arguments_are_parsed_leniently(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch, arguments: str, sides: list[str]
) -> None:
    backend, _ = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies.append(tool_arguments(arguments))
    assert ask_sides(backend) == Sides(answerable=True, sides=sides)
    assert len(stub.requests) == 1


def test_local_json_with_control_characters_is_accepted(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = compatible(monkeypatch, stub.base_url, COUNTERPOINT_STRUCTURED="json_object_schema")
    backend, _ = backend_for(settings)
    stub.replies.append(plain('{"answerable": true, "sides": ["Hill\tfolk", "River\rfolk"]}'))
    assert ask_sides(backend).sides == ["Hill\tfolk", "River\rfolk"]


def test_json_content_instead_of_a_tool_call_is_accepted(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, _ = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies.append(plain('```json\n{"answerable": true, "sides": ["Uplands"]}\n```'))
    assert ask_sides(backend).sides == ["Uplands"]


@pytest.mark.parametrize(
    ("first", "error"),
    [
        (plain(""), "the reply was empty"),
        (tool_arguments(""), "answerable: Field required"),
        (tool_arguments('{"answerable": tru'), "Invalid JSON"),
    ],
)
def test_empty_and_wrong_replies_are_re_asked_with_the_error(
    stub: StubOpenAI, monkeypatch: pytest.MonkeyPatch, first: Reply, error: str
) -> None:
    backend, waits = backend_for(compatible(monkeypatch, stub.base_url))
    stub.replies += [first, tool_call({"answerable": True, "sides": ["A"]})]
    usage = Usage()
    assert ask_sides(backend, usage).sides == ["A"]
    assert error in stub.requests[1].body["messages"][-1]["content"] and waits == []
    assert (usage.calls, usage.retries) == (2, 1)


# --- the key, echoed back -------------------------------------------------------------------------
def echo_error(stub: StubOpenAI) -> Reply:
    """A 500 whose message repeats the request's headers and body, the key included."""

    def reply(body: Body) -> tuple[int, Body]:
        seen = stub.requests[-1]
        return 500, {"error": {"message": f"bad request {seen.headers} {seen.raw.decode()[:300]}"}}

    return reply


def echo_answer(stub: StubOpenAI) -> Reply:
    """A Draft whose topic and claims repeat the Authorization header."""

    def draft(body: Body) -> Body:
        header = stub.requests[-1].headers["authorization"]
        prompt = "\n".join(str(m.get("content") or "") for m in body["messages"])

        def sid(fragment: str) -> str:
            return re.findall(r"\b(S\d+)\b", prompt[: prompt.index(fragment)])[-1]

        accounts = [
            {"side": "Town council", "claim": f"Echo: {header}", "citations": [{"id": sid(COUNCIL)}]},
            {"side": "Cooperative", "claim": f"Echo: {header}", "citations": [{"id": sid(COOP)}]},
        ]
        return {
            "answerable": True,
            "sides": [{"name": "Town council", "speakers": [header]}, {"name": "Cooperative"}],
            "points": [{"topic": header, "kind": "contradiction", "accounts": accounts}],
        }

    return tool_call(draft)


def test_an_echoed_key_reaches_no_error_log_answer_export_or_page(
    stub: StubOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    # batch by name: its answer carries what the server echoed into a topic (refine's is checked first)
    settings = compatible(
        monkeypatch, stub.base_url, COUNTERPOINT_LLM_MAX_WAIT_S="0", COUNTERPOINT_STRATEGY="batch"
    )
    stub.replies += [echo_error(stub), echo_error(stub)]
    with pytest.raises(ModelError) as caught:
        ask_sides(make_backend(settings))
    assert KEY in str(stub.requests[0].headers) and "Bearer ***" in str(caught.value)
    shown = [str(caught.value), repr(caught.value), *caught.value.attempts]
    shown.append(h.notice_html([("error", f"Could not answer: {caught.value}")]))

    def surfaces(answer: Comparison) -> list[str]:
        json_path, md_path = h.export_files(answer, tmp_path / "exports")
        return [
            answer.model_dump_json(),
            comparison_html(answer),
            comparison_markdown(answer),
            json_path.read_text(encoding="utf-8"),
            md_path.read_text(encoding="utf-8"),
        ]

    with open_service(settings) as service:
        service.ingest(Loaded(text=ARTICLE, source="ossberg.txt", title="Water talks fail"))
        # A failed call: the chain may keep a partial answer whose notes quote the error.
        stub.replies += [echo_error(stub), echo_error(stub)]
        try:
            shown += surfaces(service.ask(QUESTION))
        except ModelError as exc:
            shown += [str(exc), *exc.attempts]
        stub.replies.append(echo_answer(stub))
        answer = service.ask(QUESTION, use_cache=False)
        assert answer.points and "Bearer ***" in answer.points[0].topic
        shown += surfaces(answer)

    stub.replies += [echo_error(stub), echo_error(stub)]
    result = CliRunner().invoke(app, ["ask", QUESTION, "--json", "--no-cache"], catch_exceptions=False)
    out, err = capsys.readouterr()
    shown += [result.stdout, result.stderr, caplog.text, out, err]
    assert len(stub.requests) == 7
    for text in shown:
        assert KEY not in text


# --- invented statement ids ----------------------------------------------------------------------
def invented_ids(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
    """A Draft that cites one real statement per side and several that do not exist."""
    prompt = "\n".join(str(m.content) for m in messages)

    def sid(fragment: str) -> str:
        return re.findall(r"\b(S\d+)\b", prompt[: prompt.index(fragment)])[-1]

    fake = [{"id": i} for i in ("S0", "S999", "S1a", "[S12345]", "Orsola Dantz")]
    return {
        "answerable": True,
        "sides": [{"name": "Town council"}, {"name": "Cooperative"}, {"name": "Nobody"}],
        "points": [
            {
                "topic": "The offer",
                "kind": "contradiction",
                "accounts": [
                    {
                        "side": "Town council",
                        "claim": "Fair offer",
                        "citations": [{"id": sid(COUNCIL)}, *fake],
                    },
                    {"side": "Cooperative", "claim": "No offer", "citations": [*fake, {"id": sid(COOP)}]},
                    {"side": "Nobody", "claim": "Made up", "citations": fake},
                ],
            }
        ],
    }


def test_invented_ids_are_dropped_and_only_real_quotes_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
    settings = Settings()
    model = ScriptedChatModel().enqueue([invented_ids])
    with open_service(settings, chat_model=model) as service:
        doc = service.document(service.ingest(Loaded(text=ARTICLE, source="ossberg.txt")).meta.id)
        answer = service.ask(QUESTION)
    assert not answer.abstained and [s.name for s in answer.sides] == ["Town council", "Cooperative"]
    [point] = answer.points
    assert set(point.accounts) == {"Town council", "Cooperative"}
    texts = [q.text for q in answer.quotes()]
    assert len(texts) == 2 and COUNCIL in texts[0] and COOP in texts[1]
    for q in answer.quotes():
        assert doc.text[q.start : q.end] == q.text
    assert answer.stats.dropped_ids == 3 * 5  # five invented ids under each of three sides
