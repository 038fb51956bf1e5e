"""The small-model strategy: the rules' backbone, then one short, constrained call per point for
its wording.

1. The backbone (sides/, points/) names the sides, places the statements and lines them up in points.
2. One call per point writes its topic, each side's claim and the kind. A claim that reads closer
   to another side's quotes than to its own, or whose call fails, keeps the backbone's claim, taken
   from the side's best quote. Every call starts with the same text (statements and question), so
   llama.cpp's prompt cache reuses it.

Why the model only writes, and only when asked (the local default is `rules`): on the development
set, the 1.5B model's placement of the speakers the rules leave open, and its naming of the sides
when the question names fewer than two, lost to the rules (evidence recall 0.470 -> 0.385, side F1
0.785 -> 0.693), so they were taken out; its wording of the rules' points lowered claim fidelity
too (0.691 -> 0.646), so the default does without it. A stronger model may word better: measure
it with `counterpoint eval --strategy per_statement`. See the README's eval section.
A question costs at most MAX_CALLS calls, one per point. A failed call costs only its point's
wording: the answer is marked partial, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field, create_model

from ...errors import ModelError
from ...llm import Backend, Usage, structured
from ...models import Statement
from ...wording import reads_own, stems
from ..draft import Draft, DraftPoint, Outcome
from ..points import lineup
from ..points.pairing import MAX_POINTS
from ..sides.backbone import Backbone
from . import stance
from .job import Job

MAX_CALLS = MAX_POINTS  # one call per point, and the backbone keeps at most MAX_POINTS
CONTEXT = 28  # statements shown at the start of every call: within the local model's 4k context
Progress = Callable[[str, float], None]


def _point_step(n_sides: int) -> type[BaseModel]:
    # Fixed keys in the order the sides are shown: a small model given a free "side" field
    # swaps claims between sides.
    claims = {f"claim_{i}": (str, Field(max_length=200)) for i in range(1, n_sides + 1)}
    kinds = Literal["contradiction", "different_emphasis"]
    return create_model("PointStep", topic=(str, Field(max_length=80)), **claims, kind=(kinds, ...))  # type: ignore[call-overload]


def run(job: Job) -> Outcome:
    """The per-statement strategy, producing the same kind of draft as the one-call strategy."""
    found = job.found
    statements = found.statements
    bone, notes = stance.settle(
        job.backend, job.asked, statements, found.affiliations, found.on_subject, job.usage
    )
    draft = lineup.draft(bone, statements, found.vectors)
    out = Outcome(draft, notes=notes, partial=bool(notes), why=bone.trace(statements))
    if draft.answerable:
        context = _context(statements, bone)
        _write_claims(job.backend(), job.question, statements, context, draft, job.usage, out, job.progress)
    return out


def _context(statements: list[Statement], bone: Backbone) -> list[Statement]:
    """The statements every call shows first, the same list each time so the server's prompt cache
    holds it: those the rules left open (who is who), then those they placed, in document order."""
    wanted = set(bone.open_statements) | {s.sid for s in statements if s.speaker in bone.open_speakers}
    ranked = sorted(
        range(len(statements)),
        key=lambda i: (statements[i].sid not in wanted, statements[i].sid not in bone.labels, i),
    )
    return [statements[i] for i in sorted(ranked[:CONTEXT])]


def _write_claims(
    backend: Backend,
    question: str,
    statements: list[Statement],
    context: list[Statement],
    draft: Draft,
    usage: Usage,
    out: Outcome,
    progress: Progress,
) -> None:
    """The model's topic, claims and kind for each point; each claim checked against its quotes."""
    by_id = {s.sid: s for s in statements}
    asked = stems(question)
    for g, point in enumerate(draft.points):
        progress("model: writing claims", 0.3 + 0.65 * g / len(draft.points))
        accounts = {a.side: [by_id[c.id] for c in a.citations] for a in point.accounts}
        try:
            step = structured(
                backend, _point_step(len(accounts)), "claims", usage, max_tokens=80 + 70 * len(accounts),
                question=question, statements=context, accounts=accounts,
            )  # fmt: skip
        except ModelError as exc:
            out.partial = True
            out.notes.append(
                f"the claims of point {g + 1} are taken from its quotes: the call failed ({exc})"
            )
            continue
        _adopt(point, step, accounts, asked)


def _adopt(point: DraftPoint, step: BaseModel, accounts: dict[str, list[Statement]], asked: set[str]) -> None:
    """Take the model's wording where it holds: a claim must read closer to its own side's quotes
    than to any other side's (the self-check), a topic must not merely repeat the question."""
    texts = {side: [s.text for s in items] for side, items in accounts.items()}
    for i, account in enumerate(point.accounts, 1):
        claim = " ".join(str(getattr(step, f"claim_{i}", "")).split())
        if not claim:
            continue
        others = [t for side, t in texts.items() if side != account.side]
        verdict = reads_own(claim, texts[account.side], others) if others else 1.0
        if verdict is None and others:
            continue
        if (
            verdict is not None and verdict >= 1.0
            if others
            else bool(stems(claim) & stems(" ".join(texts[account.side])))
        ):
            account.claim = claim
    topic = " ".join(str(getattr(step, "topic", "")).split())
    if topic and not (stems(topic) and stems(topic) <= asked):
        point.topic = topic
    if len(point.accounts) > 1:
        point.kind = step.kind  # type: ignore[attr-defined]
