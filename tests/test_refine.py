"""The `refine` strategy with a scripted chat model: each kind of edit applied to a fixed rules'
draft, bad edits dropped and counted, kinds switched off per backend, the model's abstention and a
failed call leaving the rules' answer with a note, and one run on the real rules."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest
from test_backbone import _job as rules_job
from test_rules import QUESTION as RULES_QUESTION

from service.chain.draft import Citation, Draft, DraftAccount, DraftPoint, DraftSide, Outcome
from service.chain.retrieve import Retrieved
from service.chain.strategies import STRATEGIES, Job, refine
from service.errors import ModelError
from service.llm import Backend, Usage
from service.llm.fake import ScriptedChatModel
from service.models import Statement, Why
from service.settings import EDIT_KINDS, Settings

QUESTION = "Why did the harbour talks between the Ministry of Ports and the dockworkers' union fail?"
MINISTRY, UNION, MEMBERS = "Ministry of Ports", "dockworkers' union", "members"
TEXTS = {  # statement id -> (text, speaker); invented
    "S1": ("Harbour talks collapse", ""),
    "S2": ("Ana Ruse, the ministry's negotiator, said the union had rejected a written offer.", "Ana Ruse"),
    "S3": ("Karl Ode said the ministry never put its offer in writing.", "Karl Ode"),
    "S4": ("“There was no offer on paper, only promises,” Ode said.", "Karl Ode"),
    "S5": ("Tomas Vell said members would strike from Monday.", "Tomas Vell"),
    "S6": ("Ruse said the ministry would table the offer again next week.", "Ana Ruse"),
    "S7": ("A union spokesman said the strike over the written offer would go ahead.", "A union spokesman"),
    "S8": ("The ferries carry about 9,000 passengers a day.", ""),
}
PLACED = {"S2": MINISTRY, "S3": UNION, "S4": UNION, "S5": MEMBERS, "S6": MINISTRY}
RULE = {
    "S2": "speaker_title",
    "S3": "speaker_name",
    "S4": "speaker_name",
    "S5": "proximity",
    "S6": "affiliation",
}


def _statements() -> list[Statement]:
    out, at = [], 0
    for sid, (text, speaker) in TEXTS.items():
        side, rule = PLACED.get(sid, ""), RULE.get(sid, "")
        why = Why(speaker=speaker, side=side, side_rule=rule, side_words=speaker if side else "")
        out.append(
            Statement(
                sid=sid,
                doc_id="doc",
                start=at,
                end=at + len(text),
                text=text,
                speaker=speaker,
                heading=sid == "S1",
                reported=bool(speaker),
                why=why,
            )
        )
        at += len(text) + 1
    return out


def _vectors(statements: list[Statement]) -> np.ndarray:
    """Bag-of-words vectors: sentences sharing words are similar (stands in for the embedder)."""
    out = np.zeros((len(statements), 256), dtype=np.float32)
    for i, s in enumerate(statements):
        for word in s.text.casefold().split():
            out[i, zlib.crc32(word.strip(".,“”").encode()) % 256] += 1.0
    return out


def _account(side: str, claim: str, *ids: str) -> DraftAccount:
    return DraftAccount(side=side, claim=claim, citations=[Citation(id=i) for i in ids])


RULES_DRAFT = Draft(
    answerable=True,
    sides=[
        DraftSide(name=MINISTRY, speakers=["Ana Ruse"]),
        DraftSide(name=UNION, speakers=["Karl Ode"]),
        DraftSide(name=MEMBERS, speakers=["Tomas Vell"]),
    ],
    points=[
        DraftPoint(
            topic="offer",
            kind="contradiction",
            accounts=[
                _account(MINISTRY, "the union had rejected a written offer", "S2"),
                _account(UNION, "the ministry never put its offer in writing", "S3", "S4"),
                _account(MEMBERS, "members would strike from Monday", "S5"),
            ],
        ),
        DraftPoint(
            topic="next week",
            kind="one_side_only",
            accounts=[_account(MINISTRY, "the ministry would table the offer again next week", "S6")],
        ),
    ],
)


@pytest.fixture
def rules_answer(monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """The rules' answer refine starts from: RULES_DRAFT (the rules themselves are tested elsewhere)."""
    statements = _statements()
    outcome = Outcome(RULES_DRAFT.model_copy(deep=True), why={s.sid: s.why for s in statements})
    monkeypatch.setattr(refine.rules, "run", lambda job: outcome)
    return outcome


def _run(
    replies: list[Any], edits: frozenset[str] = frozenset(EDIT_KINDS)
) -> tuple[Outcome, ScriptedChatModel]:
    model = ScriptedChatModel().enqueue(replies)
    backend = Backend("custom", "scripted", model, "function_calling", "refine", edits=edits)
    statements = _statements()
    found = Retrieved(statements=statements, vectors=_vectors(statements))
    job = Job(QUESTION, found, lambda: backend, Usage(), lambda *_: None)
    return refine.run(job), model


def _edits(*edits: dict[str, Any], verdict: str = "dispute", reason: str = "") -> dict[str, Any]:
    full = [{"ids": [], "side": "", "value": "", **e} for e in edits]
    return {"edits": full, "verdict": verdict, "reason": reason}


def _cited(draft: Draft) -> list[dict[str, list[str]]]:
    return [{a.side: [c.id for c in a.citations] for a in p.accounts} for p in draft.points]


def _claim(draft: Draft, point: int, side: str) -> str:
    return next(a.claim for a in draft.points[point].accounts if a.side == side)


# --- each kind of edit ----------------------------------------------------------------------------
def test_a_side_is_renamed_to_a_name_the_statements_use(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "rename_side", "ids": ["S3"], "side": UNION, "value": "Karl Ode's union"})])
    assert [s.name for s in out.draft.sides] == [MINISTRY, "Karl Ode's union", MEMBERS]
    assert _cited(out.draft)[0]["Karl Ode's union"] == ["S3", "S4"]
    # The rule that placed the statements still explains them, under the new name.
    assert out.why["S3"].side == "Karl Ode's union" and out.why["S3"].side_rule == "speaker_name"
    assert "1 applied (1 rename_side)" in out.notes[0]


def test_two_sides_that_are_one_party_are_merged(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "merge_sides", "ids": ["S5"], "side": MEMBERS, "value": UNION})])
    assert [s.name for s in out.draft.sides] == [MINISTRY, UNION]
    assert _cited(out.draft)[0] == {MINISTRY: ["S2"], UNION: ["S3", "S4", "S5"]}
    assert _claim(out.draft, 0, UNION) == "the ministry never put its offer in writing"


def test_a_side_that_mixes_two_parties_is_split(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "split_side", "ids": ["S6"], "side": MINISTRY, "value": "Ana Ruse"})])
    assert [s.name for s in out.draft.sides] == [MINISTRY, "Ana Ruse", UNION, MEMBERS]
    assert _cited(out.draft)[1] == {"Ana Ruse": ["S6"]}


def test_a_statement_moves_to_its_side_and_an_unplaced_one_joins_the_nearest_point(
    rules_answer: Outcome,
) -> None:
    out, _ = _run([_edits({"op": "move", "ids": ["S5", "S7"], "side": UNION})])
    assert _cited(out.draft)[0] == {MINISTRY: ["S2"], UNION: ["S3", "S4", "S5", "S7"]}
    assert [s.name for s in out.draft.sides] == [MINISTRY, UNION]  # members lost their one statement


def test_a_dropped_statement_leaves_the_answer_and_says_why(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "drop", "ids": ["S6"]})])
    assert len(out.draft.points) == 1 and "S6" not in str(_cited(out.draft))
    assert out.why["S6"].unplaced == "dropped by the model" and not out.why["S6"].side


def test_points_about_the_same_thing_are_merged(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "merge_points", "ids": ["S2", "S6"]})])
    assert _cited(out.draft) == [{MINISTRY: ["S2", "S6"], UNION: ["S3", "S4"], MEMBERS: ["S5"]}]
    assert out.draft.points[0].kind == "contradiction"


def test_a_point_is_split(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "split_point", "ids": ["S5"]})])
    assert _cited(out.draft)[:2] == [{MINISTRY: ["S2"], UNION: ["S3", "S4"]}, {MEMBERS: ["S5"]}]
    assert out.draft.points[1].topic  # a new point is named by its claim


@pytest.mark.parametrize(
    ("edit", "check"),
    [
        ({"op": "topic", "ids": ["S2"], "value": "The written offer"}, lambda d: d.points[0].topic),
        ({"op": "kind", "ids": ["S3"], "value": "different_emphasis"}, lambda d: d.points[0].kind),
        (
            {"op": "claim", "ids": ["S3", "S4"], "side": UNION, "value": "No offer was ever put on paper"},
            lambda d: _claim(d, 0, UNION),
        ),
    ],
)
def test_topics_kinds_and_claims_are_written(rules_answer: Outcome, edit: dict[str, Any], check: Any) -> None:
    out, _ = _run([_edits(edit)])
    assert check(out.draft) == edit["value"]
    assert not out.partial and _cited(out.draft) == _cited(RULES_DRAFT)


def test_edits_apply_sides_first_and_wording_last(rules_answer: Outcome) -> None:
    """A claim is checked against the quotes its account ends up with, whatever order they came in."""
    out, _ = _run(
        [
            _edits(
                {"op": "claim", "ids": ["S5"], "side": UNION, "value": "Members would strike from Monday"},
                {"op": "merge_sides", "ids": ["S5"], "side": MEMBERS, "value": UNION},
            )
        ]
    )
    assert _claim(out.draft, 0, UNION) == "Members would strike from Monday"
    assert "2 applied (1 merge_sides, 1 claim)" in out.notes[0]


# --- bad edits ---------------------------------------------------------------------------------
def test_bad_edits_are_dropped_and_counted(rules_answer: Outcome) -> None:
    out, _ = _run(
        [
            _edits(
                {"op": "move", "ids": ["S99"], "side": UNION},  # no such statement
                {"op": "move", "ids": ["S5"], "side": "Harbour Board"},  # no such side
                # the union's claim restates the ministry's account
                {"op": "claim", "ids": ["S3"], "side": UNION, "value": "The union rejected a written offer"},
                {"op": "rename_side", "ids": ["S3"], "side": UNION, "value": "Velora Stevedores"},  # unnamed
                {"op": "drop", "ids": ["S3", "S4", "S5"]},  # would leave one side
                {"op": "move", "ids": ["S1"], "side": UNION},  # a headline
                {"op": "move", "ids": ["S3"], "side": MINISTRY},  # its speaker's name places it
            )
        ]
    )
    assert out.draft == RULES_DRAFT and "0 applied; 7 dropped" in out.notes[0]
    note = out.notes[0]
    assert "S99, which is not a statement" in note and "there is no side 'Harbour Board'" in note
    assert "reads as close to another side's quotes" in note and "do not name 'Velora Stevedores'" in note
    assert "it would leave fewer than two sides" in note and "headline" in note
    assert "S3's speaker is named as dockworkers' union's (Karl Ode)" in note


def test_kinds_switched_off_for_a_model_are_not_applied(rules_answer: Outcome) -> None:
    off = frozenset(EDIT_KINDS) - {"move"}
    move = {"op": "move", "ids": ["S5"], "side": UNION}
    out, _ = _run([_edits(move, {"op": "topic", "ids": ["S2"], "value": "The written offer"})], off)
    assert out.draft.points[0].topic == "The written offer"
    assert _cited(out.draft)[0][MEMBERS] == ["S5"]
    assert "1 not made (1 move: off for this model)" in out.notes[0]


def test_the_embedded_model_has_its_own_kinds_and_remote_models_all(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.edits_for("openai") == settings.edits_for("compatible") == frozenset(EDIT_KINDS)
    monkeypatch.setenv("COUNTERPOINT_REFINE_EDITS", "claim,topic")
    assert Settings().edits_for("openai") == {"claim", "topic"}
    monkeypatch.setenv("COUNTERPOINT_REFINE_EDITS", "claims")
    with pytest.raises(ValueError, match="unknown edit kinds"):
        Settings()


# --- the model's answer as a whole ------------------------------------------------------------------
def test_an_abstention_where_the_rules_hear_two_sides_keeps_the_rules_answer(rules_answer: Outcome) -> None:
    out, _ = _run([_edits({"op": "drop", "ids": ["S6"]}, verdict="no dispute", reason="they agree")])
    assert out.draft == RULES_DRAFT and not out.partial
    assert out.notes == [
        "the model found no dispute here (they agree), but the rules hear 3 sides; this is the rules' answer"
    ]


def test_a_failed_call_leaves_the_rules_answer_with_a_note(rules_answer: Outcome) -> None:
    out, _ = _run([ModelError("the model server timed out", [])])
    assert out.draft == RULES_DRAFT and out.partial
    assert out.notes == ["the model's edits failed (the model server timed out); this is the rules' answer"]
    assert out.why == rules_answer.why


def test_no_call_where_the_rules_abstain(monkeypatch: pytest.MonkeyPatch) -> None:
    abstained = Outcome(Draft(answerable=False, reason="only the ministry's account is in the documents"))
    monkeypatch.setattr(refine.rules, "run", lambda job: abstained)
    out, model = _run([])
    assert out is abstained and model.tools == []


def test_the_prompt_shows_the_draft_and_the_schema_offers_only_shown_ids(rules_answer: Outcome) -> None:
    out, model = _run([_edits()])
    prompt = str(model.history[0][-1].content)
    assert f'- {UNION}: "the ministry never put its offer in writing" [S3, S4]' in prompt
    assert "[S7] (A union spokesman) side: none." in prompt and "[S1]" not in prompt  # no headline
    assert model.tools == ["Edits"] and out.notes == [
        "the model checked the rules' answer and proposed no edits"
    ]
    ids = refine.schema(["S2", "S3"], [MINISTRY])
    shape = ids.model_json_schema()["$defs"]["Edit"]["properties"]
    assert shape["ids"]["items"]["enum"] == ["S2", "S3"] and shape["side"]["enum"] == [MINISTRY, ""]


def test_refine_on_the_rules_own_answer() -> None:
    """The real rules, then a claim edit and a bad one: one applied, one dropped."""
    model = ScriptedChatModel()

    def reply(messages: Any, tool: str | None) -> dict[str, Any]:
        prompt = str(messages[-1].content)
        line = next(ln for ln in prompt.splitlines() if ln.startswith("- dockworkers' union: "))
        first = line.rsplit("[", 1)[1].split(",")[0].rstrip("]")
        claim = {"op": "claim", "ids": [first], "side": "dockworkers' union",
                 "value": "The ministry never put any offer in writing"}  # fmt: skip
        return _edits(claim, {"op": "move", "ids": ["S404"], "side": "dockworkers' union"})

    model.enqueue([reply])
    job = rules_job(model)
    job.question = RULES_QUESTION
    out = STRATEGIES["refine"](job)
    claims = [a.claim for p in out.draft.points for a in p.accounts]
    assert "The ministry never put any offer in writing" in claims
    assert out.notes[-1].startswith("the model's edits of the rules' answer: 1 applied (1 claim); 1 dropped")


def test_a_draft_citing_many_long_statements_is_cut_to_fit_the_prompt() -> None:
    long = "The commenters argued at length that the rule would raise costs for small lenders. " * 6
    statements = [Statement(sid=f"S{i}", doc_id="d", start=0, end=len(long), text=long, speaker="commenters")
                  for i in range(1, 61)]  # fmt: skip
    placed = {f"S{i}": "commenters" for i in range(1, 46)}
    shown = refine.shown_statements(statements, placed, {})
    assert {s.sid for s in shown} >= set(placed)  # every statement the draft cites is shown
    assert sum(len(s.text) for s in shown) <= refine.MAX_CHARS + len(shown)
    assert all(s.text.endswith("…") for s in shown)
