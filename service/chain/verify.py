"""Statement ids -> quotes with offsets, checked against the stored text. Nothing inexact is shown."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

from ..models import Account, Document, Point, Quote, Side, Statement, Why
from .draft import Draft


class Verified(BaseModel):
    abstained: bool
    reason: str
    sides: list[Side]
    points: list[Point]
    dropped_ids: int


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


def _quote(statement: Statement, span: str, doc: Document, why: Why | None) -> Quote:
    start, end = statement.start, statement.end
    if span and span.strip():
        at = statement.text.find(span.strip())
        if at >= 0:  # narrowed to an exact substring; otherwise the whole statement stands
            start = statement.start + at
            end = start + len(span.strip())
    text = doc.text[start:end]
    meta = doc.meta
    return Quote(doc=meta.id, start=start, end=end, text=text, title=meta.title, outlet=meta.outlet,
                 date=meta.date, url=meta.url, why=why)  # fmt: skip


def verify(
    draft: Draft,
    statements: list[Statement],
    documents: dict[str, Document],
    why: Mapping[str, Why] | None = None,
) -> Verified:
    """Resolve citations; unknown ids and accounts for unknown sides are dropped and counted. Each
    quote carries `why` of its statement; a side the rules did not choose is the model's."""
    if not draft.answerable:
        reason = draft.reason.strip() or "the documents hold no competing accounts on this question"
        return Verified(abstained=True, reason=reason, sides=[], points=[], dropped_ids=0)
    by_id = {s.sid.upper(): s for s in statements}
    side_names: dict[str, str] = {}
    for side in draft.sides:
        if side.name.strip() and _norm(side.name) not in side_names:
            side_names[_norm(side.name)] = side.name.strip()
    dropped = 0
    points: list[Point] = []
    cited_by_side: dict[str, list[Statement]] = {}
    for draft_point in draft.points:
        accounts: dict[str, Account] = {}
        for acc in draft_point.accounts:
            side = side_names.get(_norm(acc.side))
            quotes: list[Quote] = []
            for citation in acc.citations:
                statement = by_id.get(citation.id.strip().upper().strip("[]"))
                if side is None or statement is None or statement.doc_id not in documents:
                    dropped += 1
                    continue
                quote = _quote(
                    statement, citation.span, documents[statement.doc_id], _why(why, statement, side)
                )
                if quote.text != documents[statement.doc_id].text[quote.start : quote.end]:
                    dropped += 1  # cannot happen by construction; never show it if it does
                    continue
                if all((q.doc, q.start, q.end) != (quote.doc, quote.start, quote.end) for q in quotes):
                    quotes.append(quote)
                    cited_by_side.setdefault(side, []).append(statement)
            if side is not None and quotes:
                if side in accounts:
                    accounts[side].quotes.extend(q for q in quotes if q not in accounts[side].quotes)
                else:
                    accounts[side] = Account(claim=acc.claim.strip(), quotes=quotes)
        if not accounts:
            continue
        kind = draft_point.kind
        if len(accounts) == 1:
            kind = "one_side_only"
        elif kind == "one_side_only":
            kind = "different_emphasis"
        points.append(Point(topic=draft_point.topic.strip() or "Point", kind=kind, accounts=accounts))
    if not points:
        return Verified(
            abstained=True,
            reason="no cited statement could be verified against the documents",
            sides=[],
            points=[],
            dropped_ids=dropped,
        )
    sides = []
    for side in draft.sides:
        name = side_names.get(_norm(side.name))
        if name is None or name not in cited_by_side or any(s.name == name for s in sides):
            continue
        sides.append(Side(name=name, speakers=_speakers(name, side.speakers, cited_by_side[name])))
    return Verified(abstained=False, reason="", sides=sides, points=points, dropped_ids=dropped)


def _why(why: Mapping[str, Why] | None, statement: Statement, side: str) -> Why:
    """How a quote's speaker was found, and its side: the rules' reason, or the model's choice."""
    found = (why or {}).get(statement.sid) or statement.why
    if found.side == side:
        return found
    return found.model_copy(update={"side": side, "side_rule": "model", "side_words": "", "unplaced": ""})


def _speakers(side: str, claimed: list[str], cited: list[Statement]) -> list[str]:
    """Speakers the model named that appear in the side's statements, plus the speakers found by
    rules in those statements; names that appear nowhere, or that are the side itself, are dropped.
    A document's writer (a column's, a justice's opinion) is named by the document, not the quote."""
    text = " ".join(" ".join(s.text for s in cited).split())
    writers = {" ".join(s.speaker.split()) for s in cited if s.why.speaker_rule == "column_writer"}
    out: list[str] = [side]
    for name in [*claimed, *(s.speaker for s in cited)]:
        name = " ".join(name.split())  # a name a hard-wrapped text broke over two lines
        if len(name) < 3 or name.casefold() in (n.casefold() for n in out):
            continue
        if name in writers or _has_word(text, name) or _has_word(text, name.split()[-1]):
            out.append(name)
    return out[1:]  # the side itself was there only to be skipped


def _has_word(text: str, words: str) -> bool:
    """`words` in `text` as whole words: "Ali" is not in "Alison", nor "Lee" in "Leeds"."""
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text) is not None
