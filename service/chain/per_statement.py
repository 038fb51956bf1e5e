"""The small-model strategy: the rules' backbone first, then a short, constrained question for each
thing the rules leave open, within a fixed budget of calls.

1. The backbone (rules.py) names the sides and places every statement whose speaker's attribution
   names a side. Only when the question names fewer than two parties and the speakers' bodies do
   not give two either, one call names the sides.
2. The speakers the rules could not place, and the statements of speech with no speaker, are asked
   about ("which side?") up to BATCH at a time, each batch twice with the sides in swapped order: a
   small model favours the first option, so only an answer that survives the swap counts. Every
   call starts with the same text (statements and question), so llama.cpp's prompt cache reuses it.
3. The points are the backbone's. One call per point writes its topic, each side's claim and the
   kind. A claim that reads closer to another side's quotes than to its own, or whose call fails,
   keeps the backbone's claim, taken from the side's best quote.
Past MAX_CALLS, what is left keeps the backbone's answer, and the answer says so. A failed call
costs only its part: the answer is marked partial, with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, create_model

from ..errors import ModelError
from ..llm import Backend, Usage, structured
from ..models import Statement
from ..wording import reads_own, stems
from . import rules
from .draft import Draft, DraftPoint
from .placement import MAX_POINTS, MAX_SIDES, question_parties

NONE = "none"
MAX_CALLS = 16
BATCH = 8  # speakers or statements asked about in one call
CONTEXT = 28  # statements shown at the start of every call: within the local model's 4k context
Progress = Callable[[str, float], None]


class SidesStep(BaseModel):
    """The sides of the dispute, or why the statements hold none."""

    answerable: bool
    reason: str = Field(max_length=240)
    sides: list[str] = Field(max_length=MAX_SIDES)


@dataclass
class Outcome:
    """A strategy's draft, and what the reader should know about how it was made."""

    draft: Draft
    notes: list[str] = field(default_factory=list)
    partial: bool = False


@dataclass
class _Budget:
    left: int

    def take(self, n: int) -> bool:
        if self.left < n:
            return False
        self.left -= n
        return True


def _point_step(n_sides: int) -> type[BaseModel]:
    # Fixed keys in the order the sides are shown: a small model given a free "side" field
    # swaps claims between sides.
    claims = {f"claim_{i}": (str, Field(max_length=200)) for i in range(1, n_sides + 1)}
    kinds = Literal["contradiction", "different_emphasis"]
    return create_model("PointStep", topic=(str, Field(max_length=80)), **claims, kind=(kinds, ...))  # type: ignore[call-overload]


def run(
    backend: Backend,
    question: str,
    statements: list[Statement],
    vectors: np.ndarray,
    affiliations: dict[str, Counter[str]],
    usage: Usage,
    progress: Progress,
) -> Outcome:
    """The per-statement strategy, producing the same kind of draft as the one-call strategy."""
    out = Outcome(Draft(answerable=False))
    budget = _Budget(MAX_CALLS)
    bone = rules.backbone(question, statements, affiliations)
    if len(question_parties(question)) < 2 or len(bone.sides) < 2:
        # The question does not say whom to compare: the model names the sides better than the
        # speakers' bodies do ("supporters" and "opponents" of a proposal are nobody's affiliation).
        progress("model: naming the sides", 0.3)
        named = _name_sides(backend, question, statements, affiliations, usage, budget, out)
        if named is not None:
            bone = named
    labels = dict(bone.labels)
    context = _context(statements, bone)
    _place_open(backend, question, statements, context, bone, labels, usage, budget, out, progress)
    draft = rules.draft(bone, statements, vectors, labels)
    if draft.answerable:
        _write_claims(backend, question, statements, context, draft, usage, budget, out, progress)
    out.draft = draft
    return out


def _context(statements: list[Statement], bone: rules.Backbone) -> list[Statement]:
    """The statements every call shows first, the same list each time so the server's prompt cache
    holds it: those the model is asked about, then those the rules placed, in document order."""
    wanted = set(bone.open_statements) | {s.sid for s in statements if s.speaker in bone.open_speakers}
    ranked = sorted(
        range(len(statements)),
        key=lambda i: (statements[i].sid not in wanted, statements[i].sid not in bone.labels, i),
    )
    return [statements[i] for i in sorted(ranked[:CONTEXT])]


def _name_sides(
    backend: Backend,
    question: str,
    statements: list[Statement],
    affiliations: dict[str, Counter[str]],
    usage: Usage,
    budget: _Budget,
    out: Outcome,
) -> rules.Backbone | None:
    """The sides from the model, when the question does not name two that are heard."""
    if not budget.take(1):
        return None
    try:
        found = structured(
            backend,
            SidesStep,
            "sides",
            usage,
            max_tokens=160,
            question=question,
            statements=statements[:CONTEXT],
        )
    except ModelError as exc:
        out.partial = True
        out.notes.append(f"naming the sides failed ({exc}); the sides are the rules' own")
        return None
    sides = list(dict.fromkeys(" ".join(s.split()).strip(" .,;:") for s in found.sides if s.strip()))
    if not found.answerable or len(sides) < 2:
        return None
    return rules.backbone_for(sides[:MAX_SIDES], statements, affiliations)


def _place_open(
    backend: Backend,
    question: str,
    statements: list[Statement],
    context: list[Statement],
    bone: rules.Backbone,
    labels: dict[str, str],
    usage: Usage,
    budget: _Budget,
    out: Outcome,
    progress: Progress,
) -> None:
    """Ask about the speakers and statements the rules left open, several per call, each batch
    twice with the sides in swapped order; only answers that survive the swap count."""
    by_id = {s.sid: s for s in statements}
    items: list[tuple[str, str]] = [("speaker", name) for name in bone.open_speakers]
    items += [("statement", sid) for sid in bone.open_statements]
    batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
    left = 0
    for n, batch in enumerate(batches):
        progress("model: placing speakers and statements", 0.35 + 0.4 * n / len(batches))
        if budget.left - 2 < MAX_POINTS:  # calls kept for the claims
            left += len(batch)
            continue
        budget.take(2)
        heard = rules.speakers_by_side(statements, labels, bone.sides)
        shown = [_describe(kind, key, statements, by_id) for kind, key in batch]
        try:
            answers = _swapped(backend, bone.sides, heard, shown, question, context, usage)
        except ModelError as exc:
            out.partial = True
            out.notes.append(f"a placement call failed ({exc}); the rules' placement stands")
            continue
        for (kind, key), side in zip(batch, answers, strict=True):
            if side is None:
                continue
            targets = [s.sid for s in statements if s.speaker == key] if kind == "speaker" else [key]
            for sid in targets:
                if side == NONE:
                    labels.pop(sid, None)
                else:
                    labels[sid] = side
    if left:
        out.notes.append(
            f"{left} speaker(s) or statement(s) kept the rules' placement: the answer's budget of "
            f"{MAX_CALLS} model calls was spent"
        )


def _describe(kind: str, key: str, statements: list[Statement], by_id: dict[str, Statement]) -> str:
    if kind == "statement":
        return f"statement {key}: {by_id[key].text}"
    first = next(s for s in statements if s.speaker == key)
    return f"the speaker {key} (first heard in {first.sid})"


def _swapped(
    backend: Backend,
    sides: list[str],
    heard: dict[str, list[str]],
    shown: list[str],
    question: str,
    context: list[Statement],
    usage: Usage,
) -> list[str | None]:
    """Each item's side as asked with the sides in order and reversed; None where they disagree."""
    runs = []
    for order in (sides, sides[::-1]):
        options = Literal[tuple([*order, NONE])]  # type: ignore[valid-type]
        fields: dict[str, Any] = {f"item_{i}": (options, ...) for i in range(1, len(shown) + 1)}
        step = create_model("PlaceStep", **fields)
        reply = structured(
            backend, step, "place", usage, max_tokens=20 + 16 * len(shown), question=question,
            statements=context, sides=[{"name": o, "speakers": heard[o]} for o in order], items=shown,
        )  # fmt: skip
        runs.append([getattr(reply, f"item_{i}") for i in range(1, len(shown) + 1)])
    return [a if a == b else None for a, b in zip(*runs, strict=True)]


def _write_claims(
    backend: Backend,
    question: str,
    statements: list[Statement],
    context: list[Statement],
    draft: Draft,
    usage: Usage,
    budget: _Budget,
    out: Outcome,
    progress: Progress,
) -> None:
    """The model's topic, claims and kind for each point; each claim checked against its quotes."""
    by_id = {s.sid: s for s in statements}
    asked = stems(question)
    for g, point in enumerate(draft.points):
        progress("model: writing claims", 0.75 + 0.2 * g / len(draft.points))
        if not budget.take(1):
            out.notes.append("some claims are the rules' own: the budget of model calls was spent")
            break
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
