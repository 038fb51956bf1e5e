"""Tests for service/llm/: backend selection from the environment, secrets kept out of sight, and
`structured()` (validated output, one re-ask with the error, transport retries, ModelError)."""

from __future__ import annotations

from typing import cast

import pytest

from service.core import Counterpoint
from service.errors import SetupError
from service.library.store import Store
from service.llm import Backend, BackendInfo, describe_backend
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
        ({}, "local", "qwen2.5-coder-1.5b", "rules"),
        ({"COUNTERPOINT_LOCAL_MODEL": "0.5b"}, "local", "qwen2.5-coder-0.5b", "rules"),
        ({"OPENAI_API_KEY": KEY}, "openai", llm.DEFAULT_OPENAI_MODEL, "refine"),
        ({"OPENAI_API_KEY": KEY, "COUNTERPOINT_MODEL": "gpt-4.1"}, "openai", "gpt-4.1", "refine"),
        (
            {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "COUNTERPOINT_MODEL": "qwen"},
            "compatible",
            "qwen",
            "refine",
        ),
        (  # a base URL wins over a key: the key is for that server
            {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1", "OPENAI_API_KEY": KEY, "COUNTERPOINT_MODEL": "m"},
            "compatible",
            "m",
            "refine",
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
            "rules",
        ),
        (
            {
                "COUNTERPOINT_BACKEND": "openai",
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
            },
            "openai",
            llm.DEFAULT_OPENAI_MODEL,
            "refine",
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
        "refine",
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
