"""The `refine` strategy's edits, applied to the rules' draft one at a time, each checked first.

An edit names its kind (`op`), the statement ids it rests on, a side and a value (a name, a topic,
a claim or a kind). Each is tried on a copy of the draft; one that cites an unknown id, a side that
does not exist, a statement that is not where it says, a name the documents do not use, or a
claim that reads closer to another side's quotes than to its own, is dropped with the reason, and
so is one that would leave fewer than two sides. Kinds run in a fixed order (sides, then
statements, then points, then wording), so that a claim is checked against the quotes it ends up
with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ...models import Statement, Why
from ...wording import closeness, reads_own, stems
from ..draft import Draft
from ..points.pairing import MAX_POINTS  # a statement joins its nearest point rather than open one more

# A speaker whose own name or title names a party speaks for it ("Ruritania's foreign minister"):
# such a placement is a fact of the text, and no model moves it to another side.
FIRM = frozenset({"speaker_name", "speaker_title"})
MAX_SIDES = 4  # as many parties as an answer lines up (the rules keep as many)
JOIN_AT = 0.25  # cosine to a point's centre above which a placed statement joins that point
MAX_NAME_WORDS = 8
MAX_TOPIC_WORDS = 12
MAX_CLAIM_WORDS = 40
KINDS = ("contradiction", "different_emphasis")
# Words a party's name may carry that need not appear in the documents ("the union of X").
_GLUE = frozenset("the and for its his her their our with from side".split())
_WORD = re.compile(r"[^\W\d_]+")


class Edit(Protocol):
    """One edit as the model gave it (the reply's schema is built per call, see refine.schema)."""

    op: str
    ids: list[str]
    side: str
    value: str


@dataclass
class Account:
    """One side's statements on a point, and its claim; `source` is the statement the rules took
    the claim from ("" once the model wrote it)."""

    sids: list[str]
    claim: str
    source: str = ""


@dataclass
class Point:
    topic: str
    kind: str
    accounts: dict[str, Account]


@dataclass
class Work:
    """The draft being edited: sides in order, points, and the names each side has had."""

    sides: list[str]
    points: list[Point]
    names: dict[str, str]  # a side's name, any it had, casefolded -> its current name
    renamed: dict[str, str]  # a side's name in the rules' draft -> its name now (renames only)
    dropped: set[str] = field(default_factory=set)


@dataclass
class Context:
    """What the checks read: the question, the statements by id, their vectors, and how the rules
    placed each (their trace)."""

    question: str
    by_id: dict[str, Statement]
    vectors: dict[str, np.ndarray]
    why: Mapping[str, Why] = field(default_factory=dict)

    def texts(self, sids: Sequence[str]) -> list[str]:
        return [self.by_id[s].text for s in sids]


class Refused(Exception):
    """An edit failed a check; the message says which."""


# --- reading the draft ----------------------------------------------------------------------------
def start(draft: Draft, ctx: Context) -> Work:
    """The rules' draft as a Work; each rules claim remembers the statement it was taken from."""
    points = []
    for p in draft.points:
        accounts: dict[str, Account] = {}
        for a in p.accounts:
            sids = [c.id for c in a.citations if c.id in ctx.by_id]
            if sids:
                accounts[a.side] = Account(sids, a.claim, _source(a.claim, sids, ctx))
        points.append(Point(p.topic, p.kind, accounts))
    sides = [s.name for s in draft.sides]
    return Work(sides, points, {s.casefold(): s for s in sides}, {s: s for s in sides})


def _source(claim: str, sids: list[str], ctx: Context) -> str:
    """The statement a claim reads closest to (the rules take each claim from one of them)."""
    return max(sids, key=lambda s: closeness(claim, [ctx.by_id[s].text]) or 0.0)


def _ids(work: Work, edit: Edit, ctx: Context) -> list[str]:
    """The edit's statement ids, normalised; an edit citing none, or an unknown one, is refused."""
    ids = list(dict.fromkeys(str(i).strip().strip("[]").upper() for i in edit.ids))
    if not ids:
        raise Refused("it cites no statement")
    unknown = [i for i in ids if i not in ctx.by_id]
    if unknown:
        raise Refused(f"it cites {', '.join(unknown)}, which is not a statement")
    if heading := [i for i in ids if ctx.by_id[i].heading]:
        raise Refused(f"{heading[0]} is a headline, which is never quoted")
    return ids


def _side(work: Work, name: str) -> str:
    side = work.names.get(" ".join(name.split()).casefold())
    if side is None or side not in work.sides:
        raise Refused(f"there is no side {name!r}")
    return side


def _where(work: Work, sid: str) -> tuple[int, str] | None:
    for n, p in enumerate(work.points):
        for side, a in p.accounts.items():
            if sid in a.sids:
                return n, side
    return None


def _one_point(work: Work, ids: list[str]) -> int:
    found = {w[0] for i in ids if (w := _where(work, i)) is not None}
    if len(found) != 1 or any(_where(work, i) is None for i in ids):
        raise Refused("its statements are not all in one point")
    return found.pop()


def _named(name: str, pool: Sequence[str]) -> bool:
    """Whether every word of a name (glue words aside) is in the pool: a party is named as the
    documents or the question name it, never invented."""
    words = [w[:5] for w in _WORD.findall(name.casefold()) if len(w) >= 3 and w not in _GLUE]
    have = {w[:5] for text in pool for w in _WORD.findall(text.casefold())}
    return bool(words) and set(words) <= have


def _new_name(work: Work, value: str, pool: Sequence[str]) -> str:
    name = " ".join(value.split()).strip(" .,:;\"'")
    if not name or len(name.split()) > MAX_NAME_WORDS:
        raise Refused("the new name is empty or too long")
    if name.casefold() in work.names and work.names[name.casefold()] in work.sides:
        raise Refused(f"a side is already named {name!r}")
    if not _named(name, pool):
        raise Refused(f"the statements do not name {name!r}")
    return name


def _speakers(ids: Sequence[str], ctx: Context) -> list[str]:
    return [ctx.by_id[i].speaker for i in ids if ctx.by_id[i].speaker]


def side_sids(work: Work, side: str) -> list[str]:
    return [s for p in work.points if side in p.accounts for s in p.accounts[side].sids]


# --- the edits --------------------------------------------------------------------------------------
def _rename_side(work: Work, edit: Edit, ctx: Context) -> None:
    old = _side(work, edit.side)
    ids = _ids(work, edit, ctx)
    if not set(ids) & set(side_sids(work, old)):
        raise Refused(f"none of its statements is {old}'s")
    pool = [ctx.question, old, *ctx.texts(ids), *_speakers(ids, ctx)]
    new = _new_name(work, edit.value, pool)
    work.sides[work.sides.index(old)] = new
    for p in work.points:
        if old in p.accounts:
            p.accounts = {new if k == old else k: a for k, a in p.accounts.items()}
    work.names.update({k: new for k, v in work.names.items() if v == old} | {new.casefold(): new})
    work.renamed = {k: new if v == old else v for k, v in work.renamed.items()}


def _merge_sides(work: Work, edit: Edit, ctx: Context) -> None:
    gone, into = _side(work, edit.side), _side(work, edit.value)
    ids = _ids(work, edit, ctx)
    if gone == into:
        raise Refused("it merges a side into itself")
    if not set(ids) & set(side_sids(work, gone) + side_sids(work, into)):
        raise Refused(f"none of its statements is {gone}'s or {into}'s")
    for p in work.points:
        if gone in p.accounts:
            moved = p.accounts.pop(gone)
            if into in p.accounts:
                p.accounts[into].sids += moved.sids
            else:
                p.accounts[into] = moved
    work.sides.remove(gone)
    work.names.update({k: into for k, v in work.names.items() if v == gone})


def _split_side(work: Work, edit: Edit, ctx: Context) -> None:
    old = _side(work, edit.side)
    ids = _ids(work, edit, ctx)
    theirs = side_sids(work, old)
    if not set(ids) <= set(theirs):
        raise Refused(f"not all of its statements are {old}'s")
    if set(theirs) <= set(ids):
        raise Refused(f"it takes all of {old}'s statements (that is a rename)")
    if len(work.sides) >= MAX_SIDES:
        raise Refused(f"there are already {MAX_SIDES} sides")
    new = _new_name(work, edit.value, [*ctx.texts(ids), *_speakers(ids, ctx)])
    work.sides.insert(work.sides.index(old) + 1, new)
    work.names[new.casefold()] = new
    for sid in ids:
        _place(work, sid, new, ctx)


def _move(work: Work, edit: Edit, ctx: Context) -> None:
    side = _side(work, edit.side)
    ids = _ids(work, edit, ctx)
    there = [i for i in ids if (w := _where(work, i)) is not None and w[1] == side]
    if there:
        raise Refused(f"{there[0]} is already {side}'s")
    for sid in ids:
        why = ctx.why.get(sid)
        if why is not None and why.side_rule in FIRM and work.renamed.get(why.side, side) != side:
            raise Refused(f"{sid}'s speaker is named as {work.renamed[why.side]}'s ({why.side_words})")
    for sid in ids:
        _place(work, sid, side, ctx)
        work.dropped.discard(sid)


def _drop(work: Work, edit: Edit, ctx: Context) -> None:
    ids = _ids(work, edit, ctx)
    if missing := [i for i in ids if _where(work, i) is None]:
        raise Refused(f"{missing[0]} is not in the answer")
    for sid in ids:
        _take(work, sid)
        work.dropped.add(sid)


def _merge_points(work: Work, edit: Edit, ctx: Context) -> None:
    ids = _ids(work, edit, ctx)
    if any(_where(work, i) is None for i in ids):
        raise Refused("one of its statements is in no point")
    found = sorted({w[0] for i in ids if (w := _where(work, i)) is not None})
    if len(found) < 2:
        raise Refused("its statements are all in one point")
    first = work.points[found[0]]
    for n in found[1:]:
        for side, a in work.points[n].accounts.items():
            if side in first.accounts:
                first.accounts[side].sids += a.sids
            else:
                first.accounts[side] = a
        if work.points[n].kind == "contradiction":
            first.kind = "contradiction"
    first.accounts = {s: first.accounts[s] for s in work.sides if s in first.accounts}
    work.points = [p for n, p in enumerate(work.points) if n not in found[1:]]


def _split_point(work: Work, edit: Edit, ctx: Context) -> None:
    ids = _ids(work, edit, ctx)
    n = _one_point(work, ids)
    point = work.points[n]
    if {s for a in point.accounts.values() for s in a.sids} <= set(ids):
        raise Refused("it takes every statement of its point")
    new = Point("", point.kind, {})
    for sid in ids:
        side = _take(work, sid)
        new.accounts.setdefault(side, Account([], "")).sids.append(sid)
    new.accounts = {s: new.accounts[s] for s in work.sides if s in new.accounts}
    work.points.insert(n + 1, new)


def _topic(work: Work, edit: Edit, ctx: Context) -> None:
    point = work.points[_one_point(work, _ids(work, edit, ctx))]
    topic = " ".join(edit.value.split()).strip(" .")
    if not topic or len(topic.split()) > MAX_TOPIC_WORDS:
        raise Refused("the topic is empty or too long")
    said = stems(topic)
    if said and said <= stems(ctx.question):
        raise Refused("the topic only repeats the question")
    texts = ctx.texts([s for a in point.accounts.values() for s in a.sids])
    if not said & stems(" ".join(texts)):
        raise Refused("the topic shares no word with its point's statements")
    point.topic = topic


def _claim(work: Work, edit: Edit, ctx: Context) -> None:
    side = _side(work, edit.side)
    ids = _ids(work, edit, ctx)
    point = work.points[_one_point(work, ids)]
    if side not in point.accounts or not set(ids) <= set(point.accounts[side].sids):
        raise Refused(f"its statements are not {side}'s in that point")
    claim = " ".join(edit.value.split())
    if not claim or len(claim.split()) > MAX_CLAIM_WORDS:
        raise Refused("the claim is empty or too long")
    own = ctx.texts(point.accounts[side].sids)
    others = [ctx.texts(a.sids) for s, a in point.accounts.items() if s != side]
    if others:
        if reads_own(claim, own, others) != 1.0:
            raise Refused("the claim reads as close to another side's quotes as to its own")
    elif not stems(claim) & stems(" ".join(own)):
        raise Refused("the claim shares no word with its side's quotes")
    point.accounts[side].claim, point.accounts[side].source = claim, ""


def _kind(work: Work, edit: Edit, ctx: Context) -> None:
    point = work.points[_one_point(work, _ids(work, edit, ctx))]
    kind = edit.value.strip().casefold().replace(" ", "_")
    if kind not in KINDS:
        raise Refused(f"{edit.value!r} is not a kind")
    if len(point.accounts) < 2:
        raise Refused("only one side speaks on that point")
    point.kind = kind


EDITS: dict[str, Callable[[Work, Edit, Context], None]] = {
    "rename_side": _rename_side, "merge_sides": _merge_sides, "split_side": _split_side,
    "move": _move, "drop": _drop, "merge_points": _merge_points, "split_point": _split_point,
    "topic": _topic, "claim": _claim, "kind": _kind,
}  # fmt: skip


# --- moving statements ------------------------------------------------------------------------------
def _take(work: Work, sid: str) -> str:
    """Take a statement out of its point; its side's account goes when it empties, the point too."""
    where = _where(work, sid)
    assert where is not None
    n, side = where
    account = work.points[n].accounts[side]
    account.sids.remove(sid)
    if not account.sids:
        del work.points[n].accounts[side]
    if not work.points[n].accounts:
        del work.points[n]
    return side


def _place(work: Work, sid: str, side: str, ctx: Context) -> None:
    """Put a statement under `side`: in the point it is in, if any, else in the nearest point
    (above JOIN_AT, or the nearest once there are MAX_POINTS), else in a point of its own."""
    where = _where(work, sid)
    if where is not None:
        n, before = where
        account = work.points[n].accounts[before]
        account.sids.remove(sid)
        if not account.sids:
            del work.points[n].accounts[before]
    else:
        found = _nearest(work, sid, ctx)
        if found is None:
            work.points.append(Point("", "one_side_only", {}))
            found = len(work.points) - 1
        n = found
    point = work.points[n]
    point.accounts.setdefault(side, Account([], "")).sids.append(sid)
    point.accounts = {s: point.accounts[s] for s in work.sides if s in point.accounts}


def _nearest(work: Work, sid: str, ctx: Context) -> int | None:
    if not work.points:
        return None
    v = ctx.vectors.get(sid)
    if v is None:
        return 0 if len(work.points) >= MAX_POINTS else None
    scores = []
    for p in work.points:
        rows = [ctx.vectors[s] for a in p.accounts.values() for s in a.sids if s in ctx.vectors]
        centre = np.mean(rows, axis=0) if rows else None
        norm = float(np.linalg.norm(v) * np.linalg.norm(centre)) if centre is not None else 0.0
        scores.append(float(v @ centre) / norm if norm else -1.0)
    best = int(np.argmax(scores))
    return best if scores[best] >= JOIN_AT or len(work.points) >= MAX_POINTS else None
