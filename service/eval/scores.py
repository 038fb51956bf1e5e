"""Eval scores, exactly as ../shared/eval/FORMAT.md defines them: pure functions over cases and predictions.

Decisions where FORMAT.md leaves room (each pinned by a test in tests/test_scores.py):
- A labelled quote that occurs more than once in its document accepts every occurrence: the label
  names words, not a position, and a prediction citing the same words elsewhere cites the same
  evidence. (Labels are sentence-length, so a repeat is nearly always a true repeat.)
- A predicted account belongs to the predicted side whose name equals its key (exactly, else after
  case and whitespace folding). A key that names no predicted side has no matched labelled side.
- Point alignment: a "matched quote" of a labelled side is a predicted quote that overlaps that
  side's evidence in the point AND sits under the predicted side matched to it (as for evidence
  recall). "The matched quotes of some two of its sides land in the same predicted point" needs at
  least one matched quote of each of two sides there, not all of them. "Makes up at least half"
  counts the predicted point's quotes overlapping any evidence of the labelled point (any side) over
  its quotes overlapping any labelled evidence of the case; 0.5 is enough.
- An answerable case that abstained scores 0 on side F1, evidence recall and point alignment, except
  that point alignment stays undefined when the case has no point with two or more sides. The claim
  scores have no such rule: they are computed over whatever points the answer holds.
- Cost figures are taken over the cases that did not fail: a failure's zero calls are not a cost.
The claim scores' own decisions are in claims.py; the stage diagnostics are defined in stages.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from pydantic import Field

from .cases import Case, Prediction, PredQuote, Strict
from .claims import claim_fidelity, claim_own_quotes, topic_fidelity
from .matching import (
    Label,
    Placed,
    account_sides,
    halves,
    labels_of,
    match_sides,
    matched_sides,
    names_match,
    occurrences,
    place,
)
from .stages import LOSSES, STAGE_NAMES, stages

__all__ = [
    "COST_NAMES", "LOSSES", "SCORE_NAMES", "STAGE_NAMES", "CaseScores", "Metrics", "aggregate",
    "match_sides", "names_match", "occurrences", "score_case",
]  # fmt: skip

SCORE_NAMES = (
    "side_f1",
    "evidence_recall",
    "attribution",
    "quote_precision",
    "grounding",
    "point_alignment",
    "claim_own_quotes",
    "claim_fidelity",
    "topic_fidelity",
    "abstention",
)
COST_NAMES = (
    "latency_s_median",
    "llm_calls_mean",
    "llm_calls_median",
    "prompt_tokens_mean",
    "prompt_tokens_median",
    "completion_tokens_mean",
    "completion_tokens_median",
)


# --- results ----------------------------------------------------------------------------------
class Missed(Strict):
    """A labelled evidence quote no predicted quote under the matched side overlapped."""

    side: str
    topic: str
    doc: str
    quote: str
    stage: str = ""  # where it was lost: a key of LOSSES ("" in runs from before the diagnostics)
    rule: str = ""  # for wrong_side and no_side: the rule that misplaced it, or why none placed it


class Misattributed(Strict):
    """A predicted quote that overlaps labelled evidence but sits under another side."""

    placed_under: str
    labelled_under: list[str]
    doc: str
    text: str


class CaseScores(Strict):
    """Every score and stage recall for one case (None where undefined), its cost and what was missed."""

    id: str
    answerable: bool
    abstained: bool
    error: str | None = None
    partial: bool = False
    notes: list[str] = Field(default_factory=list)
    side_f1: float | None = None
    evidence_recall: float | None = None
    attribution: float | None = None
    quote_precision: float | None = None
    grounding: float | None = None
    point_alignment: float | None = None
    claim_own_quotes: float | None = None
    claim_fidelity: float | None = None
    topic_fidelity: float | None = None
    abstention: float
    stage_retrieved: float | None = None
    stage_placed: float | None = None
    stage_attributed: float | None = None
    stage_lined_up: float | None = None
    evidence: int = 0
    lost: dict[str, int] = Field(default_factory=dict)
    latency_s: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    missed: list[Missed] = Field(default_factory=list)
    misattributed: list[Misattributed] = Field(default_factory=list)

    def values(self) -> dict[str, float | None]:
        """The scores of FORMAT.md by name."""
        return {name: getattr(self, name) for name in SCORE_NAMES}

    def stages(self) -> dict[str, float | None]:
        """The cumulative stage recalls by name."""
        return {name: getattr(self, name) for name in STAGE_NAMES}


class Metrics(Strict):
    """Means over cases (undefined left out), evidence lost per stage (summed), cost and case counts."""

    side_f1: float | None = None
    evidence_recall: float | None = None
    attribution: float | None = None
    quote_precision: float | None = None
    grounding: float | None = None
    point_alignment: float | None = None
    claim_own_quotes: float | None = None
    claim_fidelity: float | None = None
    topic_fidelity: float | None = None
    abstention: float | None = None
    stage_retrieved: float | None = None
    stage_placed: float | None = None
    stage_attributed: float | None = None
    stage_lined_up: float | None = None
    evidence: int = 0
    lost: dict[str, int] = Field(default_factory=dict)
    latency_s_median: float | None = None
    llm_calls_mean: float | None = None
    llm_calls_median: float | None = None
    prompt_tokens_mean: float | None = None
    prompt_tokens_median: float | None = None
    completion_tokens_mean: float | None = None
    completion_tokens_median: float | None = None
    retries: int = 0  # summed: each a failed try that was repeated
    cases: int = 0
    errors: int = 0
    partial: int = 0
    strategy: str = ""


# --- scoring ----------------------------------------------------------------------------------
def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _grounded(q: PredQuote, texts: dict[str, str]) -> bool:
    text = texts.get(q.doc)
    return text is not None and 0 <= q.start <= q.end <= len(text) and text[q.start : q.end] == q.text


def _point_alignment(case: Case, labels: list[Label], placed: list[Placed]) -> float | None:
    multi = [pi for pi, p in enumerate(case.points) if len(p.accounts) >= 2]
    if not multi:
        return None
    made = halves(labels, placed)
    aligned = sum(
        any(lp in lps and len(matched_sides(labels, placed, pp, lp)) >= 2 for pp, lps in made.items())
        for lp in multi
    )
    return aligned / len(multi)


def score_case(case: Case, pred: Prediction, texts: dict[str, str] | None = None) -> CaseScores:
    """All scores for one case. `texts` adds documents the prediction may cite beyond the case's own."""
    texts = {**(texts or {}), **case.texts()}
    labels = labels_of(case)
    key_side = account_sides(pred, case)
    placed = place(pred, labels, key_side)

    abstained_wrongly = case.answerable and pred.abstained
    side_f1 = None
    if case.answerable:
        matched = len(match_sides(pred.sides, case.sides))
        side_f1 = 0.0 if abstained_wrongly else 2 * matched / (len(pred.sides) + len(case.sides))

    found = [any(p.side == lab.side and i in p.hits for p in placed) for i, lab in enumerate(labels)]
    recall = _ratio(sum(found), len(labels))
    overlapping = [p for p in placed if p.hits]
    right = [p for p in overlapping if p.correct(labels)]
    alignment = _point_alignment(case, labels, placed)
    if abstained_wrongly:
        recall = 0.0
        alignment = None if alignment is None else 0.0
    lost = stages(case, labels, [] if abstained_wrongly else placed, pred.candidates)

    return CaseScores(
        id=case.id,
        answerable=case.answerable,
        abstained=pred.abstained,
        error=pred.error,
        partial=pred.partial,
        notes=pred.notes,
        side_f1=side_f1,
        evidence_recall=recall,
        attribution=_ratio(len(right), len(overlapping)),
        quote_precision=_ratio(len(overlapping), len(placed)),
        grounding=_ratio(sum(_grounded(p.quote, texts) for p in placed), len(placed)),
        point_alignment=alignment,
        claim_own_quotes=claim_own_quotes(pred),
        claim_fidelity=claim_fidelity(case, pred, labels, placed, key_side),
        topic_fidelity=topic_fidelity(case, pred, labels, placed),
        abstention=1.0 if pred.abstained == (not case.answerable) else 0.0,
        **lost.recalls,
        evidence=lost.evidence,
        lost=lost.lost,
        latency_s=pred.stats.latency_s,
        llm_calls=pred.stats.llm_calls,
        prompt_tokens=pred.stats.prompt_tokens,
        completion_tokens=pred.stats.completion_tokens,
        retries=pred.stats.retries,
        missed=[
            Missed(
                side=lab.side,
                topic=case.points[lab.point].topic,
                doc=lab.doc,
                quote=lab.quote,
                stage=where or "",
                rule=rule,
            )
            for lab, ok, where, rule in zip(labels, found, lost.where, lost.rules, strict=True)
            if not ok
        ],
        misattributed=[
            Misattributed(
                placed_under=p.key,
                labelled_under=sorted({labels[h].side for h in p.hits}),
                doc=p.quote.doc,
                text=p.quote.text,
            )
            for p in overlapping
            if not p.correct(labels)
        ],
    )


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def aggregate(scores: Sequence[CaseScores]) -> Metrics:
    """Average each score over the cases where it is defined; cost over the cases that did not fail."""
    ok = [s for s in scores if s.error is None]
    calls = [float(s.llm_calls) for s in ok]
    prompt = [float(s.prompt_tokens) for s in ok]
    completion = [float(s.completion_tokens) for s in ok]
    return Metrics(
        **{name: _mean(getattr(s, name) for s in scores) for name in (*SCORE_NAMES, *STAGE_NAMES)},
        evidence=sum(s.evidence for s in scores),
        lost={key: sum(s.lost.get(key, 0) for s in scores) for key in LOSSES},
        latency_s_median=_median([s.latency_s for s in ok]),
        llm_calls_mean=_mean(calls),
        llm_calls_median=_median(calls),
        prompt_tokens_mean=_mean(prompt),
        prompt_tokens_median=_median(prompt),
        completion_tokens_mean=_mean(completion),
        completion_tokens_median=_median(completion),
        retries=sum(s.retries for s in ok),
        cases=len(scores),
        errors=len(scores) - len(ok),
        partial=sum(s.partial for s in scores),
    )
