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
  that point alignment stays undefined when the case has no point with two or more sides.
- Cost figures are taken over the cases that did not fail: a failure's zero calls are not a cost.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import Field

from .cases import Case, LabelSide, Prediction, PredQuote, PredSide, Strict, fold

SCORE_NAMES = (
    "side_f1",
    "evidence_recall",
    "attribution",
    "quote_precision",
    "grounding",
    "point_alignment",
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
MIN_NAME = 3


# --- results ----------------------------------------------------------------------------------
class Missed(Strict):
    """A labelled evidence quote no predicted quote under the matched side overlapped."""

    side: str
    topic: str
    doc: str
    quote: str


class Misattributed(Strict):
    """A predicted quote that overlaps labelled evidence but sits under another side."""

    placed_under: str
    labelled_under: list[str]
    doc: str
    text: str


class CaseScores(Strict):
    """Every score for one case (None where undefined), its cost, and what was missed."""

    id: str
    answerable: bool
    abstained: bool
    error: str | None = None
    side_f1: float | None = None
    evidence_recall: float | None = None
    attribution: float | None = None
    quote_precision: float | None = None
    grounding: float | None = None
    point_alignment: float | None = None
    abstention: float
    latency_s: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    missed: list[Missed] = Field(default_factory=list)
    misattributed: list[Misattributed] = Field(default_factory=list)

    def values(self) -> dict[str, float | None]:
        """The seven scores by name."""
        return {name: getattr(self, name) for name in SCORE_NAMES}


class Metrics(Strict):
    """Plain means over cases (undefined scores left out), abstention accuracy and cost figures."""

    side_f1: float | None = None
    evidence_recall: float | None = None
    attribution: float | None = None
    quote_precision: float | None = None
    grounding: float | None = None
    point_alignment: float | None = None
    abstention: float | None = None
    latency_s_median: float | None = None
    llm_calls_mean: float | None = None
    llm_calls_median: float | None = None
    prompt_tokens_mean: float | None = None
    prompt_tokens_median: float | None = None
    completion_tokens_mean: float | None = None
    completion_tokens_median: float | None = None
    cases: int = 0
    errors: int = 0


# --- matching ---------------------------------------------------------------------------------
def names_match(a: str, b: str) -> bool:
    """Equal, contains or contained in, after folding; names under 3 characters never match."""
    fa, fb = fold(a), fold(b)
    if len(fa) < MIN_NAME or len(fb) < MIN_NAME:
        return False
    return fa in fb or fb in fa


def match_sides(predicted: Sequence[PredSide], labelled: Sequence[LabelSide]) -> dict[int, int]:
    """Greedy one-to-one matching: predicted index -> labelled index, in predicted order."""
    taken: dict[int, int] = {}
    for pi, side in enumerate(predicted):
        mine = [side.name, *side.speakers]
        for li, label in enumerate(labelled):
            if li in taken.values():
                continue
            if any(names_match(m, t) for m in mine for t in (label.name, *label.aliases)):
                taken[pi] = li
                break
    return taken


def occurrences(text: str, quote: str) -> list[tuple[int, int]]:
    """Every `[start, end)` where `quote` occurs in `text` (overlapping occurrences included)."""
    spans, at = [], text.find(quote)
    while quote and at >= 0:
        spans.append((at, at + len(quote)))
        at = text.find(quote, at + 1)
    return spans


def _intersects(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


@dataclass(frozen=True)
class _Label:
    point: int
    side: str
    doc: str
    quote: str
    spans: list[tuple[int, int]]


@dataclass(frozen=True)
class _Placed:
    point: int
    side: str | None  # the labelled side matched to the account's predicted side
    key: str
    quote: PredQuote
    hits: list[int]  # indices into the labels this quote overlaps

    def correct(self, labels: list[_Label]) -> bool:
        """Under a side that some evidence this quote overlaps is labelled under."""
        return self.side is not None and any(labels[h].side == self.side for h in self.hits)


def _labels(case: Case) -> list[_Label]:
    texts = case.texts()
    return [
        _Label(point=pi, side=side, doc=ev.doc, quote=ev.quote, spans=occurrences(texts[ev.doc], ev.quote))
        for pi, point in enumerate(case.points)
        for side, account in point.accounts.items()
        for ev in account.evidence
    ]


def _account_sides(pred: Prediction, case: Case) -> dict[str, str | None]:
    """Each account key -> the labelled side its predicted side is matched to (None if unmatched)."""
    pairs = match_sides(pred.sides, case.sides)
    by_exact = {s.name: i for i, s in enumerate(pred.sides)}
    by_fold = {fold(s.name): i for i, s in enumerate(pred.sides)}
    out: dict[str, str | None] = {}
    for point in pred.points:
        for key in point.accounts:
            pi = by_exact.get(key, by_fold.get(fold(key)))
            out[key] = case.sides[pairs[pi]].name if pi is not None and pi in pairs else None
    return out


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _grounded(q: PredQuote, texts: dict[str, str]) -> bool:
    text = texts.get(q.doc)
    return text is not None and 0 <= q.start <= q.end <= len(text) and text[q.start : q.end] == q.text


def _point_alignment(case: Case, labels: list[_Label], placed: list[_Placed]) -> float | None:
    multi = [pi for pi, p in enumerate(case.points) if len(p.accounts) >= 2]
    if not multi:
        return None
    aligned = 0
    for lp in multi:
        for pp in {p.point for p in placed}:
            inside = [p for p in placed if p.point == pp and p.hits]
            sides_here = {
                p.side
                for p in inside
                if any(labels[h].point == lp and labels[h].side == p.side for h in p.hits)
            }
            ours = sum(1 for p in inside if any(labels[h].point == lp for h in p.hits))
            if len(sides_here) >= 2 and 2 * ours >= len(inside):
                aligned += 1
                break
    return aligned / len(multi)


def score_case(case: Case, pred: Prediction, texts: dict[str, str] | None = None) -> CaseScores:
    """All scores for one case. `texts` adds documents the prediction may cite beyond the case's own."""
    texts = {**(texts or {}), **case.texts()}
    labels = _labels(case)
    key_side = _account_sides(pred, case)
    placed: list[_Placed] = []
    for pi, point in enumerate(pred.points):
        for key, account in point.accounts.items():
            for q in account.quotes:
                hits = [
                    i
                    for i, lab in enumerate(labels)
                    if lab.doc == q.doc and _intersects(q.start, q.end, lab.spans)
                ]
                placed.append(_Placed(point=pi, side=key_side[key], key=key, quote=q, hits=hits))

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

    return CaseScores(
        id=case.id,
        answerable=case.answerable,
        abstained=pred.abstained,
        error=pred.error,
        side_f1=side_f1,
        evidence_recall=recall,
        attribution=_ratio(len(right), len(overlapping)),
        quote_precision=_ratio(len(overlapping), len(placed)),
        grounding=_ratio(sum(_grounded(p.quote, texts) for p in placed), len(placed)),
        point_alignment=alignment,
        abstention=1.0 if pred.abstained == (not case.answerable) else 0.0,
        latency_s=pred.stats.latency_s,
        llm_calls=pred.stats.llm_calls,
        prompt_tokens=pred.stats.prompt_tokens,
        completion_tokens=pred.stats.completion_tokens,
        missed=[
            Missed(side=lab.side, topic=case.points[lab.point].topic, doc=lab.doc, quote=lab.quote)
            for lab, ok in zip(labels, found, strict=True)
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
        **{name: _mean(s.values()[name] for s in scores) for name in SCORE_NAMES},
        latency_s_median=_median([s.latency_s for s in ok]),
        llm_calls_mean=_mean(calls),
        llm_calls_median=_median(calls),
        prompt_tokens_mean=_mean(prompt),
        prompt_tokens_median=_median(prompt),
        completion_tokens_mean=_mean(completion),
        completion_tokens_median=_median(completion),
        cases=len(scores),
        errors=len(scores) - len(ok),
    )
