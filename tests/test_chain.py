"""Tests for the chain over the real ingest, store and retrieval, with scripted chat models: ids to
exact quotes, dropped ids, abstention, the re-ask, transport retries, kinds, stats and the
heuristic model. The answer cache is in test_answer_cache.py; injection, the question's subject and
the stance call in test_chain_rules.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from click.testing import Result
from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from service.cli import app
from service.core import Counterpoint, open_service
from service.library import load_file
from service.llm import prompts
from service.llm.fake import HeuristicChatModel, ScriptedChatModel
from service.models import Comparison, Document
from service.settings import Settings

QUESTION = "Why did the Istanbul talks between Afghanistan and Pakistan fail?"
# Sentences of the seed article, by side (fragments: the statement ids are looked up in the prompt).
ASIF_QUOTE = "The Afghan delegation wanted verbal guarantees"
ASIF_NO_VERBAL = "would not accept any informal, verbal assurances"
MUJAHID_QUOTE = "the Pakistani side tried to place the entire responsibility"
MUJAHID_STANCE = "irresponsible and uncooperative"
TARAR_OPTIONS = "Pakistan will continue to exercise all necessary options"
NARROW = "verbal guarantees, but that is impossible in international negotiations"
OTHER_ARTICLE = (
    "Ferry fares rise in Northport\n\n"
    "The Northport ferry operator said on Monday that fares would rise by ten percent in June. "
    "Passenger groups said the increase was unfair to commuters who have no other way to cross."
)

Reply = Callable[[list[BaseMessage], "str | None"], Any]


# --- helpers ------------------------------------------------------------------------------------
def prompt_text(messages: list[BaseMessage]) -> str:
    """Everything the model was sent, as one string."""
    return "\n".join(str(m.content) for m in messages)


def sid(prompt: str, fragment: str) -> str:
    """The id of the statement that holds `fragment`: the last statement id before it in the prompt."""
    at = prompt.find(fragment)
    assert at >= 0, f"no statement with {fragment!r} was sent to the model"
    ids = re.findall(r"\b(S\d+)\b", prompt[:at])
    assert ids, f"no statement id before {fragment!r}"
    return ids[-1]


def ids_in(prompt: str) -> set[str]:
    return set(re.findall(r"\b(S\d+)\b", prompt))


def answer_from(points: list[dict[str, Any]], extra_sides: tuple[str, ...] = ()) -> Reply:
    """A Draft reply built from the prompt; a citation is (fragment, span) or a literal id."""

    def reply(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
        prompt = prompt_text(messages)

        def citation(c: str | tuple[str, str]) -> dict[str, str]:
            if isinstance(c, tuple):
                return {"id": sid(prompt, c[0]), "span": c[1]}
            return {"id": c if re.fullmatch(r"S\d+", c) else sid(prompt, c), "span": ""}

        return {
            "answerable": True,
            "reason": "",
            "sides": [
                {"name": "Pakistan", "speakers": ["Khawaja Asif", "Attaullah Tarar"]},
                {"name": "Afghanistan", "speakers": ["Zabihullah Mujahid"]},
                *({"name": s, "speakers": []} for s in extra_sides),
            ],
            "points": [
                {
                    "topic": p["topic"],
                    "kind": p["kind"],
                    "accounts": [
                        {
                            "side": side,
                            "claim": f"{side}'s account",
                            "citations": [citation(c) for c in cites],
                        }
                        for side, cites in p["accounts"].items()
                    ],
                }
                for p in points
            ],
        }

    return reply


FULL_ANSWER = [
    {
        "topic": "Why the talks failed",
        "kind": "contradiction",
        "accounts": {
            "Pakistan": [(ASIF_QUOTE, NARROW), ASIF_NO_VERBAL, "S999"],
            "Afghanistan": [MUJAHID_QUOTE, MUJAHID_STANCE, MUJAHID_STANCE],
        },
    },
    {  # claimed as a contradiction, but only one side speaks to it
        "topic": "What comes next",
        "kind": "contradiction",
        "accounts": {"Pakistan": [TARAR_OPTIONS]},
    },
]


def full_answer() -> Reply:
    return answer_from(FULL_ANSWER)


def not_answerable(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
    return {"answerable": False, "reason": "These statements are about cricket.", "sides": [], "points": []}


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


def assert_exact(result: Comparison, docs: dict[str, Document]) -> None:
    """Every quote is its document's text at its offsets."""
    for q in result.quotes():
        assert docs[q.doc].text[q.start : q.end] == q.text, q


@dataclass
class Chain:
    """An open service over the seed article, answering with a scripted model."""

    service: Counterpoint
    model: ScriptedChatModel
    doc: Document
    settings: Settings

    def ask(self, *replies: Any, use_cache: bool = True, question: str = QUESTION) -> Comparison:
        """Queue `replies` and ask."""
        self.model.enqueue(replies)
        result = self.service.ask(question, use_cache=use_cache)
        assert self.model.script == [], "the chain did not use every scripted reply"
        return result


@pytest.fixture
def batch_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for the one-call strategy."""
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
    return Settings()


@contextmanager
def open_chain(settings: Settings, seed_path: Path) -> Iterator[Chain]:
    """The seed article ingested into a fresh data dir; the service answers with a scripted model."""
    model = ScriptedChatModel()
    with open_service(settings, chat_model=model) as service:
        meta = service.ingest(load_file(seed_path, settings)).meta
        yield Chain(service, model, service.document(meta.id), settings)


@pytest.fixture
def chain(batch_settings: Settings, seed_path: Path) -> Iterator[Chain]:
    with open_chain(batch_settings, seed_path) as opened:
        yield opened


# --- a full answer ------------------------------------------------------------------------------
def test_one_call_gives_a_full_verified_answer(chain: Chain) -> None:
    result = chain.ask(full_answer())
    assert not result.abstained and result.reason == ""
    assert [s.name for s in result.sides] == ["Pakistan", "Afghanistan"]
    speakers = {s.name: s.speakers for s in result.sides}
    assert "Khawaja Asif" in speakers["Pakistan"] and "Attaullah Tarar" in speakers["Pakistan"]
    assert "Zabihullah Mujahid" in speakers["Afghanistan"]

    failed, after = result.points
    assert (failed.topic, failed.kind) == ("Why the talks failed", "contradiction")
    assert (after.kind, list(after.accounts)) == ("one_side_only", ["Pakistan"])
    pk = [q.text for q in failed.accounts["Pakistan"].quotes]
    af = [q.text for q in failed.accounts["Afghanistan"].quotes]
    assert pk[0] == NARROW  # the span, narrowed exactly
    assert ASIF_NO_VERBAL in pk[1] and len(pk) == 2  # S999 is not a statement
    assert len(af) == 2 and MUJAHID_QUOTE in af[0] and MUJAHID_STANCE in af[1]  # the duplicate is gone
    assert TARAR_OPTIONS in after.accounts["Pakistan"].quotes[0].text

    text = chain.doc.text
    for q in result.quotes():
        assert text[q.start : q.end] == q.text
        assert (q.doc, q.title) == (chain.doc.meta.id, chain.doc.meta.title)
    # A whole-statement quote is a whole sentence of the article, not a piece of one.
    whole = failed.accounts["Afghanistan"].quotes[1]
    assert text[whole.start - 1] == " " and text[whole.end - 1] == "”"


def test_stats_describe_the_answer(chain: Chain) -> None:
    result = chain.ask(full_answer())
    stats = result.stats
    [request] = chain.model.history
    prompt = prompt_text(request)
    assert QUESTION in prompt and chain.model.tools == ["Draft"]
    assert (stats.backend, stats.model, stats.strategy) == ("custom", "scripted", "batch")
    assert stats.prompt_version == prompts.version()
    assert (stats.llm_calls, stats.retries, stats.dropped_ids, stats.cached) == (1, 0, 1, False)
    assert stats.prompt_tokens == sum(len(str(m.content)) for m in request) // 4
    assert stats.completion_tokens > 0 and stats.latency_s > 0
    numbers = sorted(int(i[1:]) for i in ids_in(prompt))
    assert stats.statements == numbers[-1] >= 10  # S1..Sn, all sent


def test_progress_is_reported_in_order(chain: Chain) -> None:
    seen: list[tuple[str, float]] = []
    chain.model.enqueue([full_answer()])
    chain.service.ask(QUESTION, on_progress=lambda stage, fraction: seen.append((stage, fraction)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and seen[-1] == ("done", 1.0) and len(seen) >= 3


def test_invented_ids_and_sides_alone_abstain(chain: Chain) -> None:
    reply = answer_from(
        [
            {
                "topic": "t",
                "kind": "contradiction",
                "accounts": {"Pakistan": ["S998", "S999"], "Moon": [ASIF_QUOTE]},
            }
        ]
    )
    result = chain.ask(reply)
    assert result.abstained and "verified" in result.reason
    assert result.points == [] and result.sides == []
    assert result.stats.dropped_ids == 3 and result.stats.llm_calls == 1


# --- the re-ask and failures --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("invalid", "error"),
    [
        ({"sides": [], "points": []}, "Field required"),
        ({"answerable": "sometimes", "sides": [], "points": []}, "valid boolean"),
        ({"answerable": True, "points": [{"topic": "t", "kind": "war", "accounts": []}]}, "points.0.kind"),
    ],
)
def test_invalid_output_is_re_asked_once(chain: Chain, invalid: dict[str, Any], error: str) -> None:
    result = chain.ask(invalid, full_answer())
    assert not result.abstained and len(result.points) == 2
    assert (result.stats.llm_calls, result.stats.retries) == (2, 1)
    first, second = chain.model.history
    assert second[: len(first)] == first
    assert error in str(second[-1].content)  # the error is shown to the model
    tokens = sum(len(str(m.content)) for m in first) // 4 + sum(len(str(m.content)) for m in second) // 4
    assert result.stats.prompt_tokens == tokens


def test_invalid_twice_falls_back_to_the_rules_and_is_not_cached(chain: Chain) -> None:
    result = chain.ask({"sides": []}, {"answerable": "sometimes"})
    assert result.partial and not result.abstained and result.points  # the rules' answer, marked
    [note] = result.notes
    assert "invalid Draft output twice" in note and "answerable" in note and "\n" not in note
    result = chain.ask(full_answer())  # the partial answer was not cached
    assert not result.stats.cached and not result.partial and len(chain.model.history) == 3


def test_a_transport_error_is_retried_once(chain: Chain) -> None:
    result = chain.ask(connection_error(), full_answer())
    assert not result.abstained
    assert (result.stats.llm_calls, result.stats.retries) == (1, 1)
    assert chain.model.history[0] == chain.model.history[1]  # the same request again


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ((connection_error(), connection_error()), "cannot reach the model server"),
        ((httpx.ConnectError("refused"), httpx.ConnectError("refused")), "ConnectError: refused"),
    ],
)
def test_two_transport_errors_fall_back_to_the_rules_with_the_reason(
    chain: Chain, errors: tuple[Exception, ...], expected: str
) -> None:
    result = chain.ask(*errors)
    assert result.partial and expected in result.notes[0] and len(chain.model.history) == 2


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_cli_shows_a_partial_answer_with_its_reason(
    batch_settings: Settings, seed_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_service(batch_settings) as service:
        service.ingest(load_file(seed_path, batch_settings))
    model = ScriptedChatModel().enqueue([{"sides": []}, {"answerable": "sometimes"}])
    real_open = open_service

    def scripted_service(settings: Settings, chat_model: Any = None) -> Any:
        return real_open(settings, chat_model=model)

    monkeypatch.setattr("service.core.open_service", scripted_service)
    result = cli("ask", QUESTION, "--json")
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["partial"] and "twice" in answer["notes"][0] and len(model.history) == 2


# --- abstention ---------------------------------------------------------------------------------
def test_the_models_abstention_keeps_its_reason(chain: Chain) -> None:
    result = chain.ask(not_answerable)
    assert result.abstained and result.reason == "These statements are about cricket."
    assert result.sides == [] and result.points == []
    assert result.stats.llm_calls == 1


def test_empty_collection_abstains_without_a_call(batch_settings: Settings) -> None:
    model = ScriptedChatModel()
    with open_service(batch_settings, chat_model=model) as service:
        result = service.ask(QUESTION)
        other = service.ask(QUESTION, collection="elsewhere")
    for r in (result, other):
        assert r.abstained and "no documents" in r.reason
        assert r.stats.llm_calls == 0 and r.stats.statements == 0
    assert model.history == []


def test_nothing_relevant_abstains_without_a_call(seed_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
    monkeypatch.setenv("COUNTERPOINT_MIN_RELEVANCE", "0.99")
    settings = Settings()
    model = ScriptedChatModel()
    with open_service(settings, chat_model=model) as service:
        service.ingest(load_file(seed_path, settings))
        result = service.ask(QUESTION)
    assert result.abstained and "relevant" in result.reason
    assert result.stats.llm_calls == 0 and model.history == []


# --- the per-statement strategy (plumbing only) --------------------------------------------------
@pytest.mark.parametrize("how", ["fake-backend", "heuristic-batch"])
def test_heuristic_model_answers_the_seed(how: str, seed_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chat: HeuristicChatModel | None = None
    if how == "fake-backend":
        monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    else:
        monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
        chat = HeuristicChatModel()
    settings = Settings()
    with open_service(settings, chat_model=chat) as service:
        meta = service.ingest(load_file(seed_path, settings)).meta
        result = service.ask(QUESTION)
        doc = service.document(meta.id)
    expected = ("fake", "per_statement") if how == "fake-backend" else ("custom", "batch")
    assert (result.stats.backend, result.stats.strategy) == expected
    assert not result.abstained and result.stats.llm_calls >= 1
    assert result.sides and result.points and result.quotes()
    side_names = {s.name for s in result.sides}
    for point in result.points:
        assert point.accounts and set(point.accounts) <= side_names
        assert all(a.quotes for a in point.accounts.values())
        assert (point.kind == "one_side_only") == (len(point.accounts) == 1)
    assert_exact(result, {doc.meta.id: doc})
