"""Coverage: which documents and outlets carry each side's account, and when; one-sided coverage
flagged; each side's key quotes. A pure function of a Comparison, whose quotes carry their source.

- A quote's **outlet** is its document's outlet, or the document's title when it names none (a pasted
  text or a file often has no outlet, and the title still tells documents apart).
- A quote is **direct** (the side in its own words) when it holds a quotation mark; otherwise it is
  reported speech ("the ministry said it would..."). Straight and curly apostrophes are not marks.
- **Flags**, each one plain sentence: a side heard in only one of the answer's several outlets; a
  side heard only through reported speech; a side whose every outlet quotes another side more, that
  is at least twice as often (so that 9 quotes against 8 in one article is not called one-sided).
- **Key quotes**: each of a side's quotes is scored by how much of its content it shares with the
  side's other quotes (the sum of its cosine similarities to them, over content words weighted by
  inverse quote frequency in the whole answer, so that "said" or a word every quote holds counts for
  nothing; stop words and the sides' and speakers' names are left out, since they name who speaks,
  not what is said). The best half of them are kept, at least 1 and at most 3, skipping a near-repeat
  of one already kept; ties go to the quote with more content words, then to the first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date

from .models import (
    Comparison,
    Coverage,
    CoverageFlag,
    DocumentCount,
    KeyQuote,
    OutletCount,
    Quote,
    SideCoverage,
)
from .wording import stop_words

QUOTATION_MARKS = frozenset('"“”„‟«»‹›「」『』‘‚')
"""Marks that open or close a quotation. ’ and ' are left out: they are apostrophes far more often."""
MAX_KEY_QUOTES = 3
FAVOUR = 2  # an outlet "quotes another side more" when it quotes it at least this many times as often
NEAR_REPEAT = 0.8  # a quote this close (cosine) to a key quote already kept adds nothing new
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def outlet_label(q: Quote) -> str:
    """The quote's outlet, else its document's title, else its document id."""
    return q.outlet.strip() or q.title.strip() or q.doc


def is_direct(text: str) -> bool:
    """True when the quote holds a quotation mark: the speaker's own words, not reported speech."""
    return any(ch in QUOTATION_MARKS for ch in text)


def iso_date(value: str) -> str:
    """`value` as YYYY-MM-DD when it starts with a real date, else "" (nothing is guessed)."""
    try:
        return date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return ""


def side_names(c: Comparison) -> list[str]:
    """The declared sides, then any side a point names that was not declared, in that order."""
    names: list[str] = []
    for name in [s.name for s in c.sides] + [n for p in c.points for n in p.accounts]:
        if name not in names:
            names.append(name)
    return names


def side_quotes(c: Comparison) -> dict[str, list[Quote]]:
    """Each side's quotes in reading order, each span once (a quote cited on two points counts once)."""
    out: dict[str, list[Quote]] = {name: [] for name in side_names(c)}
    seen: dict[str, set[tuple[str, int, int]]] = {name: set() for name in out}
    for p in c.points:
        for name, account in p.accounts.items():
            for q in account.quotes:
                if (q.doc, q.start, q.end) not in seen[name]:
                    seen[name].add((q.doc, q.start, q.end))
                    out[name].append(q)
    return out


# --- key quotes --------------------------------------------------------------------------------
def _words(text: str, names: frozenset[str]) -> set[str]:
    stop = stop_words()
    found = {w.casefold().replace("’", "'") for w in _WORD.findall(text)}
    return {w for w in found if len(w) > 2 and w not in stop and w not in names}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(weight * b[w] for w, weight in a.items() if w in b)
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def key_quotes(
    quotes: Sequence[Quote], everything: Sequence[Quote], names: Iterable[str] = ()
) -> list[KeyQuote]:
    """The half (1-3) of a side's `quotes` that share most content with its others (the module's rule);
    `everything` is every quote of the answer, for the word weights; `names` are left out."""
    if not quotes:
        return []
    left_out = frozenset(w.casefold() for n in names for w in _WORD.findall(n))
    docs = [_words(q.text, left_out) for q in everything]
    df = Counter(w for words in docs for w in words)
    n = len(docs)

    def vector(q: Quote) -> dict[str, float]:
        # Smoothed so that a word every quote of the answer holds weighs nothing.
        return {w: math.log((1 + n) / (1 + df[w])) for w in _words(q.text, left_out)}

    vectors = [vector(q) for q in quotes]
    sims = [[_cosine(a, b) if i != j else 0.0 for j, b in enumerate(vectors)] for i, a in enumerate(vectors)]
    scores = [sum(row) for row in sims]
    order = sorted(range(len(quotes)), key=lambda i: (-round(scores[i], 9), -len(vectors[i]), i))
    wanted = min(MAX_KEY_QUOTES, (len(quotes) + 1) // 2)
    kept: list[int] = []
    for i in order:
        if len(kept) == wanted:
            break
        if all(sims[i][k] < NEAR_REPEAT for k in kept):
            kept.append(i)
    return [
        KeyQuote(quote=quotes[i], outlet=outlet_label(quotes[i]), score=round(scores[i], 3)) for i in kept
    ]


# --- counts and flags --------------------------------------------------------------------------
def _documents(quotes: Sequence[Quote]) -> list[DocumentCount]:
    counts = Counter(q.doc for q in quotes)
    first = {q.doc: q for q in reversed(quotes)}
    return [
        DocumentCount(
            doc=doc,
            title=first[doc].title,
            outlet=outlet_label(first[doc]),
            date=iso_date(first[doc].date),
            url=first[doc].url,
            quotes=n,
        )
        for doc, n in counts.most_common()
    ]


def _outlets(quotes: Sequence[Quote]) -> list[OutletCount]:
    counts = Counter(outlet_label(q) for q in quotes)
    docs: dict[str, list[str]] = {}
    for q in quotes:
        listed = docs.setdefault(outlet_label(q), [])
        if q.doc not in listed:
            listed.append(q.doc)
    return [OutletCount(outlet=o, quotes=n, documents=docs[o]) for o, n in counts.most_common()]


def _flags(
    side: str, quotes: Sequence[Quote], per_side: dict[str, Counter[str]], all_outlets: Sequence[str]
) -> list[CoverageFlag]:
    """The one-sided coverage flags of a side with at least one quote."""
    flags: list[CoverageFlag] = []
    mine = per_side[side]
    if len(all_outlets) > 1 and len(mine) == 1:
        (only,) = mine
        text = f"Only one of the {len(all_outlets)} outlets in this answer quotes {side}: {only}."
        flags.append(CoverageFlag(kind="single_outlet", text=text))
    if not any(is_direct(q.text) for q in quotes):
        if len(quotes) == 1:
            text = f"The only quote of {side} is reported speech, not the side's own words."
        else:
            n = len(quotes)
            text = f"Every quote of {side} is reported speech ({n} of {n}): none is in the side's own words."
        flags.append(CoverageFlag(kind="reported_only", text=text))
    others = {name: counts for name, counts in per_side.items() if name != side and counts}
    if others:
        leaders = {o: max(others, key=lambda name: others[name][o]) for o in mine}
        if all(others[leaders[o]][o] >= FAVOUR * n for o, n in mine.items()):
            rivals = " or ".join(dict.fromkeys(leaders[o] for o, _ in mine.most_common()))
            detail = "; ".join(
                f"{o} ({leaders[o]} {others[leaders[o]][o]}, {side} {n})" for o, n in mine.most_common()
            )
            text = f"Every outlet that quotes {side} quotes {rivals} more: {detail}."
            flags.append(CoverageFlag(kind="outlets_favour_other", text=text))
    return flags


def coverage(c: Comparison) -> Coverage:
    """Per side: its documents and outlets with quote counts, date span, direct share, flags and key
    quotes; an abstained answer or a side with no quote gets empty counts and no flags."""
    by_side = side_quotes(c)
    everything = [q for quotes in by_side.values() for q in quotes]
    per_side = {name: Counter(outlet_label(q) for q in quotes) for name, quotes in by_side.items()}
    total = Counter(outlet_label(q) for q in everything)
    all_outlets = [o for o, _ in total.most_common()]
    names = [*by_side, *(s for side in c.sides for s in side.speakers)]
    names += [q.why.speaker for q in everything if q.why and q.why.speaker]
    sides = []
    for side, quotes in by_side.items():
        if not quotes:
            sides.append(SideCoverage(side=side))
            continue
        direct = sum(is_direct(q.text) for q in quotes)
        dates = sorted(d for d in (iso_date(q.date) for q in quotes) if d)
        sides.append(
            SideCoverage(
                side=side,
                quotes=len(quotes),
                direct=direct,
                direct_share=round(direct / len(quotes), 3),
                documents=_documents(quotes),
                outlets=_outlets(quotes),
                earliest=dates[0] if dates else "",
                latest=dates[-1] if dates else "",
                flags=_flags(side, quotes, per_side, all_outlets),
                key_quotes=key_quotes(quotes, everything, names),
            )
        )
    dated = any(iso_date(q.date) for q in everything)
    return Coverage(sides=sides, outlets=all_outlets, dated=dated)


def with_coverage(c: Comparison) -> Comparison:
    """The answer with its coverage (re)computed from its quotes."""
    return c.model_copy(update={"coverage": coverage(c)})


def coverage_of(c: Comparison) -> Coverage:
    """The answer's coverage: the one it carries, or computed now (an answer built by hand)."""
    return c.coverage if c.coverage is not None else coverage(c)
