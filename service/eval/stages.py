"""Stage diagnostics: for each labelled evidence quote, the first stage of the chain that lost it.

A quote is checked in this order, and counted lost at the first check it fails:
- retrieved: some candidate statement of the chain (the prediction's `candidates`) or some predicted
  quote overlaps it. Without a `candidates` field (an older run, a failure, an abstention before
  retrieval) this check is unknown: it is skipped, and the case is left out of the retrieval recall;
- placed: some predicted quote overlaps it, under any side;
- attributed: some predicted quote under the matched side overlaps it (as evidence recall counts);
- lined up: only for evidence of labelled points with two or more sides. Some predicted point holds
  it under the matched side, holds a matched quote of another side of that labelled point, and is
  made up at least half by that labelled point (point alignment, per quote). Evidence of a one-sided
  point passes this check once attributed: there is nothing to line it up with.
Each stage's recall is the share of the case's evidence that passed that check and all before it.
An answerable case that abstained placed nothing, as for evidence recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .cases import Case, PredCandidate
from .matching import Label, Placed, halves, intersects, matched_sides

STAGE_NAMES = ("stage_retrieved", "stage_placed", "stage_attributed", "stage_lined_up")
LOSSES = {
    "not_retrieved": "not retrieved",
    "no_side": "placed under no side",
    "wrong_side": "under the wrong side",
    "not_lined_up": "not lined up",
}


@dataclass
class Stages:
    """One case's stage recalls (None where undefined), evidence count and losses per stage."""

    recalls: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(STAGE_NAMES))
    evidence: int = 0
    lost: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LOSSES, 0))
    where: list[str | None] = field(default_factory=list)  # per label: the LOSSES key, None if kept
    rules: list[str] = field(default_factory=list)  # per label: what misplaced it, or why nothing placed it


def _retrieved(lab: Label, candidates: Sequence[PredCandidate]) -> bool:
    return any(c.doc == lab.doc and intersects(c.start, c.end, lab.spans) for c in candidates)


def _rule(lost: str | None, lab: Label, overlapped: list[Placed], candidates: Sequence[PredCandidate]) -> str:
    """For evidence under the wrong side, the side rule that put it there (and how its speaker was
    found); for evidence under no side, why no rule placed the sentence it is in."""
    if lost == "wrong_side":
        why = next((p.quote.why for p in overlapped if p.side != lab.side and p.quote.why), None) or {}
        side = why.get("side_rule", "no trace")
        return f"{side} ← {why['speaker_rule']}" if why.get("speaker_rule") else side
    if lost == "no_side":
        found = [c for c in candidates if c.doc == lab.doc and intersects(c.start, c.end, lab.spans)]
        why = next((c.why for c in found if c.why), None) or {}
        if why.get("side_rule"):
            return f"placed by {why['side_rule']}, not shown"
        return why.get("unplaced", "no speaker" if found else "no trace").split(" (")[0]
    return ""


def _lined_up(
    i: int, case: Case, labels: list[Label], placed: list[Placed], made: dict[int, list[int]]
) -> bool:
    lab = labels[i]
    if len(case.points[lab.point].accounts) < 2:
        return True
    for pp, lps in made.items():
        if lab.point not in lps:
            continue
        here = any(p.point == pp and p.side == lab.side and i in p.hits for p in placed)
        if here and matched_sides(labels, placed, pp, lab.point) - {lab.side}:
            return True
    return False


def stages(
    case: Case, labels: list[Label], placed: list[Placed], candidates: Sequence[PredCandidate] | None
) -> Stages:
    """Where each labelled evidence quote was lost; `placed` is empty for a wrong abstention."""
    out = Stages(evidence=len(labels))
    if not labels:
        return out
    made = halves(labels, placed)
    passed = dict.fromkeys(STAGE_NAMES, 0)
    for i, lab in enumerate(labels):
        overlapped = [p for p in placed if i in p.hits]
        checks = (
            ("not_retrieved", candidates is None or bool(overlapped) or _retrieved(lab, candidates)),
            ("no_side", bool(overlapped)),
            ("wrong_side", any(p.side == lab.side for p in overlapped)),
            ("not_lined_up", _lined_up(i, case, labels, placed, made)),
        )
        lost = next((key for key, ok in checks if not ok), None)
        out.where.append(lost)
        out.rules.append(_rule(lost, lab, overlapped, candidates or ()))
        if lost is not None:
            out.lost[lost] += 1
        failed_at = len(checks) if lost is None else [k for k, _ in checks].index(lost)
        for name in STAGE_NAMES[:failed_at]:
            passed[name] += 1
    n = len(labels)
    out.recalls = {name: passed[name] / n for name in STAGE_NAMES}
    if candidates is None:
        out.recalls["stage_retrieved"] = None
    return out
