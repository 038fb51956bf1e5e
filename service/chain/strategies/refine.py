"""The `refine` strategy: the rules' answer, then one call in which the model edits it.

The model gets the rules' draft (sides, points, the statement ids each account cites) and the
numbered statements, and returns edits, not an answer: rename, merge or split sides; move a
statement to another side, or drop it; merge or split points; write topics, claims and kinds. Code
applies them (edits.py), checking each first; one that fails a check is dropped and counted in a
note. So a model can only improve on the rules where it cites the statements that show it, and
the answer never holds fewer than the two sides the rules heard.

- Where the rules abstain, no call is made: the rules' abstention stands.
- A failed call leaves the rules' answer, marked partial, with the reason.
- A model that finds no dispute where the rules hear two sides or more leaves the rules' answer,
  with a note that it disagreed and why.
- The kinds of edit a backend's model may make are a setting (Settings.edits_for): the kinds the
  1.5B model lost to the rules with are off for the embedded model (docs/REFINE.md).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ...errors import CounterpointError
from ...llm import structured
from ...models import Statement, Why
from ...settings import EDIT_KINDS
from ..draft import Citation, Draft, DraftAccount, DraftPoint, DraftSide, Outcome
from . import rules
from .edits import EDITS, Context, Edit, Refused, Work, side_sids, start
from .job import Job

MAX_SHOWN = 40  # statements in the prompt: every one the draft cites, then the likeliest others
MAX_CHARS = 9000  # their text in all: with the draft, the prompt fits the embedded model's 4k context
MAX_TEXT = 320  # characters of one statement shown (the model cites ids; it needs the gist)
MIN_TEXT = 120
MAX_EDITS = 8
MAX_TOKENS = 480  # eight edits with a claim each fit; a remote model stops far sooner
DISPUTE, NO_DISPUTE = "dispute", "no dispute"


@dataclass
class Applied:
    """What came of the model's edits: the edited draft, and each edit's fate."""

    draft: Draft
    applied: list[str] = field(default_factory=list)  # the kind of each edit applied
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (kind, why) of each edit refused
    off: list[str] = field(default_factory=list)  # kinds switched off for this model
    renamed: dict[str, str] = field(default_factory=dict)  # a side's name in the rules' draft -> now
    removed: set[str] = field(default_factory=set)  # statement ids the model dropped


def schema(ids: Sequence[str], sides: Sequence[str]) -> type[BaseModel]:
    """The reply: a flat list of edits, then the verdict. The enums (statement ids shown, side
    names) constrain a grammar or a strict schema; validation stays lenient, so that an unknown id
    from a model that ignores them is dropped with its edit, not re-asked. The verdict is words,
    not a boolean: the 1.5B model wrote `false` for any boolean, whatever its name (docs/REFINE.md)."""
    sid = Annotated[str, Field(json_schema_extra={"enum": list(ids)})]
    edit: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "Edit",
        __config__=ConfigDict(extra="ignore"),
        op=(Literal[EDIT_KINDS], ...),  # type: ignore[valid-type]
        ids=(list[sid], Field(json_schema_extra={"maxItems": 6})),
        side=(str, Field(json_schema_extra={"enum": [*sides, ""]})),
        value=(str, Field(json_schema_extra={"maxLength": 200})),
    )
    return create_model(  # type: ignore[call-overload,no-any-return]
        "Edits",
        __config__=ConfigDict(extra="ignore"),
        edits=(list[edit], Field(json_schema_extra={"maxItems": MAX_EDITS})),  # type: ignore[valid-type]
        verdict=(Literal[DISPUTE, NO_DISPUTE], ...),
        reason=(str, Field("", json_schema_extra={"maxLength": 200})),
    )


def run(job: Job) -> Outcome:
    """The rules' answer, edited by the model where its edits pass the checks."""
    first = rules.run(job)
    draft = first.draft
    if not draft.answerable:
        return first
    found = job.found
    placed = {c.id: a.side for p in draft.points for a in p.accounts for c in a.citations}
    shown = shown_statements(found.statements, placed, found.on_subject)
    job.progress("model: refining the rules' answer", 0.4)
    try:
        backend = job.backend()
        reply: Any = structured(
            backend, schema([s.sid for s in shown], [s.name for s in draft.sides]), "refine", job.usage,
            max_tokens=MAX_TOKENS, question=job.question, statements=shown, placed=placed, draft=draft,
        )  # fmt: skip
    except CounterpointError as exc:
        note = f"the model's edits failed ({exc}); this is the rules' answer"
        return Outcome(draft, notes=[*first.notes, note], partial=True, why=first.why)
    if reply.verdict == NO_DISPUTE:
        reason = " ".join(str(reply.reason).split()) or "no reason given"
        note = (
            f"the model found no dispute here ({reason}), but the rules hear {len(draft.sides)} sides; "
            "this is the rules' answer"
        )
        return Outcome(draft, notes=[*first.notes, note], partial=first.partial, why=first.why)
    vectors = {s.sid: found.vectors[i] for i, s in enumerate(found.statements) if i < len(found.vectors)}
    ctx = Context(job.question, {s.sid: s for s in found.statements}, vectors, first.why)
    done = apply(draft, reply.edits[: MAX_EDITS * 2], backend.edits, ctx)
    notes = [*first.notes, summary(done)]
    return Outcome(done.draft, notes=notes, partial=first.partial, why=traced(first.why, done))


def shown_statements(
    statements: list[Statement], placed: Mapping[str, str], on_subject: Mapping[str, float]
) -> list[Statement]:
    """What the model sees, in document order: every statement the draft cites, then those no side
    took that someone says, the closest to the question first; headlines never (never cited). Each
    is cut to its share of MAX_CHARS, so that a draft citing many long sentences still fits."""
    pool = [s for s in statements if not s.heading]
    width = max(MIN_TEXT, min(MAX_TEXT, MAX_CHARS // max(1, sum(s.sid in placed for s in pool))))
    ranked = sorted(
        pool,
        key=lambda s: (
            s.sid not in placed,
            not (s.speaker or s.reported or s.quoted),
            -on_subject.get(s.sid, 0.0),
        ),
    )
    keep, chars = set(), 0
    for s in ranked:
        size = min(len(s.text), width)
        if s.sid not in placed and (len(keep) >= MAX_SHOWN or chars + size > MAX_CHARS):
            break
        keep.add(s.sid)
        chars += size
    short = {s.sid: s.text if len(s.text) <= width else s.text[: width - 1].rstrip() + "…" for s in pool}
    return [s.model_copy(update={"text": short[s.sid]}) for s in pool if s.sid in keep]


def apply(draft: Draft, edits: Sequence[Edit], allowed: frozenset[str], ctx: Context) -> Applied:
    """The draft with every allowed edit that passes its checks, in the order of EDIT_KINDS."""
    work = start(draft, ctx)
    bank = {a.source: a.claim for p in work.points for a in p.accounts.values()}
    out = Applied(draft)
    rank = {op: n for n, op in enumerate(EDIT_KINDS)}
    for edit in sorted(edits, key=lambda e: rank.get(e.op, len(rank))):
        if edit.op not in allowed:
            out.off.append(edit.op)
            continue
        trial = copy.deepcopy(work)
        try:
            EDITS[edit.op](trial, edit, ctx)
            if len([s for s in trial.sides if side_sids(trial, s)]) < 2:
                raise Refused("it would leave fewer than two sides")
        except Refused as exc:
            out.dropped.append((edit.op, str(exc)))
            continue
        work = trial
        out.applied.append(edit.op)
    out.draft = finish(work, bank, ctx)
    out.renamed = {old: new for old, new in work.renamed.items() if old != new}
    out.removed = set(work.dropped)
    return out


def finish(work: Work, bank: Mapping[str, str], ctx: Context) -> Draft:
    """The edited work as a Draft. An account whose claim's statement left it takes the rules' claim
    of a statement it kept, else its first statement's words; a new point is named by its claim."""
    points = []
    for p in work.points:
        accounts = []
        for side in [s for s in work.sides if s in p.accounts]:
            a = p.accounts[side]
            claim = a.claim
            if not claim or (a.source and a.source not in a.sids):
                kept = next((bank[s] for s in a.sids if s in bank), "")
                claim = kept or _shorten(ctx.by_id[a.sids[0]].text)
            accounts.append(DraftAccount(side=side, claim=claim, citations=[Citation(id=s) for s in a.sids]))
        if accounts:
            topic = p.topic or " ".join(accounts[0].claim.split()[:8])
            points.append(DraftPoint(topic=topic, kind=p.kind, accounts=accounts))  # type: ignore[arg-type]
    cited = {s: side for p in work.points for side, a in p.accounts.items() for s in a.sids}
    sides = []
    for side in [s for s in work.sides if s in cited.values()]:
        said = [st.speaker for sid, st in ctx.by_id.items() if cited.get(sid) == side and st.speaker]
        sides.append(DraftSide(name=side, speakers=list(dict.fromkeys(said))))
    return Draft(answerable=True, sides=sides, points=points)


def _shorten(text: str, words: int = 25) -> str:
    """A statement's first words: the claim of an account the rules never worded."""
    parts = text.strip().strip("“”\"'").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def traced(why: Mapping[str, Why], done: Applied) -> dict[str, Why]:
    """The rules' trace after the edits: a renamed side keeps the rule that placed its statements;
    a statement the model dropped says so. (Verify marks a statement the model moved.)"""
    out = dict(why)
    for sid, w in why.items():
        if sid in done.removed:
            out[sid] = w.model_copy(
                update={"side": "", "side_rule": "", "side_words": "", "unplaced": "dropped by the model"}
            )
        elif w.side in done.renamed:
            out[sid] = w.model_copy(update={"side": done.renamed[w.side]})
    return out


def summary(done: Applied) -> str:
    """One line for the reader: how many edits the model made, which were applied, and why any
    were not."""
    if not (done.applied or done.dropped or done.off):
        return "the model checked the rules' answer and proposed no edits"

    def counted(kinds: Sequence[str]) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in Counter(kinds).items())

    parts = [f"{len(done.applied)} applied" + (f" ({counted(done.applied)})" if done.applied else "")]
    if done.dropped:
        reasons = "; ".join(f"{kind}: {why}" for kind, why in done.dropped)
        parts.append(f"{len(done.dropped)} dropped ({reasons})")
    if done.off:
        parts.append(f"{len(done.off)} not made ({counted(done.off)}: off for this model)")
    return "the model's edits of the rules' answer: " + "; ".join(parts)
