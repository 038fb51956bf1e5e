"""Content-word stems: how close a claim reads to a set of quotes (the claim scores of the eval spec,
which the chain also runs on its own answer as a self-check)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

# The eval spec's stop list: words of 4+ letters that say nothing about what a claim is about.
STOP = frozenset(
    "that this with from have has had were was will would their they them there these those been being "
    "into over about which while when what where whom whose said says also than then such other each "
    "both very more most much some side sides".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def possessive(name: str) -> str:
    """`name`'s possessive: "the union's", "the protesters'" (a plural in -s takes the apostrophe alone)."""
    plural = name.endswith("s") and not name.endswith("ss") and name[:1].islower()
    return f"{name}'" if plural else f"{name}'s"


@cache
def stop_words() -> frozenset[str]:
    """spaCy's stop list for the parser's language (`en`), imported on first use: importing this
    module, or the chain, loads no spaCy."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def stems(text: str) -> set[str]:
    """The first 5 letters of each lower-cased word of 4 or more letters, stop words removed."""
    return {w[:5] for w in _WORD.findall(text.casefold()) if len(w) >= 4 and w not in STOP}


def closeness(claim: str, texts: Iterable[str]) -> float | None:
    """The share of the claim's stems found in `texts`; None for a claim with no stems."""
    wanted = stems(claim)
    if not wanted:
        return None
    found = set().union(*(stems(t) for t in texts))
    return len(wanted & found) / len(wanted)


def reads_own(claim: str, own: Iterable[str], others: Iterable[Iterable[str]]) -> float | None:
    """1 if the claim reads closer to its own quotes than to every other side's, 0 if not, 0.5 on a
    tie; None when the claim shares no stem with any of them (left out of the score)."""
    mine = closeness(claim, own)
    theirs = [closeness(claim, o) for o in others]
    if mine is None or not theirs:
        return None
    best_other = max(t or 0.0 for t in theirs)
    if mine == 0 and best_other == 0:
        return None
    return 1.0 if mine > best_other else 0.5 if mine == best_other else 0.0
