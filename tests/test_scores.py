"""The eval scores on small hand-made cases, one test per clause of ../shared/eval/FORMAT.md."""

from __future__ import annotations

from typing import Any

import pytest

from service.eval.cases import Case, Prediction, fold
from service.eval.scores import (
    SCORE_NAMES,
    match_sides,
    names_match,
    occurrences,
    score_case,
)

TEXT = (
    "The mayor said the bridge is safe. The union said the bridge is unsafe. "
    "The mayor said costs are low. The union said costs are high. "
    "The mayor said the vote was fair. Nobody mentioned the weather."
)
OTHER = "The union also said that the bridge is unsafe, again."


TOPICS = ("Bridge safety", "Building costs", "The vote")


def make_case(points: list[dict[str, Any]] | None = None, **extra: Any) -> Case:
    """Two sides (Mayor, Union), one document; by default safety and costs two-sided, the vote one-sided."""
    if points is None:
        points = [
            {"Mayor": ["the bridge is safe"], "Union": ["the bridge is unsafe"]},
            {"Mayor": ["costs are low"], "Union": ["costs are high"]},
            {"Mayor": ["the vote was fair"]},
        ]
    data = {
        "id": "bridge",
        "question": "How do the mayor and the union disagree?",
        "answerable": True,
        "documents": [
            {"id": "d1", "title": "t", "source": "s", "license": "CC0", "text": TEXT},
            {"id": "d2", "title": "t2", "source": "s", "license": "CC0", "text": OTHER},
        ],
        "sides": [
            {"name": "Mayor", "aliases": ["Jo Bloggs", "town hall"]},
            {"name": "Union", "aliases": ["workers' union", "Al"]},
            {"name": "Council", "aliases": []},
        ][: extra.pop("n_sides", 2)],
        "points": [
            {
                "topic": TOPICS[i] if i < len(TOPICS) else f"p{i}",
                "accounts": {
                    side: {
                        "claim": "; ".join(quotes),
                        "evidence": [{"doc": "d1", "quote": q} for q in quotes],
                    }
                    for side, quotes in accounts.items()
                },
            }
            for i, accounts in enumerate(points)
        ],
    }
    data.update(extra)
    return Case.model_validate(data)


def quote(text: str, doc: str = "d1", shift: int = 0) -> dict[str, Any]:
    """A predicted quote at the first occurrence of `text`, optionally with its offsets shifted."""
    source = TEXT if doc == "d1" else OTHER
    start = source.index(text) + shift
    return {"doc": doc, "start": start, "end": start + len(text), "text": text}


Quotes = list[dict[str, Any]]


def predict(
    points: list[dict[str, Quotes | tuple[str, Quotes]]],
    sides: list[str | tuple[str, list[str]]] = ("Mayor", "Union"),
    **extra: Any,
) -> Prediction:
    """A prediction: `points` maps account keys to quotes, or to (claim, quotes) (the claim is "c"
    otherwise: no content word, so the claim scores leave it out); sides are names or (name, speakers)."""
    side_list = [
        {"name": s, "speakers": []} if isinstance(s, str) else {"name": s[0], "speakers": s[1]} for s in sides
    ]
    return Prediction.model_validate(
        {
            "id": "bridge",
            "abstained": False,
            "sides": side_list,
            "points": [
                {"topic": f"t{i}", "accounts": {k: _account(v) for k, v in p.items()}}
                for i, p in enumerate(points)
            ],
            "stats": {"latency_s": 1.0, "llm_calls": 2, "prompt_tokens": 100, "completion_tokens": 10},
            **extra,
        }
    )


def _account(value: Quotes | tuple[str, Quotes]) -> dict[str, Any]:
    claim, quotes = value if isinstance(value, tuple) else ("c", value)
    return {"claim": claim, "quotes": quotes}


def perfect() -> Prediction:
    # "low" has no stem (under 4 letters): that claim is left out of both claim scores.
    pred = predict(
        [
            {"Mayor": ("bridge safe", [quote("the bridge is safe")]),
             "Union": ("bridge unsafe", [quote("the bridge is unsafe")])},
            {"Mayor": ("low", [quote("costs are low")]), "Union": ("costs high", [quote("costs are high")])},
            {"Mayor": ("fair vote", [quote("the vote was fair")])},
        ]
    )  # fmt: skip
    for point, topic in zip(pred.points, TOPICS, strict=True):
        point.topic = topic
    return pred


# --- whole answers --------------------------------------------------------------------------------
def test_perfect_prediction_scores_one_everywhere() -> None:
    scores = score_case(make_case(), perfect())
    assert scores.values() == dict.fromkeys(SCORE_NAMES, 1.0)
    assert scores.missed == [] and scores.misattributed == []


def test_swapped_sides_score_low() -> None:
    # The names are right, but each side's quotes sit under the other side.
    pred = predict(
        [
            {"Union": [quote("the bridge is safe")], "Mayor": [quote("the bridge is unsafe")]},
            {"Union": [quote("costs are low")], "Mayor": [quote("costs are high")]},
            {"Union": [quote("the vote was fair")]},
        ]
    )
    scores = score_case(make_case(), pred)
    assert scores.side_f1 == 1.0
    assert scores.evidence_recall == 0.0
    assert scores.attribution == 0.0
    assert scores.point_alignment == 0.0
    assert scores.quote_precision == 1.0 and scores.grounding == 1.0
    assert len(scores.misattributed) == 5
    assert scores.misattributed[0].placed_under == "Union"
    assert scores.misattributed[0].labelled_under == ["Mayor"]


def test_wrong_offset_breaks_grounding_only() -> None:
    pred = perfect()
    bad = pred.points[0].accounts["Mayor"].quotes[0]
    bad.start += 1
    bad.end += 1
    scores = score_case(make_case(), pred)
    assert scores.grounding == pytest.approx(4 / 5)
    # Overlap is by span: the shifted quote still intersects its evidence.
    assert scores.evidence_recall == 1.0


@pytest.mark.parametrize(
    ("start", "end", "doc"),
    [(-4, 14, "d1"), (10, len(TEXT) + 5, "d1"), (20, 10, "d1"), (0, 5, "nope")],
)
def test_impossible_spans_are_not_grounded(start: int, end: int, doc: str) -> None:
    text = TEXT[max(start, 0) : end] if doc == "d1" else "The m"
    pred = predict([{"Mayor": [{"doc": doc, "start": start, "end": end, "text": text}]}])
    assert score_case(make_case(), pred).grounding == 0.0


def test_grounding_can_use_documents_beyond_the_case() -> None:
    # A shared library: a quote from another case's document is grounded against that text.
    pred = predict([{"Mayor": [{"doc": "x9", "start": 4, "end": 9, "text": "other"}]}])
    assert score_case(make_case(), pred).grounding == 0.0
    assert score_case(make_case(), pred, texts={"x9": "The other one"}).grounding == 1.0


# --- abstention -----------------------------------------------------------------------------------
def test_abstaining_on_an_answerable_case() -> None:
    scores = score_case(make_case(), predict([], sides=[], abstained=True))
    assert scores.abstention == 0.0
    assert scores.side_f1 == 0.0 and scores.evidence_recall == 0.0 and scores.point_alignment == 0.0
    assert scores.attribution is None and scores.quote_precision is None and scores.grounding is None


def test_abstaining_answerable_counts_zero_even_with_sides_and_quotes() -> None:
    pred = perfect()
    pred.abstained = True
    scores = score_case(make_case(), pred)
    assert (scores.side_f1, scores.evidence_recall, scores.point_alignment) == (0.0, 0.0, 0.0)
    assert scores.grounding == 1.0


def test_abstaining_on_an_unanswerable_case() -> None:
    case = make_case(points=[], answerable=False, n_sides=0)
    scores = score_case(case, predict([], sides=[], abstained=True))
    assert scores.abstention == 1.0
    assert [n for n, v in scores.values().items() if v is not None] == ["abstention"]


def test_answering_an_unanswerable_case() -> None:
    case = make_case(points=[], answerable=False, n_sides=0)
    scores = score_case(case, perfect())
    assert scores.abstention == 0.0
    assert scores.side_f1 is None and scores.evidence_recall is None and scores.point_alignment is None
    assert scores.quote_precision == 0.0 and scores.attribution is None and scores.grounding == 1.0


def test_a_failed_case_counts_as_not_abstained_with_no_sides() -> None:
    failed = predict([], sides=[], error="ModelError: server down")
    answerable = score_case(make_case(), failed)
    assert (answerable.side_f1, answerable.evidence_recall, answerable.abstention) == (0.0, 0.0, 1.0)
    assert answerable.error == "ModelError: server down"
    unanswerable = score_case(make_case(points=[], answerable=False, n_sides=0), failed)
    assert unanswerable.abstention == 0.0


# --- side matching --------------------------------------------------------------------------------
def test_fold_handles_case_and_whitespace() -> None:
    assert fold("  The\u00a0Town   HALL ") == "the town hall"
    assert names_match("the town\u00a0hall", "Town  Hall")


@pytest.mark.parametrize(
    ("predicted", "expected"),
    [
        ("Mayor", True),  # equal
        ("the mayor of Oldwick-upon-Sea", True),  # contains the labelled name
        ("Mayo", True),  # contained in "Mayor": the rule is plain containment
        ("Major", False),
        ("own hall", True),  # contained in an alias
        ("JO BLOGGS", True),  # alias, case-insensitively
        ("Al", False),  # under 3 characters: ignored even though it equals an alias
        ("workers", True),
    ],
)
def test_name_rules(predicted: str, expected: bool) -> None:
    case = make_case()
    assert bool(match_sides(predict([], sides=[predicted]).sides, case.sides)) is expected


def test_a_speaker_can_match_when_the_name_does_not() -> None:
    case = make_case()
    pred = predict([], sides=[("Local government", ["Jo Bloggs"]), ("Staff", ["workers' union"])])
    assert match_sides(pred.sides, case.sides) == {0: 0, 1: 1}
    assert score_case(case, pred).side_f1 == 1.0


def test_short_speakers_are_ignored() -> None:
    case = make_case()
    pred = predict([], sides=[("Staff", ["Al", "U"])])
    assert match_sides(pred.sides, case.sides) == {}


def test_matching_is_greedy_in_predicted_order() -> None:
    case = make_case()
    # "Mayor and union" matches both labelled sides and, coming first, takes the first (Mayor),
    # leaving nothing for "Mayor"; in the other order both match.
    greedy = predict([], sides=["Mayor and Union", "Mayor"])
    assert match_sides(greedy.sides, case.sides) == {0: 0}
    assert score_case(case, greedy).side_f1 == pytest.approx(0.5)
    ordered = predict([], sides=["Mayor", "Mayor and Union"])
    assert score_case(case, ordered).side_f1 == 1.0


def test_side_f1_counts_extra_and_missing_sides() -> None:
    case = make_case(n_sides=3)  # Council is labelled but never used
    pred = predict([], sides=["Mayor", "Union", "Police", "Press"])
    assert score_case(case, pred).side_f1 == pytest.approx(2 * 2 / (4 + 3))


# --- evidence recall, precision, attribution -----------------------------------------------------
def test_recall_needs_the_quote_under_the_matched_side() -> None:
    # "Police" matches no labelled side, so its overlapping quote recalls nothing.
    pred = predict(
        [{"Mayor": [quote("the bridge is safe")], "Police": [quote("the bridge is unsafe")]}],
        sides=["Mayor", "Police"],
    )
    scores = score_case(make_case(), pred)
    assert scores.evidence_recall == pytest.approx(1 / 5)
    assert scores.attribution == pytest.approx(1 / 2)
    assert {m.quote for m in scores.missed} == {
        "the bridge is unsafe",
        "costs are low",
        "costs are high",
        "the vote was fair",
    }


def test_partial_overlap_counts_but_touching_does_not() -> None:
    part = quote("bridge")  # inside "the bridge is safe"
    start = TEXT.index("the bridge is safe")
    touching = {"doc": "d1", "start": start - 4, "end": start, "text": TEXT[start - 4 : start]}
    scores = score_case(make_case(), predict([{"Mayor": [part, touching]}]))
    assert scores.evidence_recall == pytest.approx(1 / 5)
    assert scores.quote_precision == pytest.approx(1 / 2)


def test_same_span_in_another_document_does_not_overlap() -> None:
    text = "the bridge is unsafe"
    start = TEXT.index(text)
    elsewhere = {
        "doc": "d2",
        "start": start,
        "end": start + len(text),
        "text": OTHER[start : start + len(text)],
    }
    scores = score_case(make_case(), predict([{"Union": [elsewhere]}]))
    assert scores.evidence_recall == 0.0 and scores.quote_precision == 0.0


def test_every_occurrence_of_a_repeated_quote_is_accepted() -> None:
    assert occurrences("abab ab", "ab") == [(0, 2), (2, 4), (5, 7)]
    case = make_case(points=[{"Mayor": ["The mayor said"], "Union": ["costs are high"]}])
    second = TEXT.index("The mayor said", 1)
    pred = predict(
        [
            {
                "Mayor": [{"doc": "d1", "start": second, "end": second + 14, "text": "The mayor said"}],
                "Union": [quote("costs are high")],
            }
        ]
    )
    assert score_case(case, pred).evidence_recall == 1.0


def test_quote_precision_counts_quotes_outside_the_labels() -> None:
    pred = predict([{"Mayor": [quote("the bridge is safe"), quote("Nobody mentioned the weather")]}])
    scores = score_case(make_case(), pred)
    assert scores.quote_precision == pytest.approx(1 / 2)
    assert scores.attribution == 1.0  # the unlabelled quote is not in attribution's denominator


def test_no_quotes_leaves_quote_scores_undefined() -> None:
    scores = score_case(make_case(), predict([], sides=["Mayor", "Union"]))
    assert scores.side_f1 == 1.0 and scores.evidence_recall == 0.0
    assert scores.quote_precision is None and scores.attribution is None and scores.grounding is None


def test_a_statement_labelled_under_both_sides_is_right_under_either() -> None:
    case = make_case(points=[{"Mayor": ["said the bridge"], "Union": ["said the bridge"]}])
    pred = predict([{"Union": [quote("said the bridge")]}])
    scores = score_case(case, pred)
    assert scores.attribution == 1.0
    assert scores.evidence_recall == pytest.approx(1 / 2)  # only the Union evidence is under its side


def test_account_keys_follow_predicted_sides_after_folding() -> None:
    pred = predict([{"the  MAYOR": [quote("the bridge is safe")]}], sides=["The Mayor", "Union"])
    assert score_case(make_case(), pred).attribution == 1.0
    unknown = predict([{"Someone": [quote("the bridge is safe")]}])
    scores = score_case(make_case(), unknown)
    assert scores.attribution == 0.0
    assert scores.misattributed[0].placed_under == "Someone"
