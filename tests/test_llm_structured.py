"""structured() over scripted chat models: schemas, re-asks, retries and usage. Split from
test_llm.py, which keeps backend selection and secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field
from test_llm import KEY, backend_of, settings_with

from service.errors import ModelError
from service.llm import Backend, Usage, prompts, structured
from service.llm import backend as llm
from service.llm.fake import ScriptedChatModel
from service.settings import Settings


# --- structured() -------------------------------------------------------------------------------
class Verdict(BaseModel):
    """A small schema for the calls below."""

    answerable: bool
    sides: list[str] = Field(default_factory=list)


# Any prompt file with one declared variable will do: the one door renders it after the framing.
PROMPT, QUESTION = "reask", "Which sides?"
MESSAGES: list[BaseMessage] = [
    SystemMessage(content=prompts.system()),
    HumanMessage(content=prompts.load(PROMPT).render(error=QUESTION)),
]
VALID = {"answerable": True, "sides": ["Norland", "Sudmark"]}


def scripted(
    *replies: Any, method: llm.Method = "function_calling", **fields: Any
) -> tuple[Backend, ScriptedChatModel, list[float]]:
    """A backend over a scripted model whose waits are recorded instead of slept."""
    model = ScriptedChatModel(model_name="scripted-x").enqueue(replies)
    waits: list[float] = []
    backend = Backend("custom", "scripted-x", model, method, "batch", sleep=waits.append, **fields)
    return backend, model, waits


def ask(backend: Backend, usage: Usage | None = None) -> Verdict:
    return structured(backend, Verdict, PROMPT, usage or Usage(), error=QUESTION)


REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=REQUEST)


def timeout_error() -> openai.APITimeoutError:
    return openai.APITimeoutError(request=REQUEST)


def status_error(
    code: int, headers: dict[str, str] | None = None, message: str = ""
) -> openai.APIStatusError:
    """What the openai client raises for an HTTP error reply (RateLimitError for 429, and so on)."""
    response = httpx.Response(
        code, headers=headers or {}, request=REQUEST, json={"error": {"message": message}}
    )
    client = openai.OpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1", max_retries=0)
    return client._make_status_error_from_response(response)


def test_valid_output_in_one_call() -> None:
    backend, model, waits = scripted(VALID)
    usage = Usage()
    assert ask(backend, usage) == Verdict(**VALID)
    assert (usage.calls, usage.retries, waits) == (1, 0, [])
    assert usage.prompt_tokens == sum(len(str(m.content)) for m in MESSAGES) // 4 > 0
    assert usage.completion_tokens > 0
    assert model.tools == ["Verdict"] and model.history == [MESSAGES]


@pytest.mark.parametrize(
    ("first", "error_text"),
    [
        ({"sides": ["Norland"]}, "answerable: Field required"),
        ({"answerable": "perhaps", "sides": []}, "answerable: Input should be a valid boolean"),
        ({"answerable": True, "sides": "Norland"}, "sides: Input should be a valid list"),
        ("I think the sides are Norland and Sudmark.", "no structured output"),
        ("", "the reply was empty"),
    ],
)
def test_invalid_output_is_re_asked_with_the_error(first: Any, error_text: str) -> None:
    backend, model, waits = scripted(first, VALID)
    usage = Usage()
    assert ask(backend, usage) == Verdict(**VALID)
    assert (usage.calls, usage.retries, waits) == (2, 1, [])  # a re-ask needs no wait
    second_request = model.history[1]
    assert second_request[: len(MESSAGES)] == MESSAGES
    shown, reask = second_request[len(MESSAGES) :]
    assert isinstance(shown, AIMessage) and isinstance(reask, HumanMessage)
    if isinstance(first, dict):  # the model sees what it said
        assert json.loads(str(shown.content)) == first
    assert error_text in str(reask.content)
    assert error_text in usage.log[0]


def test_invalid_twice_is_a_model_error_with_both_attempts() -> None:
    backend, model, _ = scripted({"sides": []}, {"answerable": "perhaps"})
    usage = Usage()
    with pytest.raises(ModelError) as caught:
        ask(backend, usage)
    message = str(caught.value)
    assert "scripted-x" in message and "invalid Verdict output twice" in message
    assert "answerable" in message and "\n" not in message
    assert len(caught.value.attempts) == 2 and "perhaps" in caught.value.attempts[1]
    assert (usage.calls, usage.retries, len(model.history)) == (2, 1, 2)


def test_a_transport_error_is_retried_once_with_the_same_messages_after_a_wait() -> None:
    backend, model, waits = scripted(connection_error(), VALID)
    usage = Usage()
    assert ask(backend, usage) == Verdict(**VALID)
    assert (usage.calls, usage.retries) == (1, 1)  # the failed request returned nothing to count
    assert model.history == [MESSAGES, MESSAGES] and waits == [0.5]


def test_the_backoff_doubles_and_the_number_of_retries_is_a_setting() -> None:
    backend, model, waits = scripted(*[connection_error()] * 4, VALID, retries=3, max_wait_s=1.5)
    with pytest.raises(ModelError, match=r"cannot reach the model server \(custom: scripted-x\)") as caught:
        ask(backend)
    assert waits == [0.5, 1.0, 1.5] and len(model.history) == 4 and len(caught.value.attempts) == 4
    backend, model, waits = scripted(connection_error(), VALID, retries=0)
    with pytest.raises(ModelError, match="cannot reach"):
        ask(backend)
    assert waits == [] and len(model.history) == 1


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "3600"}, 10.0),  # capped at max_wait_s
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: no wait
        ({"retry-after": "soon"}, 0.5),  # unreadable: the normal backoff
        ({"retry-after": "nan"}, 0.5),
        ({}, 0.5),
    ],
)
def test_retry_after_is_honoured_and_capped(headers: dict[str, str], wait: float) -> None:
    backend, model, waits = scripted(status_error(429, headers, "slow down"), VALID, max_wait_s=10.0)
    assert ask(backend) == Verdict(**VALID)
    assert waits == [wait] and len(model.history) == 2


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ((connection_error(), connection_error()), "cannot reach the model server (custom: scripted-x)"),
        ((timeout_error(), timeout_error()), "timed out twice; raise COUNTERPOINT_LLM_TIMEOUT_S"),
        ((httpx.ConnectError("refused"),) * 2, "cannot reach the model server (custom: scripted-x)"),
        ((httpx.ReadTimeout("slow"),) * 2, "timed out twice"),
        ((status_error(503, {"retry-after": "1"}, "busy"),) * 2, "failed twice: InternalServerError"),
        ((status_error(429, {"retry-after": "2"}, "slow down"),) * 2, "rate limiting (it asked to wait 2 s)"),
        (({"sides": []}, connection_error(), connection_error()), "cannot reach"),
    ],
)
def test_repeated_transport_failures_are_a_model_error(errors: tuple[Any, ...], expected: str) -> None:
    backend, model, waits = scripted(*errors)
    with pytest.raises(ModelError) as caught:
        ask(backend)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert len(caught.value.attempts) == len(errors) == len(model.history)
    assert len(waits) == 1 and caught.value.__cause__ is None  # the cause may carry an echoed key


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_a_refused_request_is_a_model_error_at_once(code: int) -> None:
    backend, model, waits = scripted(status_error(code, message="no such model"), VALID)
    with pytest.raises(ModelError, match=f"refused the request: .*{code}.*no such model"):
        ask(backend)
    assert len(model.history) == 1 and waits == []  # asking again cannot help


@pytest.mark.parametrize(
    "bug",
    [
        TypeError("bad operand"),
        KeyError("missing"),
        AttributeError("no attribute"),
        RuntimeError("boom"),
        IndexError("ours"),  # not a reply without choices: the model returned nothing at all
    ],
)
def test_a_bug_in_our_code_surfaces_as_itself_and_is_not_retried(bug: Exception) -> None:
    backend, model, waits = scripted(bug, VALID)
    usage = Usage()
    with pytest.raises(type(bug)) as caught:
        ask(backend, usage)
    assert caught.value is bug and not isinstance(caught.value, ModelError)
    assert len(model.history) == 1 and (usage.retries, waits) == (0, [])


def test_a_bug_while_building_the_request_is_not_a_model_error() -> None:
    backend, model, _ = scripted(VALID)
    with pytest.raises(ValueError, match="missing"):  # a prompt rendered with the wrong values
        structured(backend, Verdict, PROMPT, Usage(), question=QUESTION)
    assert model.history == []


def test_json_object_method_parses_the_content() -> None:
    backend, model, _ = scripted(
        '{"answerable": false', '{"answerable": false, "sides": []}', method="json_object_schema"
    )
    usage = Usage()
    assert ask(backend, usage) == Verdict(answerable=False)
    assert model.tools == [None, None]  # no tools: the schema travels in response_format
    assert "Invalid JSON" in str(model.history[1][-1].content)
    assert usage.calls == 2


@pytest.mark.parametrize(
    ("reply", "sides"),
    [
        # Raw control characters inside strings, as llama.cpp's grammar lets through.
        (
            '{"answerable": true, "sides": ["Nor\tland", "Sud\nmark", "Ost\x01gard"]}',
            ["Nor\tland", "Sud\nmark", "Ost\x01gard"],
        ),
        ('```json\n{"answerable": true, "sides": ["Norland"]}\n```', ["Norland"]),
        ('  {"answerable": true, "sides": []}\n\n', []),
    ],
)
def test_json_is_parsed_leniently_then_validated(reply: str, sides: list[str]) -> None:
    backend, model, _ = scripted(reply, method="json_object_schema")
    assert ask(backend) == Verdict(answerable=True, sides=sides)
    assert len(model.history) == 1


@pytest.mark.parametrize(
    ("reply", "error_text"),
    [
        ("", "the reply was empty"),
        ("   ", "the reply was empty"),
        ("[true, []]", "Input should be a valid dictionary"),  # valid JSON of the wrong shape
        ('"yes"', "Input should be a valid dictionary"),
        ('{"answerable": true, "sides": [1, 2]}', "sides.0: Input should be a valid string"),
        ("Sure! Here is the JSON you asked for.", "Invalid JSON"),
    ],
)
def test_json_object_faults_are_re_asked_then_a_model_error(reply: str, error_text: str) -> None:
    backend, model, _ = scripted(reply, reply, method="json_object_schema")
    with pytest.raises(ModelError, match="invalid Verdict output twice") as caught:
        ask(backend)
    assert error_text in str(caught.value) and error_text in str(model.history[1][-1].content)


def test_a_key_echoed_by_the_server_is_scrubbed_everywhere() -> None:
    secret = "sk-live-echoed-0123456789"
    echo = f"Authorization: Bearer {secret}"
    backend, _, _ = scripted(
        {"answerable": echo},
        {"answerable": True, "sides": [f"{secret} side", "Sudmark"]},
        secrets=(secret,),
    )
    usage = Usage()
    verdict = ask(backend, usage)
    assert verdict.sides == ["*** side", "Sudmark"]  # even in the answer: a claim could carry it
    assert secret not in " ".join(usage.log)
    backend, _, _ = scripted(
        status_error(500, message=echo), status_error(500, message=echo), secrets=(secret,)
    )
    with pytest.raises(ModelError) as caught:
        ask(backend)
    shown = " ".join([str(caught.value), *caught.value.attempts, repr(caught.value)])
    assert "Bearer ***" in shown and secret not in shown
    backend, _, _ = scripted({"answerable": echo}, {"answerable": echo}, secrets=(secret,))
    with pytest.raises(ModelError) as caught:
        ask(backend)
    assert secret not in " ".join([str(caught.value), *caught.value.attempts])


def test_the_backend_carries_the_key_to_scrub_and_the_retry_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch, OPENAI_API_KEY=KEY, COUNTERPOINT_LLM_RETRIES="3", COUNTERPOINT_LLM_MAX_WAIT_S="2.5"
    )
    backend = backend_of(settings)
    assert (backend.secrets, backend.retries, backend.max_wait_s) == ((KEY,), 3, 2.5)
    assert KEY not in repr(backend)
    assert (
        backend_of(settings_with(monkeypatch, OPENAI_API_KEY="", COUNTERPOINT_BACKEND="fake")).secrets == ()
    )


def test_conftest_isolation_reaches_settings(isolated_env: Path, settings: Settings) -> None:
    assert settings.data_dir == isolated_env and settings.openai_api_key is None
