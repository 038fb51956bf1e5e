"""The seed tests' twins for the chain (test_chain.py) on the invented article in tests/data/: every
clone has it, while the seed tests skip without ../shared. Over the real ingest, store and
retrieval, with scripted chat models: ids to exact quotes, dropped ids, abstention, the re-ask,
transport retries, stats, progress, the answer cache and what misses it, and the heuristic model.
test_invented_compatible.py reuses the scripted answer over HTTP."""

from __future__ import annotations

import importlib
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from conftest import INVENTED, INVENTED_QUESTION
from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from service.cli import app
from service.core import Counterpoint, open_service
from service.library import Loaded, load_file
from service.llm import prompts
from service.llm.fake import HeuristicChatModel, ScriptedChatModel
from service.models import Comparison, Document
from service.settings import Settings

QUESTION = INVENTED_QUESTION
COMPANY, UNION = "Corvale Rail", "Quillbrook Signallers' Union"
# Sentences of the invented article, by side (fragments: the statement ids are looked up in the prompt).
OFFER = "had put a written offer of a 6 percent rise"
OFFERED = "We offered more than any operator in the region"
NARROW = "in writing, and the union walked away from it"
NO_OFFER = "no written offer had ever reached"
SLIDE = "There was a figure on a slide"
TIMETABLE = "would run a reduced timetable during the strike"
OTHER_ARTICLE = (
    "Bus fares rise in Harwick\n\n"
    "The Harwick bus operator said on Monday that fares would rise by ten percent in June. "
    "Passenger groups said the increase was unfair to riders who have no other way to travel."
)


# --- helpers ------------------------------------------------------------------------------------
def prompt_text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages)


def sid(prompt: str, fragment: str) -> str:
    """The id of the statement that holds `fragment`: the last statement id before it in the prompt."""
    at = prompt.find(fragment)
    assert at >= 0, f"no statement with {fragment!r} was sent to the model"
    return re.findall(r"\b(S\d+)\b", prompt[:at])[-1]


def draft(points: list[dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """A Draft built from the prompt; a citation is (fragment, span), a fragment or a literal id."""

    def build(prompt: str) -> dict[str, Any]:
        def citation(c: str | tuple[str, str]) -> dict[str, str]:
            if isinstance(c, tuple):
                return {"id": sid(prompt, c[0]), "span": c[1]}
            return {"id": c if re.fullmatch(r"S\d+", c) else sid(prompt, c), "span": ""}

        return {
            "answerable": True,
            "reason": "",
            "sides": [
                {"name": COMPANY, "speakers": ["Tamsin Orrery", "Ansel Fenwick"]},
                {"name": UNION, "speakers": ["Tobiah Pryce"]},
            ],
            "points": [
                {"topic": p["topic"], "kind": p["kind"], "accounts": [
                    {"side": side, "claim": f"{side}'s account", "citations": [citation(c) for c in cites]}
                    for side, cites in p["accounts"].items()
                ]}
                for p in points
            ],
        }  # fmt: skip

    return build


FULL = draft(
    [
        {
            "topic": "The written offer",
            "kind": "contradiction",
            "accounts": {COMPANY: [(OFFERED, NARROW), OFFER, "S999"], UNION: [NO_OFFER, SLIDE, SLIDE]},
        },
        {"topic": "What comes next", "kind": "contradiction", "accounts": {COMPANY: [TIMETABLE]}},
    ]
)


def full_answer(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
    return FULL(prompt_text(messages))


def not_answerable(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
    return {"answerable": False, "reason": "These statements are about cricket.", "sides": [], "points": []}


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


@dataclass
class Chain:
    """An open service over the invented article, answering with a scripted model."""

    service: Counterpoint
    model: ScriptedChatModel
    doc: Document
    settings: Settings

    def ask(self, *replies: Any, use_cache: bool = True, question: str = QUESTION) -> Comparison:
        self.model.enqueue(replies)
        result = self.service.ask(question, use_cache=use_cache)
        assert self.model.script == [], "the chain did not use every scripted reply"
        return result


@pytest.fixture
def batch_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
    return Settings()


@pytest.fixture
def chain(batch_settings: Settings) -> Iterator[Chain]:
    model = ScriptedChatModel()
    with open_service(batch_settings, chat_model=model) as service:
        meta = service.ingest(load_file(INVENTED, batch_settings)).meta
        yield Chain(service, model, service.document(meta.id), batch_settings)


# --- a full answer (test_chain: the seed's full answer, stats, progress, invented ids) -----------
def test_one_call_gives_a_full_verified_answer_on_the_invented_article(chain: Chain) -> None:
    result = chain.ask(full_answer)
    assert not result.abstained and [s.name for s in result.sides] == [COMPANY, UNION]
    assert "Tamsin Orrery" in result.sides[0].speakers and "Tobiah Pryce" in result.sides[1].speakers
    offer, after = result.points
    assert (offer.topic, offer.kind) == ("The written offer", "contradiction")
    assert (after.kind, list(after.accounts)) == ("one_side_only", [COMPANY])
    company = [q.text for q in offer.accounts[COMPANY].quotes]
    union = [q.text for q in offer.accounts[UNION].quotes]
    assert company[0] == NARROW and OFFER in company[1] and len(company) == 2  # narrowed; S999 dropped
    assert len(union) == 2 and NO_OFFER in union[0] and SLIDE in union[1]  # the duplicate is gone
    assert TIMETABLE in after.accounts[COMPANY].quotes[0].text
    text = chain.doc.text
    for q in result.quotes():
        assert text[q.start : q.end] == q.text and (q.doc, q.title) == (
            chain.doc.meta.id,
            chain.doc.meta.title,
        )
    whole = offer.accounts[UNION].quotes[1]  # a whole statement is a whole sentence
    assert text[whole.start - 1] == " " and text[whole.start] == "“" and text[whole.end - 1] == "."


def test_stats_and_progress_describe_the_invented_answer(chain: Chain) -> None:
    seen: list[tuple[str, float]] = []
    chain.model.enqueue([full_answer])
    result = chain.service.ask(QUESTION, on_progress=lambda stage, fraction: seen.append((stage, fraction)))
    assert [f for _, f in seen] == sorted(f for _, f in seen) and seen[-1] == ("done", 1.0)
    [request] = chain.model.history
    prompt = prompt_text(request)
    stats = result.stats
    assert QUESTION in prompt and chain.model.tools == ["Draft"]
    assert (stats.backend, stats.model, stats.strategy) == ("custom", "scripted", "batch")
    assert stats.prompt_version == prompts.version()
    assert (stats.llm_calls, stats.retries, stats.dropped_ids, stats.cached) == (1, 0, 1, False)
    assert stats.prompt_tokens == sum(len(str(m.content)) for m in request) // 4
    numbers = sorted(int(i[1:]) for i in re.findall(r"\b(S\d+)\b", prompt))
    assert stats.statements == numbers[-1] >= 10


def test_invented_ids_and_sides_alone_abstain_on_the_invented_article(chain: Chain) -> None:
    moon = draft([{"topic": "t", "kind": "contradiction", "accounts": {COMPANY: ["S998", "S999"]}}])

    def reply(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
        answer = moon(prompt_text(messages))
        answer["points"][0]["accounts"].append(
            {"side": "Moon", "claim": "c", "citations": [{"id": "S1", "span": ""}]}
        )
        return answer

    result = chain.ask(reply)
    assert result.abstained and "verified" in result.reason and result.points == []
    assert result.stats.dropped_ids == 3 and result.stats.llm_calls == 1


# --- the re-ask, transport failures and abstention (test_chain) ----------------------------------
@pytest.mark.parametrize(
    ("invalid", "error"),
    [
        ({"sides": [], "points": []}, "Field required"),
        ({"answerable": "sometimes", "sides": [], "points": []}, "valid boolean"),
        ({"answerable": True, "points": [{"topic": "t", "kind": "war", "accounts": []}]}, "points.0.kind"),
    ],
)
def test_invalid_output_is_re_asked_once_on_the_invented_article(
    chain: Chain, invalid: dict[str, Any], error: str
) -> None:
    result = chain.ask(invalid, full_answer)
    assert not result.abstained and len(result.points) == 2
    assert (result.stats.llm_calls, result.stats.retries) == (2, 1)
    first, second = chain.model.history
    assert second[: len(first)] == first and error in str(second[-1].content)


def test_invalid_twice_keeps_the_rules_answer_on_the_invented_article(chain: Chain) -> None:
    result = chain.ask({"sides": []}, {"answerable": "sometimes"})
    assert result.partial and not result.abstained and result.points
    assert "invalid Draft output twice" in result.notes[0]
    assert {s.name for s in result.sides} >= {"Corvale Rail"}  # the rules' sides
    result = chain.ask(full_answer)  # the partial answer was not cached
    assert not result.stats.cached and not result.partial


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ((connection_error(),), ""),
        ((connection_error(), connection_error()), "cannot reach the model server"),
        ((httpx.ConnectError("refused"), httpx.ConnectError("refused")), "ConnectError: refused"),
    ],
)
def test_transport_errors_on_the_invented_article(
    chain: Chain, errors: tuple[Exception, ...], expected: str
) -> None:
    if expected:  # twice: the rules' answer, with the reason
        result = chain.ask(*errors)
        assert result.partial and expected in result.notes[0] and len(chain.model.history) == 2
    else:  # once: retried, and answered
        result = chain.ask(*errors, full_answer)
        assert not result.abstained and (result.stats.llm_calls, result.stats.retries) == (1, 1)
        assert chain.model.history[0] == chain.model.history[1]


def test_the_models_abstention_keeps_its_reason_on_the_invented_article(chain: Chain) -> None:
    result = chain.ask(not_answerable)
    assert result.abstained and result.reason == "These statements are about cricket."
    assert result.sides == [] and result.points == [] and result.stats.llm_calls == 1


def test_cli_shows_a_partial_answer_on_the_invented_article(
    batch_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_service(batch_settings) as service:
        service.ingest(load_file(INVENTED, batch_settings))
    model = ScriptedChatModel().enqueue([{"sides": []}, {"answerable": "sometimes"}])
    real_open = open_service
    monkeypatch.setattr(
        "service.core.open_service", lambda s, chat_model=None: real_open(s, chat_model=model)
    )
    result = CliRunner().invoke(app, ["ask", QUESTION, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["partial"] and "twice" in answer["notes"][0] and len(model.history) == 2


def test_nothing_relevant_abstains_without_a_call_on_the_invented_article(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
    monkeypatch.setenv("COUNTERPOINT_MIN_RELEVANCE", "0.99")
    settings = Settings()
    model = ScriptedChatModel()
    with open_service(settings, chat_model=model) as service:
        service.ingest(load_file(INVENTED, settings))
        result = service.ask(QUESTION)
    assert result.abstained and "relevant" in result.reason
    assert result.stats.llm_calls == 0 and model.history == []


# --- the answer cache (test_chain) ---------------------------------------------------------------
def test_the_cache_on_the_invented_article(chain: Chain) -> None:
    """The same question (spaced out) is cached, across services too; use_cache=False asks again."""
    first = chain.ask(full_answer)
    second = chain.ask(question=f"  {QUESTION.replace(' ', '   ')} ")
    assert second.stats.cached and not first.stats.cached and len(chain.model.history) == 1
    assert second.model_dump(exclude={"stats"}) == first.model_dump(exclude={"stats"})
    silent = ScriptedChatModel()  # any call would fail: its script is empty
    again = Counterpoint(chain.settings, chain.service.store, silent).ask(QUESTION)
    assert again.stats.cached and silent.history == [] and again.points == first.points
    assert chain.ask(not_answerable, use_cache=False).abstained and len(chain.model.history) == 2


def test_what_misses_the_cache_on_the_invented_article(chain: Chain) -> None:
    """A new or deleted document, another question or another collection."""
    first = chain.ask(full_answer)
    extra = chain.service.ingest(Loaded(text=OTHER_ARTICLE, source="test", title="Bus fares")).meta
    with_extra = chain.ask(full_answer)
    assert not with_extra.stats.cached
    chain.service.delete(extra.id)  # the first set of documents again: its own answer, not the other's
    again = chain.ask()
    assert again.stats.cached and again.points == first.points
    assert not chain.ask(full_answer, question="Who is to blame for the failed pay talks?").stats.cached
    chain.service.ingest(load_file(INVENTED, chain.settings), collection="copy")
    chain.model.enqueue([full_answer])
    assert not chain.service.ask(QUESTION, collection="copy").stats.cached


def test_a_prompt_or_code_change_misses_the_cache_on_the_invented_article(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = importlib.import_module("service.chain.answer")
    chain.ask(full_answer)
    copy = tmp_path / "prompts"
    shutil.copytree(prompts.prompt_dir(), copy)
    batch = copy / "batch.yaml"
    batch.write_text(batch.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with monkeypatch.context() as patched:
        patched.setattr(prompts, "_CANDIDATES", (copy,))
        prompts.load.cache_clear()
        prompts.version.cache_clear()
        try:
            result = chain.ask(full_answer)
        finally:
            patched.undo()
            prompts.load.cache_clear()
            prompts.version.cache_clear()
    assert not result.stats.cached and result.stats.prompt_version != prompts.version()
    assert chain.ask().stats.cached  # the first prompts' answer, under their own version
    monkeypatch.setattr(answer, "code_version", lambda: "another-release")
    assert not chain.ask(full_answer).stats.cached


# --- the heuristic model (test_chain) ----------------------------------------------------------
@pytest.mark.parametrize("how", ["fake-backend", "heuristic-batch"])
def test_heuristic_model_answers_the_invented_article(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    chat: HeuristicChatModel | None = None
    if how == "fake-backend":
        monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    else:
        monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
        chat = HeuristicChatModel()
    settings = Settings()
    with open_service(settings, chat_model=chat) as service:
        meta = service.ingest(load_file(INVENTED, settings)).meta
        result = service.ask(QUESTION)
        doc = service.document(meta.id)
    expected = ("fake", "per_statement") if how == "fake-backend" else ("custom", "batch")
    assert (result.stats.backend, result.stats.strategy) == expected
    assert not result.abstained and result.stats.llm_calls >= 1 and result.quotes()
    side_names = {s.name for s in result.sides}
    for point in result.points:
        assert point.accounts and set(point.accounts) <= side_names
        assert all(a.quotes for a in point.accounts.values())
        assert (point.kind == "one_side_only") == (len(point.accounts) == 1)
    assert all(doc.text[q.start : q.end] == q.text for q in result.quotes())
