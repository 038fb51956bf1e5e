"""The claim scores of ../shared/eval/FORMAT.md, claim own-quotes and claim fidelity, and topic
fidelity, which asks the same of a point's topic against the case's labelled topics.

The claim scores look at the accounts with a non-empty claim in predicted points that hold two or more such
accounts, and ask whether each claim reads closer to its own side than to every other side
(service/wording.py: 1, 0.5 on a tie, 0, or None when no stem of the claim is in either).

Decisions where FORMAT.md leaves room (each pinned by a test in tests/test_scores.py):
- Own-quotes: "any other side's quotes there" are the quotes of every other account in the point,
  including accounts with an empty claim.
- Fidelity: a predicted point may be made up half and half by two labelled points; a claim there is
  compared against each of them (where its side and another side have a labelled claim) and its
  results are averaged, so every claim weighs one. A claim under a side matched to no labelled side
  is left out.
"""

from __future__ import annotations

from ..wording import reads_own
from .cases import Case, PredAccount, Prediction
from .matching import Label, Placed, halves


def _claimed(accounts: dict[str, PredAccount]) -> dict[str, PredAccount]:
    """The accounts with a non-empty claim, if there are two or more of them."""
    claimed = {k: a for k, a in accounts.items() if a.claim.strip()}
    return claimed if len(claimed) >= 2 else {}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def claim_own_quotes(pred: Prediction) -> float | None:
    """Share of claims that read closer to their own side's quotes in the point than to any other's."""
    results: list[float] = []
    for point in pred.points:
        for key, account in _claimed(point.accounts).items():
            own = [q.text for q in account.quotes]
            others = [[q.text for q in a.quotes] for k, a in point.accounts.items() if k != key]
            if (r := reads_own(account.claim, own, others)) is not None:
                results.append(r)
    return _mean(results)


def claim_fidelity(
    case: Case, pred: Prediction, labels: list[Label], placed: list[Placed], key_side: dict[str, str | None]
) -> float | None:
    """Share of claims closer to their side's labelled claim than to any other's, in their point's half."""
    made = halves(labels, placed)
    results: list[float] = []
    for pi, point in enumerate(pred.points):
        for key, account in _claimed(point.accounts).items():
            side = key_side.get(key)
            per_point: list[float] = []
            for lp in made.get(pi, []):
                label_claims = {s: a.claim for s, a in case.points[lp].accounts.items() if a.claim.strip()}
                if side not in label_claims or len(label_claims) < 2:
                    continue
                others = [[c] for s, c in label_claims.items() if s != side]
                if (r := reads_own(account.claim, [label_claims[side]], others)) is not None:
                    per_point.append(r)
            if (m := _mean(per_point)) is not None:
                results.append(m)
    return _mean(results)


def topic_fidelity(case: Case, pred: Prediction, labels: list[Label], placed: list[Placed]) -> float | None:
    """Share of topics closer to their labelled point's topic than to the case's other labelled
    topics, for predicted points that a labelled point makes up at least half of (a tie counts one
    half; topics with no stem in either are left out; cases with fewer than two labelled points
    have none)."""
    if len(case.points) < 2:
        return None
    made = halves(labels, placed)
    results: list[float] = []
    for pi, point in enumerate(pred.points):
        per_point: list[float] = []
        for lp in made.get(pi, []):
            others = [[other.topic] for k, other in enumerate(case.points) if k != lp]
            if (r := reads_own(point.topic, [case.points[lp].topic], others)) is not None:
                per_point.append(r)
        if (m := _mean(per_point)) is not None:
            results.append(m)
    return _mean(results)
