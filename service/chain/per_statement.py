"""The small-model strategy: short, constrained questions, with the shared context first.

0. Read the question alone (one call): the parties it names and its subject. If the documents do
   not mention most of the subject's key words, abstain: a small model judging relevance from the
   articles says yes too often, so code checks.
1. The sides are the parties the question names; only when it names fewer than two does a call
   name them from the statements.
2. Attribute statements: a speaker found by rules is matched to a side by name or by the words
   around its first mention; only speakers that stay unresolved cost a call. Statements without a
   speaker get one question each ("which side gives this account?"), sharing one prompt prefix
   so llama.cpp's prompt cache reuses it.
3. Group attributed statements into points (no call), paired across sides by embedding
   similarity. Then one call per point for its topic, each side's claim and the kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, create_model

from ..llm import Backend, Usage, structured
from ..models import Statement
from .draft import Citation, Draft, DraftAccount, DraftPoint, DraftSide
from .placement import affiliation, clean_names, coverage, group, match_side, one_side, opens_with_side
from .statements import reporting_subject

NONE = "none"


class SubjectStep(BaseModel):
    """The parties a question names and the subject it asks about."""

    parties: list[str] = Field(max_length=4)
    subject: str = Field(max_length=60)


class SidesStep(BaseModel):
    """The sides of the dispute, or why the statements hold none."""

    answerable: bool
    reason: str = Field(max_length=240)
    sides: list[str] = Field(max_length=4)


def _choice(name: str, options: list[str], **fields: Any) -> type[BaseModel]:
    return create_model(name, **fields, side=(Literal[tuple(options)], ...))  # type: ignore[call-overload]


def _sides(backend: Backend, question: str, statements: list[Statement], usage: Usage) -> SidesStep:
    return structured(
        backend, SidesStep, "sides", usage, max_tokens=160, question=question, statements=statements
    )


def _choose(
    backend: Backend,
    name: str,
    sides: list[str],
    prompt: str,
    values: Callable[[list[str]], dict[str, Any]],
    usage: Usage,
    **fields: Any,
) -> str:
    """Ask which side, twice: sides listed in order, then reversed. A small model favours whichever
    option comes first, so only an answer that survives the swap counts; otherwise none."""
    answers = []
    for order in (sides, sides[::-1]):
        step = _choice(name, [*order, NONE], **fields)
        answers.append(structured(backend, step, prompt, usage, max_tokens=60, **values(order)).side)  # type: ignore[attr-defined]
        if answers[0] == NONE:
            return NONE
    return answers[0] if answers[0] == answers[1] else NONE


def attribute(
    backend: Backend,
    question: str,
    statements: list[Statement],
    sides: list[str],
    usage: Usage,
    progress: Callable[[float], None],
) -> dict[str, list[str]]:
    """Statement id -> the sides whose account it gives (empty for none)."""
    speaker_side: dict[str, str] = {}
    for speaker in dict.fromkeys(s.speaker for s in statements if s.speaker):
        side = match_side(speaker, sides) or affiliation(speaker, statements, sides)
        at = next(i for i, s in enumerate(statements) if s.speaker == speaker)
        before = statements[at - 1] if at and statements[at - 1].doc_id == statements[at].doc_id else None
        if side is None and before is not None and before.speaker in speaker_side:
            # "The Commuters' Association rejected both arguments. Its chair, Tobias Renn, said ..."
            first = statements[at].text
            mention = first[: max(first.find(speaker), 0)]
            if re.search(r"\b(its|their|the group's|the body's)\b", mention, re.IGNORECASE):
                side = speaker_side[before.speaker] if speaker_side[before.speaker] != NONE else None
        if side is None:
            # The sentence before the first mention often names whom "its secretary" works for.
            context = [
                s for i, s in enumerate(statements)
                if (i == at - 1 and s.doc_id == statements[at].doc_id) or speaker.split()[-1] in s.text
            ][:4]  # fmt: skip
            side = _choose(
                backend, "SpeakerStep", sides,
                "speaker",
                lambda order, sp=speaker, ctx=context: dict(
                    question=question, sides=order, speaker=sp, statements=ctx
                ),
                usage, who=(str, Field(max_length=80)),
            )  # fmt: skip
        speaker_side[speaker] = side
    labels: dict[str, list[str]] = {}
    # Only statements that report someone (a reporting verb or quotation marks without a resolved
    # speaker), or that are a whole short document (a published opinion), get a question; plain
    # narration is the reporter's own and belongs to no side.
    per_doc: dict[str, int] = {}
    for s in statements:
        per_doc[s.doc_id] = per_doc.get(s.doc_id, 0) + 1
    todo = [
        s
        for s in statements
        if not s.speaker
        and (s.reported or s.quoted or per_doc[s.doc_id] <= 2 or opens_with_side(s.text, sides))
    ]
    for statement in statements:
        if statement.speaker:
            side = speaker_side.get(statement.speaker, NONE)
        elif (subject := reporting_subject(statement.text)) and (
            by_subject := one_side(statement.text[subject[0] : subject[1]], sides)
        ):
            side = by_subject  # "In a statement, the mayor's office said ..." speaks for the mayor
        elif statement in todo:
            # No "both" option: a small model reaches for it whenever two sides are named.
            side = _choose(
                backend, "LabelStep", sides,
                "label",
                lambda order, st=statement: dict(
                    question=question, statements=statements, statement=st,
                    sides=[{"name": x, "speakers": [k for k, v in speaker_side.items() if v == x and k != x]}
                           for x in order],
                ),
                usage,
            )  # fmt: skip
            progress((todo.index(statement) + 1) / max(len(todo), 1))
        else:
            side = NONE
        labels[statement.sid] = [] if side == NONE else [side]
    return labels


def _point_step(n_sides: int) -> type[BaseModel]:
    # Fixed keys in the order the sides are shown: a small model given a free "side" field
    # swaps claims between sides.
    claims = {f"claim_{i}": (str, Field(max_length=160)) for i in range(1, n_sides + 1)}
    kinds = Literal["contradiction", "different_emphasis"]
    return create_model("PointStep", topic=(str, Field(max_length=60)), **claims, kind=(kinds, ...))  # type: ignore[call-overload]


def run(
    backend: Backend,
    question: str,
    statements: list[Statement],
    embed: Callable[[list[str]], np.ndarray],
    usage: Usage,
    progress: Callable[[str, float], None],
    documents_text: str,
) -> Draft:
    """The per-statement strategy, producing the same draft as the one-call strategy."""
    progress("model: reading the question", 0.25)
    asked = structured(backend, SubjectStep, "subject", usage, max_tokens=80, question=question)
    parties = clean_names(asked.parties)
    words, found_words = coverage(asked.subject, parties, documents_text)
    if words and 2 * len(found_words) < len(words):
        missing = ", ".join(w for w in words if w not in found_words)
        reason = f"the documents do not discuss {asked.subject.strip()} (no mention of: {missing})"
        return Draft(answerable=False, reason=reason)
    if len(parties) >= 2:
        sides = parties  # the question says whom to compare
    else:
        progress("model: naming the sides", 0.3)
        found = _sides(backend, question, statements, usage)
        sides = clean_names(found.sides)
        if not found.answerable or len(sides) < 2:
            return Draft(answerable=False, reason=found.reason or "fewer than two sides were found")
    labels = attribute(
        backend,
        question,
        statements,
        sides,
        usage,
        lambda f: progress("model: attributing statements", 0.35 + 0.4 * f),
    )
    cited = [s for s in statements if labels.get(s.sid)]
    heard = {side for s in cited for side in labels[s.sid]}
    if len(heard) < 2:
        who = f"only {next(iter(heard))}'s account" if heard else "no side's account"
        return Draft(answerable=False, reason=f"{who} is in the documents; there is nothing to compare")
    groups = group(cited, [labels[s.sid][0] for s in cited], embed([s.text for s in cited]))
    points: list[DraftPoint] = []
    for g, members in enumerate(groups):
        progress("model: writing claims", 0.75 + 0.2 * g / len(groups))
        by_side: dict[str, list[Statement]] = {}
        for i in members:
            for side in labels[cited[i].sid]:
                by_side.setdefault(side, []).append(cited[i])
        present = [s for s in sides if s in by_side]
        step = structured(
            backend, _point_step(len(present)), "claims", usage, max_tokens=60 + 60 * len(present),
            question=question, accounts={s: by_side[s] for s in present},
        )  # fmt: skip
        claims = {s: getattr(step, f"claim_{i}") for i, s in enumerate(present, 1)}
        points.append(
            DraftPoint(
                topic=step.topic,  # type: ignore[attr-defined]
                kind="one_side_only" if len(present) == 1 else step.kind,  # type: ignore[attr-defined]
                accounts=[
                    DraftAccount(
                        side=s, claim=claims.get(s, ""), citations=[Citation(id=x.sid) for x in by_side[s]]
                    )
                    for s in present
                ],
            )
        )
    speakers = {s: [x.speaker for x in statements if x.speaker and s in labels.get(x.sid, [])] for s in sides}
    return Draft(
        answerable=True,
        sides=[DraftSide(name=s, speakers=list(dict.fromkeys(speakers[s]))) for s in sides],
        points=points,
    )
