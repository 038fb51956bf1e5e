"""What the scores share: side matching, labelled evidence, predicted quotes placed against it, and
which labelled points make up at least half of a predicted point (../shared/eval/FORMAT.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .cases import Case, LabelSide, Prediction, PredQuote, PredSide, fold

MIN_NAME = 3


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


def intersects(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether `[start, end)` shares a character with any of `spans`."""
    return any(start < e and s < end for s, e in spans)


@dataclass(frozen=True)
class Label:
    """One labelled evidence quote, with every span where its words occur."""

    point: int
    side: str
    doc: str
    quote: str
    spans: list[tuple[int, int]]


@dataclass(frozen=True)
class Placed:
    """One predicted quote: its predicted point, account key, matched labelled side and label hits."""

    point: int
    side: str | None  # the labelled side matched to the account's predicted side
    key: str
    quote: PredQuote
    hits: list[int]  # indices into the labels this quote overlaps

    def correct(self, labels: list[Label]) -> bool:
        """Under a side that some evidence this quote overlaps is labelled under."""
        return self.side is not None and any(labels[h].side == self.side for h in self.hits)


def labels_of(case: Case) -> list[Label]:
    """Every labelled evidence quote of the case, in point and side order."""
    texts = case.texts()
    return [
        Label(point=pi, side=side, doc=ev.doc, quote=ev.quote, spans=occurrences(texts[ev.doc], ev.quote))
        for pi, point in enumerate(case.points)
        for side, account in point.accounts.items()
        for ev in account.evidence
    ]


def account_sides(pred: Prediction, case: Case) -> dict[str, str | None]:
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


def place(pred: Prediction, labels: list[Label], key_side: dict[str, str | None]) -> list[Placed]:
    """Every predicted quote with the labels it overlaps (same document, spans intersect)."""
    placed: list[Placed] = []
    for pi, point in enumerate(pred.points):
        for key, account in point.accounts.items():
            for q in account.quotes:
                hits = [
                    i
                    for i, lab in enumerate(labels)
                    if lab.doc == q.doc and intersects(q.start, q.end, lab.spans)
                ]
                placed.append(Placed(point=pi, side=key_side[key], key=key, quote=q, hits=hits))
    return placed


def halves(labels: list[Label], placed: list[Placed]) -> dict[int, list[int]]:
    """Predicted point -> the labelled points making up at least half of its quotes that overlap evidence."""
    out: dict[int, list[int]] = {}
    for pp in sorted({p.point for p in placed}):
        inside = [p for p in placed if p.point == pp and p.hits]
        counts = Counter(lp for p in inside for lp in {labels[h].point for h in p.hits})
        out[pp] = [lp for lp, n in sorted(counts.items()) if 2 * n >= len(inside)]
    return out


def matched_sides(labels: list[Label], placed: list[Placed], pp: int, lp: int) -> set[str]:
    """The labelled sides of `lp` with a matched quote (under their matched side) in predicted point `pp`."""
    return {
        p.side
        for p in placed
        if p.point == pp
        and p.side is not None
        and any(labels[h].point == lp and labels[h].side == p.side for h in p.hits)
    }
