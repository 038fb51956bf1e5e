"""Scores, part two: point alignment, claim and topic fidelity, averages and case validation, on
hand-built cases and predictions. Split from test_scores.py, which keeps whole answers, abstention,
side matching, evidence recall, precision and attribution."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from test_scores import make_case, perfect, predict, quote

from service.eval.cases import Case
from service.eval.scores import (
    CaseScores,
    aggregate,
    score_case,
)

# --- point alignment ------------------------------------------------------------------------------
SAFE, UNSAFE = quote("the bridge is safe"), quote("the bridge is unsafe")
LOW, HIGH, FAIR = quote("costs are low"), quote("costs are high"), quote("the vote was fair")


def align(points: list[dict[str, list[dict[str, Any]]]], case: Case | None = None) -> float | None:
    return score_case(case or make_case(), predict(points)).point_alignment


def test_alignment_one_predicted_point_per_labelled_point() -> None:
    assert align([{"Mayor": [SAFE], "Union": [UNSAFE]}, {"Mayor": [LOW], "Union": [HIGH]}]) == 1.0


def test_alignment_ignores_one_sided_labelled_points() -> None:
    # Only the two two-sided points count; the one-sided vote point is not in the denominator.
    assert align([{"Mayor": [SAFE], "Union": [UNSAFE]}]) == pytest.approx(1 / 2)


def test_alignment_needs_two_sides_in_the_same_predicted_point() -> None:
    split = [{"Mayor": [SAFE]}, {"Union": [UNSAFE]}, {"Mayor": [LOW], "Union": [HIGH]}]
    assert align(split) == pytest.approx(1 / 2)


def test_alignment_one_big_point_scores_nothing() -> None:
    big = [{"Mayor": [SAFE, LOW, FAIR], "Union": [UNSAFE, HIGH]}]
    assert align(big) == 0.0  # each labelled point is 2 of the 5 overlapping quotes


def test_alignment_exactly_half_is_enough() -> None:
    # Safety is 2 of the 4 overlapping quotes here: at least half.
    assert align([{"Mayor": [SAFE, LOW, FAIR], "Union": [UNSAFE]}]) == pytest.approx(1 / 2)


def test_alignment_half_counts_only_quotes_that_overlap_labels() -> None:
    noise = [quote("Nobody mentioned the weather"), quote("The union said"), quote("The mayor")]
    assert align([{"Mayor": [SAFE, *noise], "Union": [UNSAFE]}]) == pytest.approx(1 / 2)


def test_alignment_needs_the_quotes_under_their_matched_sides() -> None:
    # Both safety quotes in one point, but both under the mayor: only one side is matched.
    assert align([{"Mayor": [SAFE, UNSAFE]}]) == 0.0


def test_alignment_any_two_of_three_sides_suffice() -> None:
    case = make_case(
        points=[
            {"Mayor": ["the bridge is safe"], "Union": ["the bridge is unsafe"], "Council": ["costs are low"]}
        ],
        n_sides=3,
    )
    pred = predict([{"Mayor": [SAFE], "Council": [LOW]}], sides=["Mayor", "Union", "Council"])
    assert score_case(case, pred).point_alignment == 1.0


def test_alignment_undefined_without_two_sided_points() -> None:
    case = make_case(points=[{"Mayor": ["the bridge is safe"]}, {"Union": ["costs are high"]}])
    assert align([{"Mayor": [SAFE], "Union": [HIGH]}], case) is None
    abstained = score_case(case, predict([], sides=[], abstained=True))
    assert abstained.point_alignment is None and abstained.evidence_recall == 0.0


# --- claim scores ---------------------------------------------------------------------------------
# Stems of the quotes: SAFE {bridg, safe}, UNSAFE {bridg, unsaf}, LOW {costs}, HIGH {costs, high},
# FAIR {vote, fair}. The labelled claims here are their quotes' words (see make_case).
def claims(points: list[dict[str, Any]], **kw: Any) -> tuple[float | None, float | None]:
    """Claim own-quotes and claim fidelity of a prediction whose accounts are (claim, quotes)."""
    scores = score_case(kw.pop("case", None) or make_case(), predict(points, **kw))
    return scores.claim_own_quotes, scores.claim_fidelity


def test_a_claim_restating_the_other_sides_accusation_scores_zero() -> None:
    # Mayor: {union, bridg, unsaf} ("says" is a stop word): 1/3 of it in its own quote, 2/3 in the union's.
    own, fidelity = claims(
        [{"Mayor": ("the union says the bridge is unsafe", [SAFE]), "Union": ("bridge unsafe", [UNSAFE])}]
    )
    assert own == pytest.approx((0 + 1) / 2)
    assert fidelity == pytest.approx((0 + 1) / 2)  # against the labelled claims: the same verdicts


def test_a_claim_tie_counts_one_half() -> None:
    own, _ = claims([{"Mayor": ("bridge", [SAFE]), "Union": ("bridge unsafe", [UNSAFE])}])
    assert own == pytest.approx((0.5 + 1) / 2)


def test_claims_without_stems_in_either_are_left_out() -> None:
    no_stem = [{"Mayor": ("it is so", [SAFE]), "Union": ("weather report", [UNSAFE])}]
    assert claims(no_stem) == (None, None)
    one_claim = [{"Mayor": ("bridge safe", [SAFE]), "Union": ("", [UNSAFE])}]
    assert claims(one_claim) == (None, None)  # a point needs two non-empty claims


def test_own_quotes_counts_every_other_accounts_quotes_and_needs_no_labels() -> None:
    # Mayor {costs}: 1 in its own, 0 in the union's, 1 in the claimless council's: a tie (0.5).
    # Union {bridg}: 1 in its own, 0 in the others': 1. Council has no claim and is not scored.
    point = {"Mayor": ("costs", [LOW]), "Union": ("bridge", [UNSAFE]), "Council": ("", [HIGH])}
    own, _ = claims([point], sides=["Mayor", "Union", "Council"])
    assert own == pytest.approx(0.75)
    unanswerable = make_case(points=[], answerable=False, n_sides=0)
    assert claims([point], case=unanswerable) == (pytest.approx(0.75), None)


def test_claim_scores_pool_claims_not_points() -> None:
    three = {
        "Mayor": ("bridge safe", [SAFE]),  # 1 vs 1/2 and 0: 1
        "Union": ("bridge safe", [UNSAFE]),  # 1/2 vs 1 and 0: 0
        "Council": ("costs high", [HIGH]),  # 1 vs 0 and 0: 1
    }
    two = {"Mayor": ("vote fair", [FAIR]), "Union": ("vote fair", [LOW])}  # 1, then 0
    own, _ = claims([three, two], sides=["Mayor", "Union", "Council"])
    assert own == pytest.approx(3 / 5)  # not the mean of the points' shares, (2/3 + 1/2) / 2


def test_fidelity_reads_the_labelled_claims_not_the_quotes() -> None:
    # Quotes swapped, claims right: each claim reads closer to the other side's quotes (own-quotes 0)
    # but to its own side's labelled claim (fidelity 1).
    assert claims([{"Mayor": ("bridge safe", [UNSAFE]), "Union": ("bridge unsafe", [SAFE])}]) == (0.0, 1.0)


def test_fidelity_needs_a_labelled_point_making_up_half() -> None:
    big = [{"Mayor": ("bridge safe", [SAFE, LOW, FAIR]), "Union": ("bridge unsafe", [UNSAFE, HIGH])}]
    assert claims(big) == (1.0, None)  # each labelled point is 2 of its 5 labelled quotes


def test_fidelity_averages_a_claim_over_two_half_points() -> None:
    # Safety and costs are 2 of 4 quotes each. Mayor {safe, costs}: safety 1/2 vs 0 -> 1, costs 1/2 vs
    # 1/2 -> 0.5: mean 0.75. Union {bridg, costs}: safety 1/2 vs 1/2, costs 1/2 vs 1/2: 0.5.
    point = {"Mayor": ("safe costs", [SAFE, LOW]), "Union": ("bridge costs", [UNSAFE, HIGH])}
    _, fidelity = claims([point])
    assert fidelity == pytest.approx((0.75 + 0.5) / 2)


def test_fidelity_needs_labelled_claims_of_two_sides_and_a_matched_side() -> None:
    one_sided = [{"Mayor": ("fair vote", [FAIR]), "Union": ("bridge unsafe", [])}]
    assert claims(one_sided)[1] is None  # the vote point has the mayor's labelled claim only
    unmatched = [{"Mayor": ("bridge safe", [SAFE]), "Police": ("bridge unsafe", [UNSAFE])}]
    assert claims(unmatched, sides=["Mayor", "Police"]) == (1.0, 1.0)  # Police is left out of fidelity


# --- averages -------------------------------------------------------------------------------------
def test_averages_leave_undefined_scores_out() -> None:
    unanswerable = make_case(points=[], answerable=False, n_sides=0)
    rows = [
        score_case(make_case(), perfect()),
        score_case(unanswerable, predict([], sides=[], abstained=True)),
        score_case(make_case(), predict([], sides=[], abstained=True)),
    ]
    metrics = aggregate(rows)
    assert metrics.side_f1 == pytest.approx(1 / 2)  # (1 + 0) / 2: the unanswerable case is left out
    assert metrics.grounding == 1.0  # only the first case has quotes
    assert metrics.abstention == pytest.approx(2 / 3)
    assert metrics.cases == 3 and metrics.errors == 0


def test_cost_figures_skip_failed_cases() -> None:
    def row(latency: float, calls: int, error: str | None = None) -> CaseScores:
        return CaseScores(
            id="x", answerable=True, abstained=False, abstention=0.0, error=error,
            latency_s=latency, llm_calls=calls, prompt_tokens=calls * 10, completion_tokens=calls,
        )  # fmt: skip

    metrics = aggregate([row(1.0, 1), row(3.0, 2), row(10.0, 9), row(0.1, 0, "boom")])
    assert metrics.latency_s_median == 3.0
    assert metrics.llm_calls_mean == pytest.approx(4.0) and metrics.llm_calls_median == 2.0
    assert metrics.prompt_tokens_median == 20.0 and metrics.completion_tokens_mean == pytest.approx(4.0)
    assert metrics.errors == 1 and metrics.cases == 4
    assert aggregate([]).side_f1 is None and aggregate([]).latency_s_median is None


# --- case validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"points": [{"Mayor": ["the bridge is SAFE"]}]}, "not an exact substring"),
        ({"points": [{"Police": ["the bridge is safe"]}]}, "not one of the case's sides"),
        ({"answerable": False}, "unanswerable case has no sides"),
        ({"points": [], "n_sides": 2}, "at least 2 sides and 1 point"),
        ({"extra_key": 1}, "extra_key"),
    ],
)
def test_bad_cases_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_case(**change)


def test_predictions_keep_extra_fields() -> None:
    pred = predict([], reason="no dispute", kind_hint=3)
    dumped = pred.model_dump()
    assert dumped["reason"] == "no dispute" and dumped["kind_hint"] == 3


# --- topic fidelity -------------------------------------------------------------------------------
def _topics(
    topics: list[str], labelled: tuple[str, ...] = ("Bridge safety", "Building costs", "The vote")
) -> float | None:
    case = make_case()
    for point, topic in zip(case.points, labelled, strict=True):
        point.topic = topic
    pred = predict([{"Mayor": [SAFE], "Union": [UNSAFE]}, {"Mayor": [LOW], "Union": [HIGH]}])
    for point, topic in zip(pred.points, topics, strict=True):
        point.topic = topic
    return score_case(case, pred).topic_fidelity


def test_a_topic_must_read_closer_to_its_labelled_point_than_to_the_others() -> None:
    assert _topics(["Is the bridge safe?", "Who pays the building costs"]) == 1.0
    assert _topics(["Building costs", "Bridge safety"]) == 0.0  # each names the other point
    assert _topics(["Bridge costs", "Building costs"]) == pytest.approx((0.5 + 1) / 2)  # a tie is one half


def test_topics_without_stems_or_a_single_labelled_point_are_left_out() -> None:
    assert _topics(["Point", "Main"]) is None
    single = make_case(points=[{"Mayor": ["the bridge is safe"], "Union": ["the bridge is unsafe"]}])
    pred = predict([{"Mayor": [SAFE], "Union": [UNSAFE]}])
    assert score_case(single, pred).topic_fidelity is None
