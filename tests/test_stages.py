"""Stage diagnostics on a small hand-made case: where each labelled evidence quote was lost."""

from __future__ import annotations

from typing import Any

import pytest

from service.eval.cases import Case, Prediction
from service.eval.matching import account_sides, labels_of, place
from service.eval.scores import STAGE_NAMES, aggregate, score_case
from service.eval.stages import stages

TEXT = (
    "The board said the school will close. Parents said the school must stay open. "
    "The board said repairs cost too much. Parents said repairs are cheap. "
    "The board said the hearing was fair. The weather was mild."
)
CLOSE, OPEN = "the school will close", "the school must stay open"
MUCH, CHEAP, FAIR = "repairs cost too much", "repairs are cheap", "the hearing was fair"


def make_case(answerable: bool = True) -> Case:
    """Two sides; closure and repairs two-sided, the hearing one-sided: 5 evidence quotes."""
    points = [{"Board": CLOSE, "Parents": OPEN}, {"Board": MUCH, "Parents": CHEAP}, {"Board": FAIR}]
    return Case.model_validate(
        {
            "id": "school",
            "question": "Why do the board and the parents disagree about the school?",
            "answerable": answerable,
            "documents": [
                {"id": "d1", "title": "t", "source": "s", "license": "CC0", "text": TEXT},
                {"id": "d2", "title": "t", "source": "s", "license": "CC0", "text": TEXT.upper()},
            ],
            "sides": [{"name": "Board", "aliases": []}, {"name": "Parents", "aliases": []}]
            if answerable
            else [],
            "points": [
                {
                    "topic": f"p{i}",
                    "accounts": {
                        s: {"claim": q, "evidence": [{"doc": "d1", "quote": q}]} for s, q in p.items()
                    },
                }
                for i, p in enumerate(points)
            ]
            if answerable
            else [],
        }
    )


def span(text: str, doc: str = "d1") -> dict[str, Any]:
    start = TEXT.index(text)
    return {"doc": doc, "start": start, "end": start + len(text)}


def q(text: str) -> dict[str, Any]:
    return {**span(text), "text": text}


def sentence(text: str, doc: str = "d1") -> dict[str, Any]:
    """The candidate statement holding `text`: its whole sentence."""
    at = TEXT.index(text)
    start = TEXT.rfind(". ", 0, at)
    return {"doc": doc, "start": 0 if start < 0 else start + 2, "end": TEXT.index(".", at) + 1}


def predict(
    points: list[dict[str, list[str]]], candidates: list[str] | None = None, in_doc: str = "d1", **extra: Any
) -> Prediction:
    """A prediction with these quotes under these account keys, and the sentences of `candidates`."""
    data: dict[str, Any] = {
        "id": "school",
        "sides": [{"name": "Board"}, {"name": "Parents"}],
        "points": [
            {
                "topic": f"t{i}",
                "accounts": {k: {"claim": "", "quotes": [q(t) for t in v]} for k, v in p.items()},
            }
            for i, p in enumerate(points)
        ],
        **extra,
    }
    if candidates is not None:
        data["candidates"] = [sentence(t, in_doc) for t in candidates]
    return Prediction.model_validate(data)


def where(case: Case, pred: Prediction) -> list[str | None]:
    labels = labels_of(case)
    return stages(case, labels, place(pred, labels, account_sides(pred, case)), pred.candidates).where


# The mixed answer: closure lined up; repairs both under the board (one misattributed, so the board's
# repairs quote has no other side's quote beside it); the hearing never retrieved.
MIXED = [{"Board": [CLOSE], "Parents": [OPEN]}, {"Board": [MUCH, CHEAP]}]


def test_each_quote_is_lost_at_its_first_failed_stage() -> None:
    case, pred = make_case(), predict(MIXED, candidates=[CLOSE, OPEN, MUCH, CHEAP])
    assert where(case, pred) == [None, None, "not_lined_up", "wrong_side", "not_retrieved"]
    scores = score_case(case, pred)
    assert scores.stages() == {
        "stage_retrieved": pytest.approx(4 / 5),
        "stage_placed": pytest.approx(4 / 5),
        "stage_attributed": pytest.approx(3 / 5),
        "stage_lined_up": pytest.approx(2 / 5),
    }
    assert scores.lost == {"not_retrieved": 1, "no_side": 0, "wrong_side": 1, "not_lined_up": 1}
    assert scores.evidence == 5
    assert scores.stage_attributed == scores.evidence_recall  # the attribution stage is evidence recall
    assert {(m.quote, m.stage) for m in scores.missed} == {(CHEAP, "wrong_side"), (FAIR, "not_retrieved")}


def test_without_candidates_retrieval_is_unknown() -> None:
    scores = score_case(make_case(), predict(MIXED))
    assert scores.stage_retrieved is None
    assert scores.stage_placed == pytest.approx(4 / 5)  # the later stages are still known
    assert scores.lost == {"not_retrieved": 0, "no_side": 1, "wrong_side": 1, "not_lined_up": 1}


def test_a_quoted_statement_counts_as_retrieved() -> None:
    # An empty (but known) candidate list: the one quote the answer holds was still seen by the chain.
    scores = score_case(make_case(), predict([{"Board": [CLOSE]}], candidates=[]))
    assert scores.stage_retrieved == pytest.approx(1 / 5)
    assert scores.lost["not_retrieved"] == 4


def test_a_candidate_in_another_document_does_not_retrieve() -> None:
    assert sentence(CLOSE)["start"] == 0 and TEXT.upper().index(CLOSE.upper()) == TEXT.index(CLOSE)
    assert score_case(make_case(), predict([], [CLOSE])).stage_retrieved == pytest.approx(1 / 5)
    assert score_case(make_case(), predict([], [CLOSE], in_doc="d2")).stage_retrieved == 0.0


def test_lined_up_uses_the_half_rule_and_one_sided_evidence_passes() -> None:
    # One big point: each two-sided labelled point is 2 of its 5 labelled quotes, under half.
    big = predict([{"Board": [CLOSE, MUCH, FAIR], "Parents": [OPEN, CHEAP]}], candidates=[CLOSE])
    scores = score_case(make_case(), big)
    assert scores.point_alignment == 0.0
    assert scores.stage_attributed == 1.0
    assert scores.stage_lined_up == pytest.approx(1 / 5)  # only the one-sided hearing quote
    assert scores.lost["not_lined_up"] == 4


def test_lined_up_needs_the_other_side_in_the_same_point() -> None:
    split = predict([{"Board": [CLOSE]}, {"Parents": [OPEN]}, {"Board": [MUCH], "Parents": [CHEAP]}])
    assert where(make_case(), split) == ["not_lined_up", "not_lined_up", None, None, "no_side"]


def test_a_wrong_abstention_places_nothing() -> None:
    everything = [CLOSE, OPEN, MUCH, CHEAP, FAIR]
    pred = predict([{"Board": [CLOSE], "Parents": [OPEN]}], candidates=everything, abstained=True)
    scores = score_case(make_case(), pred)
    assert scores.stage_retrieved == 1.0 and scores.stage_placed == 0.0
    assert scores.lost["no_side"] == 5
    assert scores.stage_attributed == scores.evidence_recall == 0.0


def test_an_unanswerable_case_has_no_stages() -> None:
    scores = score_case(make_case(answerable=False), predict(MIXED, candidates=[CLOSE]))
    assert scores.stages() == dict.fromkeys(STAGE_NAMES)
    assert scores.evidence == 0 and scores.missed == []


def test_stage_averages_leave_unknown_retrieval_out_and_sum_losses() -> None:
    rows = [
        score_case(make_case(), predict(MIXED, candidates=[CLOSE, OPEN, MUCH, CHEAP])),
        score_case(make_case(), predict(MIXED)),
        score_case(make_case(answerable=False), predict([], abstained=True)),
    ]
    metrics = aggregate(rows)
    assert metrics.stage_retrieved == pytest.approx(4 / 5)  # the second case is left out
    assert metrics.stage_lined_up == pytest.approx(2 / 5)
    assert metrics.evidence == 10
    assert metrics.lost == {"not_retrieved": 1, "no_side": 1, "wrong_side": 2, "not_lined_up": 2}


def test_misplaced_evidence_names_the_rule_that_placed_it_or_why_none_did() -> None:
    from service.eval.report import _misplaced

    wrong = {"side_rule": "proximity", "speaker_rule": "subject_of_reporting_verb"}
    pred = predict([{"Board": [CLOSE], "Parents": [OPEN]}, {"Board": [MUCH, CHEAP]}], candidates=[FAIR])
    pred.points[1].accounts["Board"].quotes[1].why = wrong
    assert pred.candidates is not None
    pred.candidates[0].why = {"unplaced": "no side in the speaker's name, title or body (the board)"}
    scores = score_case(make_case(), pred)
    rules = {(m.quote, m.stage, m.rule) for m in scores.missed}
    assert rules == {
        (CHEAP, "wrong_side", "proximity ← subject_of_reporting_verb"),
        (FAIR, "no_side", "no side in the speaker's name, title or body"),
    }
    table = "\n".join(_misplaced([scores]))
    assert "| proximity ← subject_of_reporting_verb | 1 |  |" in table
    assert "| no side in the speaker's name, title or body |  | 1 |" in table
