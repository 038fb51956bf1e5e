"""Tests for service/llm/: backend selection from the environment, secrets kept out of sight, and
`structured()` (validated output, one re-ask with the error, transport retries, ModelError)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from service.core import Counterpoint
from service.errors import ModelError, SetupError
from service.library.store import Store
from service.llm import Backend, BackendInfo, Usage, describe_backend, prompts, structured
from service.llm import backend as llm
from service.llm.fake import HeuristicChatModel, ScriptedChatModel
from service.settings import Settings

KEY = "sk-test-secret-0123456789"


def backend_of(settings: Settings) -> Backend:
    """The backend the service makes for `settings` (through the facade, which starts nothing else)."""
    return Counterpoint(settings, cast(Store, None)).backend()


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    """Settings read from the isolated environment plus `env`."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- selection ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "backend", "model", "strategy"),
    [
        ({}, "local", "qwen2.5-coder-1.5b", "per_statement"),
        ({"COUNTERPOINT_LOCAL_MODEL": "0.5b"}, "local", "qwen2.5-coder-0.5b", "per_statement"),
        ({"OPENAI_API_KEY": KEY}, "openai", llm.DEFAULT_OPENAI_MODEL, "batch"),
        ({"OPENAI_API_KEY": KEY, "COUNTERPOINT_MODEL": "gpt-4.1"}, "openai", "gpt-4.1", "batch"),
        (
            {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "COUNTERPOINT_MODEL": "qwen"},
            "compatible",
            "qwen",
            "batch",
        ),
        (  # a base URL wins over a key: the key is for that server
            {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "OPENAI_API_KEY": KEY, "COUNTERPOINT_MODEL": "m"},
            "compatible",
            "m",
            "batch",
        ),
        ({"COUNTERPOINT_BACKEND": "fake", "OPENAI_API_KEY": KEY}, "fake", "heuristic-fake", "per_statement"),
        (
            {
                "COUNTERPOINT_BACKEND": "local",
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
            },
            "local",
            "qwen2.5-coder-1.5b",
            "per_statement",
        ),
        (
            {
                "COUNTERPOINT_BACKEND": "openai",
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
            },
            "openai",
            llm.DEFAULT_OPENAI_MODEL,
            "batch",
        ),
        ({"COUNTERPOINT_STRATEGY": "batch"}, "local", "qwen2.5-coder-1.5b", "batch"),
        (
            {"OPENAI_API_KEY": KEY, "COUNTERPOINT_STRATEGY": "per_statement"},
            "openai",
            "gpt-4o-mini",
            "per_statement",
        ),
    ],
)
def test_backend_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], backend: str, model: str, strategy: str
) -> None:
    settings = settings_with(monkeypatch, **env)
    assert settings.resolved_backend == backend
    assert describe_backend(settings) == BackendInfo(backend=backend, model=model, strategy=strategy)


def test_a_given_chat_model_is_described_as_custom(settings: Settings) -> None:
    described = describe_backend(settings, ScriptedChatModel(model_name="my-model"))
    assert described.backend == "custom" and described.model == "my-model"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COUNTERPOINT_BACKEND": "compatible", "COUNTERPOINT_MODEL": "m"}, "OPENAI_BASE_URL"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, "COUNTERPOINT_MODEL"),
        ({"COUNTERPOINT_BACKEND": "openai"}, "OPENAI_API_KEY"),
    ],
)
def test_incomplete_backend_settings_are_a_setup_error(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    settings = settings_with(monkeypatch, **env)
    with pytest.raises(SetupError, match=message):
        backend_of(settings)


def test_remote_backends_are_deterministic_and_retry_only_through_us(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, OPENAI_API_KEY=KEY, COUNTERPOINT_LLM_TIMEOUT_S="7.5")
    backend = backend_of(settings)
    assert (backend.name, backend.model, backend.method) == ("openai", "gpt-4o-mini", "json_schema")
    chat = backend.chat
    assert (chat.temperature, chat.seed, chat.max_retries, chat.request_timeout) == (0, 0, 0, 7.5)
    assert chat.openai_api_key.get_secret_value() == KEY


def test_compatible_backend_uses_the_base_url_and_tool_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, OPENAI_BASE_URL="http://127.0.0.1:9/v1", COUNTERPOINT_MODEL="m")
    backend = backend_of(settings)
    assert (backend.name, backend.model, backend.method, backend.strategy) == (
        "compatible",
        "m",
        "function_calling",
        "batch",
    )
    assert backend.chat.openai_api_base == "http://127.0.0.1:9/v1"
    assert backend.chat.openai_api_key.get_secret_value() == "not-needed"  # the client insists on one


def test_fake_backend_is_the_heuristic_model(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, COUNTERPOINT_BACKEND="fake")
    backend = backend_of(settings)
    assert isinstance(backend.chat, HeuristicChatModel) and backend.strategy == "per_statement"


def test_local_backend_asks_the_shared_server_for_json(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Server:
        alias = "qwen2.5-coder-1.5b"
        base_url = "http://127.0.0.1:9/v1"

    started: list[Settings] = []

    def shared_server(s: Settings) -> Server:
        started.append(s)
        return Server()

    monkeypatch.setattr("service.llm.local.shared_server", shared_server)
    assert started == []  # describing the backend starts nothing
    describe_backend(settings)
    assert started == []
    backend = backend_of(settings)
    assert started == [settings]
    assert (backend.name, backend.model, backend.method) == ("local", Server.alias, "json_object_schema")
    assert backend.chat.openai_api_base == Server.base_url


# --- secrets ------------------------------------------------------------------------------------
def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        COUNTERPOINT_MODEL="m",
        COUNTERPOINT_AUTH="admin:pw-secret-42",
    )
    assert settings.openai_api_key is not None and settings.openai_api_key.get_secret_value() == KEY
    backend = backend_of(settings)
    shown = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
        str(describe_backend(settings)),
        repr(backend),
        str(backend),
    ]
    for text in shown:
        assert KEY not in text and "pw-secret-42" not in text


# --- structured() -------------------------------------------------------------------------------
class Verdict(BaseModel):
    """A small schema for the calls below."""

    answerable: bool
    sides: list[str] = Field(default_factory=list)


QUESTION = "Which sides?"
# What the one door sends: the shared system framing, then the named prompt rendered with its values.
MESSAGES: list[BaseMessage] = [
    SystemMessage(content=prompts.system()),
    HumanMessage(content=prompts.load("subject").render(question=QUESTION)),
]
VALID = {"answerable": True, "sides": ["Pakistan", "Afghanistan"]}


def scripted(*replies: Any, method: llm.Method = "function_calling") -> tuple[Backend, ScriptedChatModel]:
    model = ScriptedChatModel(model_name="scripted-x").enqueue(replies)
    return Backend("custom", "scripted-x", model, method, "batch"), model


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


def timeout_error() -> openai.APITimeoutError:
    return openai.APITimeoutError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


def test_valid_output_in_one_call() -> None:
    backend, model = scripted(VALID)
    usage = Usage()
    assert structured(backend, Verdict, "subject", usage, question=QUESTION) == Verdict(**VALID)
    assert (usage.calls, usage.retries) == (1, 0)
    assert usage.prompt_tokens == sum(len(str(m.content)) for m in MESSAGES) // 4 > 0
    assert usage.completion_tokens > 0
    assert model.tools == ["Verdict"] and model.history == [MESSAGES]


@pytest.mark.parametrize(
    ("first", "error_text"),
    [
        ({"sides": ["Pakistan"]}, "answerable: Field required"),
        ({"answerable": "perhaps", "sides": []}, "answerable: Input should be a valid boolean"),
        ({"answerable": True, "sides": "Pakistan"}, "sides: Input should be a valid list"),
        ("I think the sides are Pakistan and Afghanistan.", "no structured output"),
    ],
)
def test_invalid_output_is_re_asked_with_the_error(first: Any, error_text: str) -> None:
    backend, model = scripted(first, VALID)
    usage = Usage()
    assert structured(backend, Verdict, "subject", usage, question=QUESTION) == Verdict(**VALID)
    assert (usage.calls, usage.retries) == (2, 1)
    second_request = model.history[1]
    assert second_request[: len(MESSAGES)] == MESSAGES
    shown, reask = second_request[len(MESSAGES) :]
    assert isinstance(shown, AIMessage) and isinstance(reask, HumanMessage)
    if isinstance(first, dict):  # the model sees what it said
        assert json.loads(str(shown.content)) == first
    assert error_text in str(reask.content)
    assert error_text in usage.log[0]


def test_invalid_twice_is_a_model_error_with_both_attempts() -> None:
    backend, model = scripted({"sides": []}, {"answerable": "perhaps"})
    usage = Usage()
    with pytest.raises(ModelError) as caught:
        structured(backend, Verdict, "subject", usage, question=QUESTION)
    message = str(caught.value)
    assert "scripted-x" in message and "invalid Verdict output twice" in message
    assert "answerable" in message and "\n" not in message
    assert len(caught.value.attempts) == 2 and "perhaps" in caught.value.attempts[1]
    assert (usage.calls, usage.retries, len(model.history)) == (2, 1, 2)


def test_a_transport_error_is_retried_once_with_the_same_messages() -> None:
    backend, model = scripted(connection_error(), VALID)
    usage = Usage()
    assert structured(backend, Verdict, "subject", usage, question=QUESTION) == Verdict(**VALID)
    assert (usage.calls, usage.retries) == (1, 1)  # the failed request returned nothing to count
    assert model.history == [MESSAGES, MESSAGES]


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ((connection_error(), connection_error()), "cannot reach the model server (custom: scripted-x)"),
        ((timeout_error(), timeout_error()), "timed out twice; raise COUNTERPOINT_LLM_TIMEOUT_S"),
        (
            (httpx.ConnectError("refused"), httpx.ConnectError("refused")),
            "failed twice: ConnectError: refused",
        ),
        (({"sides": []}, RuntimeError("boom")), "failed twice: RuntimeError: boom"),
    ],
)
def test_two_failures_are_a_model_error(errors: tuple[Any, Any], expected: str) -> None:
    backend, model = scripted(*errors)
    with pytest.raises(ModelError, match=expected.replace("(", r"\(").replace(")", r"\)")) as caught:
        structured(backend, Verdict, "subject", Usage(), question=QUESTION)
    assert len(caught.value.attempts) == 2 and len(model.history) == 2
    assert isinstance(caught.value.__cause__, Exception)


def test_json_object_method_parses_the_content() -> None:
    backend, model = scripted(
        '{"answerable": false', '{"answerable": false, "sides": []}', method="json_object_schema"
    )
    usage = Usage()
    assert structured(backend, Verdict, "subject", usage, question=QUESTION) == Verdict(answerable=False)
    assert model.tools == [None, None]  # no tools: the schema travels in response_format
    assert "Invalid JSON" in str(model.history[1][-1].content)
    assert usage.calls == 2


def test_conftest_isolation_reaches_settings(isolated_env: Path, settings: Settings) -> None:
    assert settings.data_dir == isolated_env and settings.openai_api_key is None
