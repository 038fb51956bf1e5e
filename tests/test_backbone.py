"""The rules' backbone (sides, placement, the remaining voice, the lined-up draft), the per-statement
strategy on it, and sides heard on the question: pure unit tests on invented sentences, no model but
scripted ones. Split from test_rules.py, which keeps attribution and placement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_rules import ARTICLE, QUESTION, Q, _statements, _stmt, _vectors

from service.chain.draft import Outcome
from service.chain.points import lineup
from service.chain.points.wording import claim_from, topics
from service.chain.retrieve import Retrieved, subject_fit
from service.chain.sides import backbone as rules
from service.chain.sides.question import question_subject, unmentioned
from service.chain.strategies import Job, per_statement
from service.errors import ModelError
from service.llm import Backend, Usage
from service.llm.fake import ScriptedChatModel
from service.wording import reads_own


# --- the backbone -------------------------------------------------------------------------------
def test_backbone_places_speakers_and_leaves_the_rest_open() -> None:
    statements, affiliations = _statements()
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    by_text = {s.text[:20]: bone.labels.get(s.sid) for s in statements}
    assert bone.sides == ["Ruritanian Ministry of Ports", "dockworkers' union"]
    assert by_text["Ana Ruse, the minist"] == "Ruritanian Ministry of Ports"
    assert by_text["“We tabled a fair of"] == "Ruritanian Ministry of Ports"  # "Ruse said", surname
    assert by_text["Union leader Karl Od"] == "dockworkers' union"
    assert by_text["“There was no offer "] == "dockworkers' union"  # "he said"
    assert by_text["The ferries carry ab"] is None  # narration
    assert by_text["A harbour historian,"] is None  # an outside expert
    assert not bone.reason


def test_backbone_draft_pairs_the_sides_with_claims_from_their_own_quotes() -> None:
    statements, affiliations = _statements()
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    draft = lineup.draft(bone, statements, _vectors(statements))
    assert draft.answerable and {s.name for s in draft.sides} == set(bone.sides)
    by_id = {s.sid: s.text for s in statements}
    for point in draft.points:
        assert point.topic and point.kind in ("contradiction", "different_emphasis", "one_side_only")
        quotes = {a.side: [by_id[c.id] for c in a.citations] for a in point.accounts}
        for account in point.accounts:
            others = [q for side, q in quotes.items() if side != account.side]
            if others:
                assert reads_own(account.claim, quotes[account.side], others) in (1.0, None)


def test_a_headline_places_its_speaker_but_is_never_cited() -> None:
    text = "Union says ministry never put its offer on paper\n\n" + ARTICLE.split("\n\n", 1)[1]
    statements, affiliations = _statements(text)
    headline = statements[0]
    assert headline.heading and not any(s.heading for s in statements[1:])
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    assert bone.labels.get(headline.sid) == "dockworkers' union"  # read for who speaks
    draft = lineup.draft(bone, statements, _vectors(statements))
    cited = {c.id for p in draft.points for a in p.accounts for c in a.citations}
    assert cited and headline.sid not in cited


def test_a_side_heard_only_in_a_headline_has_nothing_to_quote() -> None:
    text = (
        "Union says ministry never put its offer on paper\n\n"
        "Ana Ruse, the ministry's chief negotiator, said the dockworkers' union had rejected an offer. "
        "“We tabled a fair offer and they walked away,” Ruse said."
    )
    statements, affiliations = _statements(text)
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    assert set(bone.labels.values()) == {"Ruritanian Ministry of Ports", "dockworkers' union"}
    draft = lineup.draft(bone, statements, _vectors(statements))
    assert not draft.answerable and draft.reason.startswith("only Ruritanian Ministry of Ports's account")


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        (
            "How do Ruritania and Borduria differ over the sharing of the river's water?",
            ["sharing", "river", "water"],
        ),
        ("How do Ruritania and Borduria differ over the ferry talks?", []),  # "talks" is carried
        ("What does each say about why the Orvel talks failed?", []),  # "talk" is carried by "talks"
        ("How do Ruritania and Borduria differ over the ferry timetable?", []),  # half is enough
        ("Why did Ruritania and Borduria fall out?", []),  # names no matter: never refused here
        ("How do Ruritania and Borduria differ in their accounts?", []),  # "in" names no matter
        ("How do Ruritania and Borduria differ over Orvel?", []),  # one word missing: not enough
        ("How do Ruritania and Borduria differ over Orvel's dam quota?", ["orvel", "quota"]),
        # Fewer than half of the matter's words carried: another matter.
        (
            "How do Ruritania and Borduria differ over the ferry timetable's winter budget?",
            ["timetable", "budget"],  # "winter" is a date: when, not what
        ),
    ],
)
def test_a_matter_the_documents_never_mention(question: str, missing: list[str]) -> None:
    texts = ["Ruritania said the ferry talks had failed.", "Borduria blamed Ruritania for the fares."]
    assert unmentioned(Q(question), texts) == missing


def test_subject_fit_is_low_only_when_the_statements_are_about_something_else() -> None:
    rng = np.random.default_rng(0)
    topic, other = rng.normal(size=64), rng.normal(size=64)
    unit = np.stack([topic + rng.normal(scale=0.8, size=64) for _ in range(8)])
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    on = topic + rng.normal(scale=0.8, size=64)
    assert subject_fit(unit, on / np.linalg.norm(on)) > 0.8
    assert subject_fit(unit, other / np.linalg.norm(other)) < 0.3
    assert subject_fit(unit[:2], other / np.linalg.norm(other)) == 1.0  # too few to have a centre


def test_one_side_heard_abstains_with_the_reason() -> None:
    text = "Ana Ruse, the ministry's chief negotiator, said the union had rejected a written offer."
    statements, affiliations = _statements(text)
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    assert "only Ruritanian Ministry of Ports's account" in bone.reason
    assert not lineup.draft(bone, statements, _vectors(statements)).answerable


@pytest.mark.parametrize(
    ("sentence", "claim"),
    [
        (
            "Karl Ode said the ministry never put its offer in writing.",
            "The ministry never put its offer in writing",
        ),
        (
            "“There was no offer on paper, only promises,” he said.",
            "There was no offer on paper, only promises",
        ),
        (  # a quotation of two sentences, which no reported clause carries
            '"For them this is not a relic. It is family," she said.',
            "For them this is not a relic. It is family",
        ),
        (  # a hard-wrapped text broke words at its line ends
            "The board said the ferry had to stop its\n  night crossings until the har-\n  bour was dredged.",
            "The ferry had to stop its night crossings until the harbour was dredged",
        ),
    ],
)
def test_a_claim_is_the_reported_clause_or_the_quotation(sentence: str, claim: str) -> None:
    assert claim_from(_stmt(sentence).parse) == claim


def test_a_topic_is_the_noun_particular_to_its_point() -> None:
    """The noun both points share ("ferries") names neither; each point's own noun names it."""
    fares = [
        _stmt("The ministry said the ferries would keep their current fares."),
        _stmt("The union said ferries could not run at those fares."),
    ]
    shifts = [
        _stmt("The ministry said the ferries need longer night shifts."),
        _stmt("The union said night shifts on the ferries were already too long."),
    ]
    assert topics([fares, shifts], names=set()) == ["Current fares", "Night shifts"]


def test_a_time_or_an_amount_is_no_topic() -> None:
    """ "Three years" and "200 passengers" say when and how much, not what the point is about."""
    point = [
        _stmt("The union said for three years that 200 passengers were stranded by the timetable."),
        _stmt("The ministry said the timetable had served 200 passengers for three years."),
    ]
    assert topics([point], names=set()) == ["Timetable"]
    assert topics([[_stmt("He said so.")]], names=set()) == ["Point"]


# --- the per-statement strategy on the backbone ---------------------------------------------------
SIDES = ["Ruritanian Ministry of Ports", "dockworkers' union"]


def _job(model: ScriptedChatModel, text: str = ARTICLE) -> Job:
    statements, affiliations = _statements(text)
    backend = Backend("custom", "scripted", model, "function_calling", "per_statement")
    found = Retrieved(statements=statements, vectors=_vectors(statements), affiliations=affiliations)
    return Job(QUESTION, found, lambda: backend, Usage(), lambda *_: None)


def _run(model: ScriptedChatModel, text: str = ARTICLE) -> tuple[Outcome, Usage]:
    job = _job(model, text)
    return per_statement.run(job), job.usage


def _claims(messages: Any, tool: str | None) -> dict[str, Any]:
    """Side 2's claim restates side 1's quote, so it fails the self-check."""
    return {"topic": "The written offer", "claim_1": "The union rejected a written offer",
            "claim_2": "The union rejected a written offer", "kind": "contradiction"}  # fmt: skip


def test_the_model_only_words_the_backbones_points() -> None:
    statements, affiliations = _statements()
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    bone = lineup.draft(bone, statements, _vectors(statements))
    model = ScriptedChatModel()
    model.enqueue([_claims] * 6)
    out, usage = _run(model)
    assert set(model.tools) == {"PointStep"} and usage.calls == len(bone.points) <= per_statement.MAX_CALLS
    assert out.draft.answerable and not out.partial
    cited = [[sorted(c.id for c in a.citations) for a in p.accounts] for p in out.draft.points]
    assert cited == [[sorted(c.id for c in a.citations) for a in p.accounts] for p in bone.points]
    assert [p.topic for p in out.draft.points] == ["The written offer"] * len(bone.points)
    first = str(model.history[0][-1].content)
    assert all(str(h[-1].content).split("One point")[0] == first.split("One point")[0] for h in model.history)


def test_a_claim_that_restates_the_other_side_keeps_the_rules_claim() -> None:
    model = ScriptedChatModel()
    model.enqueue([_claims] * 6)
    out, _ = _run(model)
    two_sided = [p for p in out.draft.points if len(p.accounts) == 2]
    assert two_sided
    for point in two_sided:
        union = next(a for a in point.accounts if a.side == SIDES[1])
        assert union.claim != "The union rejected a written offer"
        ministry = next(a for a in point.accounts if a.side == SIDES[0])
        assert ministry.claim == "The union rejected a written offer" or not set(
            "union rejected written offer".split()
        ) & set(ministry.claim.lower().split())


def test_a_failed_call_costs_only_its_part() -> None:
    model = ScriptedChatModel()
    model.enqueue([ModelError("boom", []), *[_claims] * 6])  # the first point's call fails
    out, _ = _run(model)
    assert out.partial and out.notes == [
        "the claims of point 1 are taken from its quotes: the call failed (boom)"
    ]
    assert out.draft.answerable and out.draft.points[0].topic != "The written offer"
    assert all(p.topic == "The written offer" for p in out.draft.points[1:])


def test_no_call_when_the_backbone_abstains() -> None:
    one_side = "Harbour row\n\nAna Ruse, the ministry's negotiator, said the union had rejected an offer."
    model = ScriptedChatModel()
    out = per_statement.run(_job(model, one_side))
    assert not out.draft.answerable and model.tools == []


# --- heard on the question ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "kept", "gone"),
    [
        ("How do Velora and Castamir differ over the Orvel dam?", "differ over the Orvel dam", "Velora"),
        (QUESTION, "ferry talks", "dockworkers"),
        ("Why did the ministry and Karl Ode's union fall out?", "fall out", "Karl Ode"),
        ("Why did the Velora talks with Castamir fail?", "talks", "Velora"),  # the talks are the subject
    ],
)
def test_question_subject_leaves_out_the_parties(question: str, kept: str, gone: str) -> None:
    subject = question_subject(Q(question))
    assert kept in subject and gone not in subject


def test_sides_heard_only_on_another_subject() -> None:
    statements, affiliations = _statements()
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    ministry = "Ruritanian Ministry of Ports"
    # No side on what the question asks: nothing to compare.
    off = rules.backbone(Q(QUESTION), statements, affiliations, dict.fromkeys(bone.labels, 0.1))
    assert not off.labels and "no side's account on what the question asks" in off.reason
    assert not lineup.draft(off, statements, _vectors(statements)).answerable
    # One side on it is enough: a short account need not echo the question's words.
    one = {sid: (0.5 if side == ministry else 0.1) for sid, side in bone.labels.items()}
    assert rules.backbone(Q(QUESTION), statements, affiliations, one).labels == bone.labels


def test_labels_given_by_a_model_come_first_and_only_for_known_sides() -> None:
    statements, affiliations = _statements()
    narration = next(s.sid for s in statements if s.text.startswith("The ferries carry"))
    sides = ["Ruritanian Ministry of Ports", "dockworkers' union"]
    given = {narration: "dockworkers' union", "S99": "nobody"}
    bone = rules.backbone_for(sides, statements, affiliations, given=given)
    assert bone.labels[narration] == "dockworkers' union" and "S99" not in bone.labels


def test_narration_states_only_a_side_with_no_voice_of_its_own() -> None:
    article = (
        "Ana Ruse, the ministry's chief negotiator, said the union had rejected a written offer. "
        "The Ruritanian Ministry of Ports has run the ferries since 1990. "
        "The dockworkers' union wants the offer in writing before any vote. "
        "The dockworkers' union's demand was rejected on Monday."
    )
    statements, affiliations = _statements(article)
    bone = rules.backbone(Q(QUESTION), statements, affiliations)
    by_text = {s.text[:24]: bone.labels.get(s.sid) for s in statements}
    # The ministry has a speaker, so the narration about it is background; the union has none.
    assert by_text["Ana Ruse, the ministry's"] == "Ruritanian Ministry of Ports"
    assert by_text["The Ruritanian Ministry "] is None
    assert by_text["The dockworkers' union w"] == "dockworkers' union"
    assert by_text["The dockworkers' union's"] == "dockworkers' union"
