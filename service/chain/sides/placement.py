"""Placement without a model: which party a speaker or statement belongs to, by the names in the
attribution. Each placement says which rule made it and the words that decided it (`Placed`).
These rules compare names (stems of words), which no grammar pattern says, so they stay code; the
parties themselves are the question's (see question.py)."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ...models import Statement
from ..attribution.lexicon import KIN, KINDS
from ..attribution.parse import parse_text
from ..attribution.quotes import quote_spans
from .countries import countries

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

MAX_SIDES = 4
# Words that say nothing about which party a name is.
_GENERIC = frozenset("the and for of its their his her side sides people".split())
_TITLE_DEPS = frozenset({"compound", "amod", "poss", "nmod"})
_QUANTIFIERS = frozenset("each both all neither either two".split())
WORD_RE = re.compile(r"[^\W\d_][\w'’-]*")
_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,}")  # "U.S.", "U.N.": an acronym written with stops


class Placed(NamedTuple):
    """A side, the rule that chose it (service/why.py reads it) and the words that decided it."""

    side: str
    rule: str
    words: str


def keys(text: str) -> set[str]:
    """Words that identify a party: 5-letter stems, and 4-letter ones for a capitalised word, so that
    a demonym meets its country ("Ruritanian" and "Ruritania"); not for a first name (a capitalised
    word before another), which would make every Marian a Marianne. An acronym is a key as written;
    a word of kin names the family, and a title or body of a kind names that kind of party ("police"
    and "the authorities"; see lexicon.yaml); a country's demonym or capital names the country
    (countries.py). Generic words are left out."""
    out: set[str] = {"@" + code for code in countries(text)}  # "Malawian", "Lilongwe": Malawi
    words = WORD_RE.findall(_DOTTED.sub(lambda m: m.group(0).replace(".", ""), text))
    for n, word in enumerate(words):
        if 2 <= len(word) <= 4 and word.isupper():  # an acronym: "US", "UN", "FBI"
            out.add("#" + word)
            continue
        low = word.casefold().rstrip("'’s")
        if low in KIN:  # a mother, a son or a widow speaks for the family
            out.add("famil")
        if (kind := KINDS.get(word.casefold())) is not None:  # a county attorney for the authorities
            out.add("%" + kind)
        if len(low) < 3 or low in _GENERIC:
            continue
        out.add(low[:5])
        before_name = n + 1 < len(words) and words[n + 1][:1].isupper()
        if word[0].isupper() and len(low) >= 5 and not before_name:
            out.add("^" + low[:4])
    return out


def distinctive(sides: list[str]) -> dict[str, set[str]]:
    """Each side's keys that no other side shares (a word both names carry tells them apart from nobody)."""
    each = {s: keys(s) for s in sides}
    return {s: k - set().union(*(v for o, v in each.items() if o != s)) for s, k in each.items()}


def match_side(text: str, sides: list[str]) -> str | None:
    """The one side whose distinctive words `text` carries, if exactly one does."""
    if not text:
        return None
    found = keys(text)
    hits = [s for s, k in distinctive(sides).items() if k & found and not another_of_kind(text, found, s)]
    return hits[0] if len(hits) == 1 else None


def another_of_kind(text: str, found: set[str], side: str) -> bool:
    """Whether `text` (whose keys are `found`) names another party of the side's kind: the side's
    head noun after a qualifier of its own, with none of the side's ("the teachers' union" for "the
    dockworkers' union", "the Castamir administration" for "the Velora administration")."""
    kind = _kind(side)
    if kind is None or kind[1] & found:
        return False
    head, own = kind
    said = WORD_RE.findall(text)
    return any(
        w.casefold()[:5] == head and (before := keys(said[n - 1])) and not before & own
        for n, w in enumerate(said)
        if n
    )


@functools.lru_cache(maxsize=256)
def _kind(side: str) -> tuple[str, frozenset[str]] | None:
    """A side named by a common noun and its qualifier ("dockworkers' union", "Velora's
    government"): the noun's stem and the qualifier's keys; None for a name, or a bare noun."""
    doc = parse_text(side)
    root = doc[:].root
    if root.pos_ not in ("NOUN", "PROPN") or not root.text.islower():  # "green camp" parses as a name
        return None
    mods = [t for t in root.children if t.i < root.i and t.dep_ in _TITLE_DEPS]
    if not mods:
        return None
    words = [w for m in mods for w in m.subtree]
    own = keys(doc.text[min(w.idx for w in words) : max(w.idx + len(w) for w in words)])
    return (root.lower_[:5], frozenset(own)) if own else None


def names_several(text: str, sides: list[str]) -> bool:
    """Whether `text` names two or more sides ("Ruritania and Borduria", "Ruritanian and Bordurian
    troops"): what they say or do together is neither side's account."""
    found = keys(text)
    return sum(1 for k in distinctive(sides).values() if k & found) >= 2


def nearest_side(text: str, start: int, end: int, sides: list[str]) -> str | None:
    """The side whose distinctive word stands closest to `text[start:end]`; None on a tie. A weak
    signal (a speaker is often introduced next to the party he answers), used when nothing better is."""
    owner = {k: side for side, ks in distinctive(sides).items() for k in ks}
    land = {side: {k for k in keys(side) if k[0] == "@"} for side in sides}  # its countries
    best: dict[str, int] = {}
    before: set[str] = set()
    for m in WORD_RE.finditer(text):
        here, elsewhere = keys(m.group(0)), {k for k in before if k[0] == "@"}
        before = here
        for k in here:
            side = owner.get(k)
            # A role word after another country's name is that country's: "Malawi's minister" near
            # a speaker is no guess for a side that names its minister by another country.
            if side is not None and k[0] != "@" and land[side] and elsewhere - land[side]:
                continue
            if side is not None:
                gap = start - m.end() if m.end() <= start else m.start() - end if m.start() >= end else 0
                best[side] = min(best.get(side, gap), gap)
    ranked = sorted(best.items(), key=lambda kv: kv[1])
    if not ranked or (len(ranked) > 1 and ranked[1][1] == ranked[0][1]):
        return None
    return ranked[0][0]


def speaker_side(
    speaker: str, affiliations: Counter[str], sides: list[str], statements: Sequence[Statement] = ()
) -> Placed | None:
    """The side a speaker speaks for, when their name, the title written before it ("Union leader
    Bram Ode") or the bodies the parser found beside them anywhere in the documents (most frequent
    first) name exactly one side."""
    if names_several(speaker, sides):
        return None
    if (side := match_side(speaker, sides)) is not None:
        return Placed(side, "speaker_name", speaker)
    title = title_of(speaker, statements)
    if (side := match_side(title, sides)) is not None:
        return Placed(side, "speaker_title", title)
    votes = Counter[str]()
    named: dict[str, str] = {}  # side -> the body that names it most often
    for affiliation, n in affiliations.most_common():
        if (hit := match_side(affiliation, sides)) is not None:
            votes[hit] += n
            named.setdefault(hit, affiliation)
    ranked = votes.most_common(2)
    if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return Placed(ranked[0][0], "affiliation", named[ranked[0][0]])
    return None


def title_of(speaker: str, statements: Sequence[Statement]) -> str:
    """The words that modify a speaker's name where it is first written ("Union leader" in "Union
    leader Bram Ode", "the union's" in "the union's Bram Ode")."""
    for s in statements:
        at = s.text.find(speaker)
        if at < 0:
            continue
        name = _tokens(s, at, at + len(speaker))
        if not name:
            return ""
        mods = [t for t in name[-1].children if t.i < name[0].i and t.dep_ in _TITLE_DEPS]
        words = [w for m in mods for w in m.subtree if w.i < name[0].i]
        return " ".join(w.text for w in sorted(set(words), key=lambda w: w.i))
    return ""


def _tokens(s: Statement, start: int, end: int) -> list[Token]:
    """The parsed tokens of `s.text[start:end]`."""
    base = s.parse.start_char
    return [t for t in s.parse if start <= t.idx - base < end]


def titled_body(title: str, bodies: set[str], sides: list[str]) -> Placed | None:
    """The side of the one body whose name holds every word of a speaker's title ("Culture
    Minister" and "the Ruritanian Ministry of Culture"); a title of one word ("Minister") is too
    common to tell."""
    words = {k for k in keys(title) if not k.startswith("^")}
    if len(words) < 2:
        return None
    found = {
        side: body for body in sorted(bodies) if words <= keys(body) and (side := match_side(body, sides))
    }
    if len(found) != 1:
        return None
    [(side, body)] = found.items()
    return Placed(side, "titled_body", f"{title}: {body}")


def nearest_for(
    speaker: str, statements: list[Statement], sides: list[str], phrase_only: bool = False
) -> Placed | None:
    """A guess: the side named nearest a speaker's first mention ("..., said Bram Ode of the
    Ruritanian delegation"); with `phrase_only`, within the noun phrase the name stands in (see
    _phrase). Never for a phrase that counts parties ("both sides", "each country"), and never by a
    name inside a quotation: that is whom they speak of (see unquoted)."""
    if set(speaker.casefold().split()[:2]) & _QUANTIFIERS or names_several(speaker, sides):
        return None
    for s in statements:
        at = s.text.find(speaker)
        if at >= 0:
            end = at + len(speaker)
            name = _tokens(s, at, end)
            if phrase_only and not name:
                return None
            text = unquoted(s.text, at)
            if phrase_only:
                lo, hi = _phrase(name[-1], s.parse.start_char)
            else:
                # After the name, only its apposition or relative clause counts ("Ana Ruse, who chairs
                # the board, said"), never what the speaker said about others: stop at the verb it is
                # subject of.
                lo = max(0, at - 90)
                head = name[-1].head if name else None
                head_at = head.idx - s.parse.start_char if head is not None else -1
                verb = head is not None and head_at >= end and head.pos_ in ("VERB", "AUX")
                hi = head_at if verb else end + 40
            side = nearest_side(text[lo:hi], at - lo, at - lo + len(speaker), sides)
            return None if side is None else Placed(side, "proximity", " ".join(text[lo:hi].split()))
    return None


def _phrase(tok: Token, base: int) -> tuple[int, int]:
    """The character span of the noun phrase a name stands in, up to the verb it hangs from ("Bram
    Ode of the Ruritanian delegation", "Ana Ruse, who chairs the board"); with the verb's subject
    when the phrase says "its" or "their" ("The Velora council, through its spokesman Bram Ode,
    said": his body is the subject's)."""
    while tok.head.i != tok.i and tok.head.pos_ not in ("VERB", "AUX"):
        tok = tok.head
    lo, hi = tok.left_edge.idx, tok.right_edge.idx + len(tok.right_edge)
    if any(t.dep_ == "poss" and t.lower_ in ("its", "their") for t in tok.subtree):
        subject = next((c for c in tok.head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if subject is not None and subject.i < tok.i:
            lo = subject.left_edge.idx
    return lo - base, hi - base


def unquoted(text: str, at: int) -> str:
    """`text` with its quotations blanked out, all but one holding `at`: whom a speaker names in
    what they say ("'We warn Velora,' said Ana Ruse") is not who they are."""
    for a, b in quote_spans(text)[0]:
        if not a <= at < b:
            text = text[:a] + " " * (b - a) + text[b:]
    return text


def subject_side(sentence: Span, sides: list[str]) -> Placed | None:
    """The side that is the grammatical subject of a parsed sentence, or owns it ("Ruritania fears
    ...", "Ruritania's plan was rejected"): such a sentence states that side's position."""
    for tok in sentence:
        if tok.dep_ in ("nsubj", "nsubjpass") and tok.head.dep_ == "ROOT":
            owner = [tok, *(c for c in tok.children if c.dep_ in ("poss", "compound", "amod"))]
            owner += [g for c in owner[1:] if c.dep_ == "poss" for g in c.children if g.dep_ == "compound"]
            words = " ".join(t.text for t in sorted(owner, key=lambda t: t.i))
            side = match_side(words, sides)
            return None if side is None else Placed(side, "narration_subject", words)
    return None


def _one_name(a: str, b: str) -> bool:
    """Whether two names name one party: the keys of one hold the other's ("Asif", "Khawaja Asif"),
    or they share a proper name's stem ("Pakistani", "Pakistan"). A shared first name is not enough."""
    ka, kb = keys(a), keys(b)
    return bool(ka and kb) and (ka <= kb or kb <= ka or any(k.startswith("^") for k in ka & kb))


def side_groups(statements: list[Statement], affiliations: dict[str, Counter[str]]) -> list[str]:
    """Sides when the question names fewer than two: the bodies the speakers speak for (or the
    speakers themselves), those heard in at least two statements, most heard first. Names that
    share a key are one side, under the name heard most ("Pakistani" and "Pakistan" are one body;
    as two sides, neither would be distinctive and no speaker would be placed)."""
    heard = Counter[str]()
    for s in statements:
        if s.speaker:
            votes = affiliations.get(s.speaker) or Counter({s.affiliation: 1} if s.affiliation else {})
            heard[votes.most_common(1)[0][0] if votes else s.speaker] += 1
    groups: dict[str, int] = {}
    for name, n in heard.most_common():
        same = next((g for g in groups if _one_name(g, name)), name)
        groups[same] = groups.get(same, 0) + n
    ranked = sorted(groups.items(), key=lambda kv: -kv[1])
    return [name for name, n in ranked[:MAX_SIDES] if n >= 2]
