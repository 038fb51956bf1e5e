"""Stance: which side a statement argues for when nobody is named as saying it.

The rules place a statement by its speaker. A debate's arguments ("A flat fee is fairer"), an
editorial's points or a list of pros and cons have no speaker, so there the rules hear no side and
can only abstain. Only then is the model asked, in one short call constrained to the question's
sides (or "none"), which side each such statement argues for. Everything else stays with the rules,
which beat the model wherever they can decide (see per_statement.py); a failed call leaves the
rules' abstention, with the reason in a note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace

from ...errors import CounterpointError
from ...llm import Backend, Usage
from ...models import Statement
from ..sides.backbone import ON_SUBJECT, Backbone, argued, backbone, backbone_for
from ..sides.question import Question, unmentioned
from .pick import pick_sides
from .voices import candidates, unheard, voices

MAX_STANCE = 12  # statements in the call, the most on-subject first: a debate's arguments fit


def arguments(
    bone: Backbone, statements: list[Statement], on_subject: Mapping[str, float]
) -> list[Statement]:
    """The statements to ask about: no side heard, and no speaker; on the subject; in document order."""
    if bone.labels:
        return []
    # Where no one speaks at all, the documents are a list of arguments and each is one ("A flat fee
    # is fairer" says little like the question it answers); in reporting, only on-subject narration.
    floor = float("-inf") if argued(statements) else ON_SUBJECT
    open_ = [s for s in statements if not s.speaker and on_subject.get(s.sid, 0.0) >= floor]
    best = {s.sid for s in sorted(open_, key=lambda s: -on_subject.get(s.sid, 0.0))[:MAX_STANCE]}
    return [s for s in statements if s.sid in best]


def unspoken(question: Question, statements: list[Statement]) -> list[str]:
    """The words of the question's matter that no one is reported to say (see `unmentioned`), where
    someone speaks. In narration alone ("a tunnel has linked them since 2009") the parties are not
    speaking of it: the same parties quarrel in the documents over something else."""
    if argued(statements):
        return []
    return unmentioned(question, [s.text for s in statements if s.speaker])


def stances(
    backend: Backend, question: str, sides: list[str], items: list[Statement], usage: Usage
) -> dict[str, str]:
    """Statement id -> the side it argues for, by the model; those it gives to no side are left out."""
    keys = [s.sid for s in items]
    return pick_sides(backend, "Stances", "stance", keys, sides, usage, question=question, statements=items)


def settle(
    backend: Callable[[], Backend],
    question: Question,
    statements: list[Statement],
    affiliations: dict[str, Counter[str]],
    on_subject: Mapping[str, float],
    usage: Usage,
) -> tuple[Backbone, list[str]]:
    """The rules' backbone, with the model's stances where the rules heard no side of the two or
    more the question names and some statements have no speaker, and the model's reading of whom
    an unplaced speaker speaks for where a named party is unheard (see voices.py); and the note a
    failed call leaves."""
    bone = backbone(question, statements, affiliations, on_subject)
    notes: list[str] = []
    # Where the rules hear two sides but no one speaks of the question's matter, the same parties
    # quarrel over something else. Only there: where fewer are heard, the voices call may find the
    # speakers that do (docs/RESULTS.md). Check, embedded default: abstention .657 -> .686, side F1
    # .637 -> .637.
    if len(bone.voiced()) >= 2 and (missing := unspoken(question, statements)):
        reason = f"no one in the documents speaks on what the question asks about ({', '.join(missing)})"
        return replace(bone, sides=[], reason=reason), notes
    # Only where the rules hear fewer than two sides through a speaker: where they hear two, the
    # small model's extra placements cost more attribution than they add (docs/RESULTS.md).
    left = unheard(bone) if len(bone.voiced()) < 2 else []
    shown = candidates(bone, statements, question) if left else []
    if shown:
        try:
            voiced = voices(backend(), question.text, bone.asked, left, shown, usage)
        except CounterpointError as exc:
            voiced = {}
            note = "a party the question names has no voice the rules could place, and the model's call"
            notes.append(f"{note} on whom each speaker speaks for failed ({exc})")
        if voiced:
            bone = backbone(question, statements, affiliations, on_subject, voiced)
    sides = bone.asked
    items = arguments(bone, statements, on_subject)
    if len(sides) < 2 or not items:
        return bone, notes
    try:
        given = stances(backend(), question.text, sides, items, usage)
    except CounterpointError as exc:
        note = "no one is named as speaking, and the model's call on which side each argues for failed"
        return bone, [*notes, f"{note} ({exc})"]
    return backbone_for(sides, statements, affiliations, on_subject, given, asked=sides), notes
