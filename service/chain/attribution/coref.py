"""What an attribution refers back to: a pronoun ("she said") to the last fitting speaker, a
surname to the full name written earlier, and "the spokeswoman said" or "the statement said" to the
speaker whose attribution used that noun, or "the board said" to the body named before it.
parse.py reads the attributions; this module links them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.tokens import Token

WINDOW = 3
"""How many sentences back a pronoun or a running quotation may look for its speaker."""

People = list[tuple[int, int, str]]  # (char, sentence, full name) of PERSON mentions


@dataclass(frozen=True)
class Said:
    """One attribution in the document: anchor offset, tree depth, sentence index, who and where."""

    at: int
    depth: int
    sent: int
    speaker: str
    affiliation: str
    span: tuple[int, int]
    kind: str  # person, group, nominal; or he/they for a pronoun left unresolved
    quoted: bool  # the sentence holds a quotation
    described: frozenset[str] = frozenset()  # nouns that describe the speaker or the saying
    rule: str = ""  # the pattern that found it (patterns.RULES)
    cue: str = ""  # the cue's words
    words: str = ""  # the words that named the speaker in the sentence
    role: str = ""  # the common noun the attribution calls a named person ("chief negotiator")


def described(anchor: Token, subj: Token) -> frozenset[str]:
    """The nouns around an attribution that a later "the <noun> said" can refer back to: those of
    the speaker's phrase ("Velora's spokeswoman, Ana Ruse") and of how the saying is framed ("in a
    statement", "in a letter to the council")."""
    framing = [t for c in anchor.children if c.dep_ == "prep" for t in c.subtree]
    return frozenset(t.lemma_.casefold() for t in (*subj.subtree, *framing) if t.pos_ == "NOUN")


def named_before(
    subj: Token,
    n: int,
    speaker: str,
    said: list[Said],
    bodies: Sequence[tuple[int, int, str]] = (),
    at: int = 0,
) -> tuple[str, str, str]:
    """A definite common noun as the speaker ("The spokeswoman said", "The statement said"): the
    last speaker within WINDOW sentences whose attribution used that noun ("Velora's spokeswoman,
    Ana Ruse, said", "In a statement, the council said"); else the last body named before `at`
    whose name ends in that noun ("the Velora Harbour Board" for "the board said"); else the phrase
    as it stands, with no affiliation (only a phrase without one is looked up)."""
    definite = subj.pos_ == "NOUN" and any(c.dep_ == "det" and c.lower_ == "the" for c in subj.children)
    noun = subj.lemma_.casefold()
    for s in reversed(said) if definite else ():
        if n - s.sent > WINDOW:
            break
        if s.speaker and noun in s.described and s.speaker.casefold() != speaker.casefold():
            return s.speaker, s.affiliation, s.kind
    for char, _, name in reversed(bodies) if definite and subj.tag_ == "NN" else ():
        if char < at and len(name.split()) > 1 and name.split()[-1].casefold() == noun:
            return name, name, "group"
    return speaker, "", "nominal"


def resolve(kind: str, sent: int, at: int, said: list[Said], people: People) -> tuple[str, str, str]:
    """A pronoun's speaker: he/she the last person, they/it the last group, else the last speaker."""
    recent = [
        (s.speaker, s.affiliation, s.kind) for s in reversed(said) if s.speaker and sent - s.sent <= WINDOW
    ]
    named = [(name, "", "person") for char, n, name in reversed(people) if char < at and sent - n <= WINDOW]
    if kind == "he":  # the last person who spoke, else the last person named, else the last "the minister"
        fits = [r for r in recent if r[2] == "person"] + named + [r for r in recent if r[2] == "nominal"]
        # else the last speaker: the recogniser takes a titled name for a body ("Councillor Ana Ruse")
        fits += [r for r in recent if r[2] == "group"]
    else:
        fits = [r for r in recent if r[2] == "group"] + recent
    name, affiliation, found = fits[0] if fits else ("", "", kind)
    return full_name(name, at, people), affiliation, found


def full_name(name: str, at: int, people: People) -> str:
    """A short name expanded to the longest person named earlier whose name ends with it."""
    longer = [full for char, _, full in people if char < at and full.endswith(" " + name)]
    return max(longer, key=len) if name and longer and len(name.split()) <= 2 else name
