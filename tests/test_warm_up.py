"""The first answer is not slower than the rest: the local model starts in the background once the page
is up, the page shows its state, a question asked meanwhile waits for it, `ask` reports its stages,
and the page shows the rules' preliminary answer before the model's."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import wait_until
from typer.testing import CliRunner

from service.cli import app
from service.core import Counterpoint, open_service
from service.errors import SetupError
from service.library import Loaded
from service.llm import Backend, local
from service.llm.fake import HeuristicChatModel
from service.settings import Settings

ARTICLE = (
    "Orlavia's trade minister, Tova Renquist, said Kessmark walked away from the harbour fee talks. "
    "“We offered a fair split of the port dues,” Renquist told reporters.\n\n"
    "Kessmark's spokesman, Bram Palane, said Orlavia demanded control of the pilot service first. "
    "Palane said the fee schedule was never on the table."
)
QUESTION = "Why did the harbour fee talks between Orlavia and Kessmark stall?"


class SlowServer:
    """Stands in for LocalServer: `start` waits until the test lets it finish (or fail)."""

    starts = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.process: Any = None
        self.alias, self.base_url = "fake-local", "http://127.0.0.1:9/v1"

    def start(self) -> SlowServer:
        SlowServer.starts += 1
        if not GATE.wait(timeout=60):
            raise AssertionError("the test never opened the gate")
        if FAIL.is_set():
            raise SetupError("the model would not load")
        self.process = type("Alive", (), {"poll": lambda self: None})()
        return self

    def abort(self) -> None:
        GATE.set()

    def stop(self) -> None:
        self.process = None


GATE, FAIL = threading.Event(), threading.Event()


@pytest.fixture
def slow_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh process-wide server table whose server takes as long as the test wants to start."""
    GATE.clear()
    FAIL.clear()
    SlowServer.starts = 0
    for name in ("_servers", "_starting", "_states", "_warming"):
        monkeypatch.setattr(local, name, {})
    monkeypatch.setattr(local, "_exit_hook", True)  # nothing to stop at exit: no child process
    monkeypatch.setattr(local, "ensure_model", lambda settings, spec: tmp_path / "model.gguf")
    monkeypatch.setattr(local, "LocalServer", SlowServer)
    yield
    GATE.set()


def test_warm_up_starts_in_the_background_and_a_question_waits(slow_server: None, settings: Settings) -> None:
    assert local.state(settings) == "off"
    thread = local.warm_up(settings)
    assert thread is not None and local.state(settings) == "warming up"
    assert local.warm_up(settings) is None, "a second warm-up must not start a second server"
    got: list[Any] = []
    asker = threading.Thread(target=lambda: got.append(local.shared_server(settings)))
    asker.start()
    time.sleep(0.3)
    assert not got, "the question went ahead before the model was ready"
    GATE.set()
    asker.join(timeout=10)
    thread.join(timeout=10)
    assert local.state(settings) == "ready" and got and SlowServer.starts == 1


def test_a_failed_warm_up_is_shown_and_the_next_question_tries_again(
    slow_server: None, settings: Settings
) -> None:
    FAIL.set()
    GATE.set()
    thread = local.warm_up(settings)
    assert thread is not None
    thread.join(timeout=10)
    assert local.state(settings).startswith("failed: the model would not load")
    FAIL.clear()
    assert local.shared_server(settings).alias == "fake-local"
    assert local.state(settings) == "ready" and SlowServer.starts == 2


def test_an_ask_while_the_model_warms_up_waits_and_says_so(
    slow_server: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "local")
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "per_statement")  # the local default calls no model

    def backend(settings: Settings, chat_model: Any = None) -> Backend:
        server = local.shared_server(settings)  # blocks while the warm-up holds the start
        return Backend("local", server.alias, HeuristicChatModel(), "function_calling", "per_statement")

    monkeypatch.setattr("service.core.make_backend", backend)
    stages: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        stages.append(stage)
        if stage == "model: warming up":  # the ask reached the model while it was warming up
            threading.Timer(0.3, GATE.set).start()

    fallback = threading.Timer(30, GATE.set)  # so that a missing message fails the test, not hangs it
    fallback.start()
    with open_service(Settings()) as service:
        service.ingest(Loaded(text=ARTICLE, source="t"))
        service.warm_up()
        assert service.model_state() == "warming up"
        answer = service.ask(QUESTION, on_progress=progress)
    fallback.cancel()
    assert "model: warming up" in stages and stages[-1] == "done"
    assert stages.index("model: warming up") > stages.index("retrieving")
    assert answer.quotes() and all(q.text in ARTICLE for q in answer.quotes())


def test_the_rules_say_when_their_stance_call_starts_the_model(
    slow_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "local")  # the default strategy: rules, and a stance call

    def backend(settings: Settings, chat_model: Any = None) -> Backend:
        server = local.shared_server(settings)  # starts the (slow) server: nothing warmed it up
        return Backend("local", server.alias, HeuristicChatModel(), "function_calling", "rules")

    monkeypatch.setattr("service.core.make_backend", backend)
    stages: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        stages.append(stage)
        if stage == "model: warming up":
            threading.Timer(0.3, GATE.set).start()

    debate = (
        "A night bus would let shift workers get home safely after midnight.\n\n"
        "Running empty night buses would waste money the town needs for daytime routes."
    )
    fallback = threading.Timer(30, GATE.set)
    fallback.start()
    with open_service(Settings()) as service:
        service.ingest(Loaded(text=debate, source="t"))
        assert not service.uses_local_model() and service.model_state() == ""  # no warm-up for rules
        service.ask(
            "Motion: 'The town should run a night bus'. What do backers and critics argue?",
            on_progress=progress,
        )
    fallback.cancel()
    assert "model: warming up" in stages and SlowServer.starts == 1


def test_other_backends_have_no_model_state(settings: Settings) -> None:
    service = Counterpoint(settings.model_copy(update={"backend": "fake"}), store=None)  # type: ignore[arg-type]
    service.warm_up()
    assert service.model_state() == "" and not service.uses_local_model()


# --- the page -----------------------------------------------------------------------------------
def test_model_states_on_the_page() -> None:
    from service.page.ui import model_html

    assert model_html("") == ""
    assert "warming up" in model_html("warming up") and "cp-model-warming" in model_html("warming up")
    assert "Model ready" in model_html("ready")
    failed = model_html("failed: <missing> part")
    assert "cp-model-failed" in failed and "&lt;missing&gt;" in failed


def test_serve_warms_the_model_once_the_page_is_up(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.page import ui

    calls: list[str] = []

    class Demo:
        def queue(self, **kwargs: Any) -> Demo:
            return self

        def launch(self, **kwargs: Any) -> None:
            calls.append(f"launch prevent_thread_lock={kwargs.get('prevent_thread_lock')}")

        def block_thread(self) -> None:
            calls.append("block")

    monkeypatch.setattr(ui.Page, "build", lambda self: Demo())
    monkeypatch.setattr(Counterpoint, "warm_up", lambda self: calls.append("warm up"))
    ui.serve(settings)
    assert calls == ["launch prevent_thread_lock=True", "warm up", "block"]


def test_the_page_shows_the_preliminary_answer_first(settings: Settings) -> None:
    from service.page.ui import Page

    fake = settings.model_copy(update={"backend": "fake"})
    with open_service(fake) as service:
        service.ingest(Loaded(text=ARTICLE, source="t"))
        outputs = list(Page(service).on_ask_live(QUESTION, "default", False, progress=lambda *a, **k: None))
    assert len(outputs) == 2
    (early_html, early, *_), (final_html, final, *_) = outputs
    assert early.preliminary and early.stats.llm_calls == 0 and "Preliminary answer" in early_html
    assert not final.preliminary and final_html != early_html


def test_no_preliminary_answer_when_the_models_answer_is_stored(settings: Settings) -> None:
    fake = settings.model_copy(update={"backend": "fake"})
    with open_service(fake) as service:
        service.ingest(Loaded(text=ARTICLE, source="t"))
        assert service.preliminary(QUESTION) is not None  # nothing stored yet
        service.ask(QUESTION)
        assert service.preliminary(QUESTION) is None  # the stored answer comes at once
        assert service.preliminary(QUESTION, use_cache=False) is not None
        assert service.preliminary("  " + QUESTION.upper()) is not None  # another question


# --- the command line ---------------------------------------------------------------------------
def test_ask_prints_one_line_per_stage_and_keeps_json_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    with open_service(Settings()) as service:
        service.ingest(Loaded(text=ARTICLE, source="t"))
    result = CliRunner().invoke(app, ["ask", QUESTION, "--json", "--no-cache"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["question"] == QUESTION
    lines = result.stderr.splitlines()
    stages = [re.fullmatch(r"\[\s*\d+\.\d+s\] (.+)", line) for line in lines]
    assert all(stages), lines
    names = [m.group(1) for m in stages if m]
    assert names[0] == "retrieving" and names[-1] == "done" and "verifying" in names
    assert len(names) == len(set(names)), f"a stage was printed twice: {names}"


# --- the model server never outlives its parent ---------------------------------------------------
def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state


def test_the_model_server_ends_when_its_parent_is_killed() -> None:
    # The same guard, around a stand-in server (a real one would load a gigabyte of model).
    guard = local.ORPHAN_GUARD.replace('"llama_cpp.server"', '"http.server"')
    parent_code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', {guard!r}, '--bind', '127.0.0.1', '0'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        time.sleep(1.5)
        assert _running(child), "the guarded server did not start"
        parent.kill()  # SIGKILL: no atexit, no cleanup in the parent
        parent.wait(timeout=10)
        assert wait_until(lambda: not _running(child), timeout=15), "the server outlived its parent"
    finally:
        if _running(child):
            os.kill(child, signal.SIGKILL)
