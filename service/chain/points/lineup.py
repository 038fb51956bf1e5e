"""Points: the sides' placed statements lined up into points, each with a claim, a topic and a kind."""

from __future__ import annotations

import numpy as np

from ...models import Statement
from ..draft import Citation, Draft, DraftAccount, DraftPoint, DraftSide
from ..sides.backbone import Backbone, argued, heard_only
from ..sides.placement import keys
from .pairing import PAIR_AT, group
from .wording import claim_from, denies, topics


def draft(
    bone: Backbone, statements: list[Statement], vectors: np.ndarray, labels: dict[str, str] | None = None
) -> Draft:
    """The complete rules answer from `labels` (the backbone's own by default)."""
    labels = bone.labels if labels is None else labels
    cited = [i for i, s in enumerate(statements) if s.sid in labels and not s.heading]
    # A side heard only in a headline has nothing to quote (headlines are never cited).
    quoted = {labels[statements[i].sid] for i in cited}
    heard = [side for side in bone.sides if side in quoted]
    if len(heard) < 2:
        return Draft(answerable=False, reason=bone.reason or f"{heard_only(heard)} is in the documents")
    # In a list of arguments (no one speaks) each argument answers the same motion, so each pairs
    # with the other side's nearest one however little their words share ("A flat fee is fairer").
    pair_at = -1.0 if argued(statements) else PAIR_AT
    groups = group(
        [statements[i] for i in cited], [labels[statements[i].sid] for i in cited], vectors[cited], pair_at
    )
    names = {k for side in heard for k in keys(side)} | {
        k for s in statements if s.speaker for k in keys(s.speaker)
    }
    members = [[statements[cited[i]] for i in g] for g in groups]
    points = [
        point(m, labels, heard, vectors[[cited[i] for i in g]], topic)
        for m, g, topic in zip(members, groups, topics(members, names), strict=True)
    ]
    speakers = speakers_by_side(statements, labels, heard)
    return Draft(
        answerable=True,
        sides=[DraftSide(name=side, speakers=speakers[side]) for side in heard],
        points=points,
    )


def speakers_by_side(
    statements: list[Statement], labels: dict[str, str], sides: list[str]
) -> dict[str, list[str]]:
    """Each side's speakers, in order of first appearance."""
    out: dict[str, list[str]] = {side: [] for side in sides}
    for s in statements:
        side = labels.get(s.sid)
        if s.speaker and side in out and s.speaker not in out[side]:
            out[side].append(s.speaker)
    return out


def point(
    members: list[Statement], labels: dict[str, str], sides: list[str], vectors: np.ndarray, topic: str
) -> DraftPoint:
    """One point under `topic`: each side's statements, a claim from the side's best quote, and a kind."""
    centre = vectors.mean(axis=0)
    by_side: dict[str, list[int]] = {}
    for i, s in enumerate(members):
        by_side.setdefault(labels[s.sid], []).append(i)
    present = [side for side in sides if side in by_side]
    accounts = []
    for side in present:
        best = max(
            by_side[side], key=lambda i: float(vectors[i] @ centre) / (np.linalg.norm(vectors[i]) + 1e-12)
        )
        accounts.append(
            DraftAccount(
                side=side,
                claim=claim_from(members[best].parse),
                citations=[Citation(id=members[i].sid) for i in by_side[side]],
            )
        )
    kind = (
        "one_side_only" if len(present) == 1 else "contradiction" if denies(members) else "different_emphasis"
    )
    return DraftPoint(topic=topic, kind=kind, accounts=accounts)
