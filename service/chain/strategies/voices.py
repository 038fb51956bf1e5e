"""Voices: whom a quoted person or body speaks for, when a party the question names has no voice
the rules could place.

The rules place a speaker by the words the documents give them (a name, a title, a body beside
them). World knowledge places more: a foreign secretary speaks for a government, a campaign's lawyer
for the campaign, a district attorney for the prosecution. Only where a party the question names is
left unheard and the rules hear fewer than two sides through a speaker, one short call
constrained to the question's parties (or "none") asks the model whom each unplaced speaker speaks
for; its answer counts only for the unheard parties, so the rules' placements stand. Where the rules
already heard two sides, the 1.5B model's extra placements cost attribution on the check set
(docs/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...llm import Backend, Usage
from ...models import Statement
from ..sides.backbone import Backbone, open_counts, open_voices
from ..sides.question import Question
from .pick import pick_sides

MAX_VOICES = 8  # speakers in the call, the most quoted first
SENTENCE_CHARS = 220


@dataclass(frozen=True)
class Voice:
    """One speaker shown to the model: its key in the reply, its name, where it first speaks."""

    key: str
    name: str
    sentence: str


def unheard(bone: Backbone) -> list[str]:
    """The parties the question names that no placed speaker speaks for."""
    heard = bone.voiced()
    return [p for p in bone.asked if p not in heard] if len(bone.asked) >= 2 else []


def candidates(bone: Backbone, statements: list[Statement], question: Question) -> list[Voice]:
    """The speakers no rule placed (or only guessed by proximity), the most quoted first; not those
    the question names besides its parties (see open_voices)."""
    said = open_counts(open_voices(bone, question), statements, bone.asked)
    first = {}
    for s in statements:
        first.setdefault(s.speaker, " ".join(s.text.split())[:SENTENCE_CHARS])
    ranked = [name for name, _ in said.most_common(MAX_VOICES)]
    return [Voice(f"v{n}", name, first[name]) for n, name in enumerate(ranked, 1)]


def voices(
    backend: Backend, question: str, asked: list[str], left: list[str], shown: list[Voice], usage: Usage
) -> dict[str, str]:
    """The party of `left` (the unheard, see unheard) that each of `shown` (see candidates) speaks
    for, by the model; the speakers it gives to no unheard party are left out."""
    picked = pick_sides(
        backend, "Voices", "voices", [v.key for v in shown], asked, usage, question=question, speakers=shown
    )
    return {v.name: side for v in shown if (side := picked.get(v.key)) in left}
