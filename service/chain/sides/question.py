"""What a question asks: the parties it names (from the parser's entities and proper nouns) and
the matter it is about, which is not a party."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...models import Statement
from ..attribution.lexicon import DISPUTE_VERBS, EVENT_NOUNS, GENERIC_PARTIES, POSITION_NOUNS, SPEECH_VERBS
from ..attribution.parse import parse_text
from ..attribution.quotes import quote_spans
from .placement import WORD_RE, keys, title_of
from .slots import slot_parties

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

# FAC too: the small recogniser takes many an association or lodge for a building ("the Velora
# Ferrymen's Lodge"); a building the dispute is over is its subject, and one that only sets the
# scene is never heard, so it drops out.
_PARTY_LABELS = frozenset({"ORG", "GPE", "NORP", "PERSON", "FAC"})
_PLACES = frozenset({"GPE", "LOC", "FAC"})
_JOINS = frozenset({"-", "–", "—", "/", "and", "&"})  # "the Ruritania–Borduria talks": two parties
# The prepositions that name what is disputed; "in their accounts", "after the talks" do not, but
# they, too, set the matter or the scene rather than name a party.
_DISPUTED_PREPS = frozenset("over about on regarding concerning".split())
_MATTER_PREPS = _DISPUTED_PREPS | frozenset("in at during after before".split())


@dataclass
class Question:
    """A question, parsed once and passed down: its text, its parse, and what it asks."""

    text: str
    doc: Doc

    @classmethod
    def parse(cls, text: str) -> Question:
        """The question's one parse."""
        return cls(text, parse_text(text))

    @functools.cached_property
    def names(self) -> list[str]:
        """The parties it names, read from the question alone (see question_parties)."""
        return question_parties(self)

    @functools.cached_property
    def subject(self) -> str:
        """What it asks about, its parties left out (see question_subject)."""
        return question_subject(self)

    @functools.cached_property
    def slots(self) -> list[tuple[Span, list[str]]]:
        """The parties it lists, each with who it names as standing for it (see slot_parties)."""
        return slot_parties(self.doc)

    @functools.cached_property
    def others(self) -> str:
        """The proper names it gives besides its parties and those standing for them ("about the
        Harbour Board's fee"): someone it asks about, not a voice of one of its parties."""
        named = {w for p in self.names for w in p.split()}
        named |= {w for names in self.aliases.values() for n in names for w in n.split()}
        return " ".join(t.text for t in self.doc if t.pos_ == "PROPN" and t.text not in named)

    @functools.cached_property
    def aliases(self) -> dict[str, list[str]]:
        """Party -> the people or bodies the question names as standing for it."""
        return {_trim(p.text): names for p, names in self.slots if names}

    @functools.cached_property
    def asks_matter(self) -> bool:
        """Whether it asks about something beyond who says what: a content word outside its
        parties ("What do X and Y say?" asks none; "How do X and Y differ on the levy?" does)."""
        left = set(WORD_RE.findall(self.subject.casefold()))
        return any(
            t.lower_ in left
            and t.pos_ in ("NOUN", "PROPN", "VERB", "ADJ")
            and not t.is_stop
            and t.lemma_.casefold() not in SPEECH_VERBS | DISPUTE_VERBS | POSITION_NOUNS | GENERIC_PARTIES
            for t in self.doc
        )


def question_parties(question: Question, statements: Sequence[Statement] = ()) -> list[str]:
    """The parties a question names: its named entities (organisations, places, peoples, persons)
    and runs of proper nouns the recogniser missed, with adjacent ones joined ("the Afghan
    Taliban"); coordinated plural nouns ("supporters and opponents") too. What the dispute is over
    ("over the dam", "about the tariff") is its subject, not a party; places that only set the
    scene drop out later, unheard. With the candidate `statements`, a name owning a speaker noun
    ("Velora's mayor") keeps the noun if their speakers are introduced by it (see _possessed_end),
    and a name qualifying a noun keeps it if that noun speaks in them (see _headed_end)."""
    doc = question.doc
    asked = list(dict.fromkeys(_trim(p.text) for p, _ in question.slots))
    if len(asked) >= 2:  # the question lists who it asks to speak (see slots.py)
        return asked
    # A claim quoted in the question ("... 'Ruritania should join the league'. What do supporters and
    # opponents argue?") is what is disputed, not who disputes it.
    quoted = {t.i for a, b in quote_spans(question.text)[0] for t in doc if a <= t.idx < b}
    spans: list[tuple[int, int]] = [
        part
        for e in doc.ents
        if e.label_ in _PARTY_LABELS
        and not _is_subject_matter(e.root)
        and not _scene(e.root)
        and e.start not in quoted
        for part in _coordinated(doc, e.start, e.end)
    ]
    # Runs of proper nouns, through the names the recogniser found ("Mayor" + "Lena Ostrova") and a
    # possessive inside a name ("the Velora Boatmen's Society").
    other = {i for e in doc.ents if e.label_ not in _PARTY_LABELS for i in range(e.start, e.end)} | quoted
    run: list[int] = []
    for tok in [*doc, None]:
        if tok is not None and tok.i not in other and _in_name(doc, tok, run):
            run.append(tok.i)
            continue
        if run and not _is_subject_matter(doc[run[-1]]) and not _scene(doc[run[-1]]):
            spans.append((run[0], run[-1] + 1))
        run = []
    # Reading every speaker's title parses the statements: only for a question with a possessive.
    roles = _spoken_roles(statements) if any(t.dep_ == "case" for t in doc) else set()
    spans = [(a, _headed_end(doc, _possessed_end(doc, b, roles), statements)) for a, b in spans]
    named = {i for a, b in spans for i in range(a, b)}
    for tok in doc:
        if tok.dep_ == "conj" and tok.tag_ == "NNS" and tok.head.tag_ == "NNS":
            spans += [(tok.head.i, tok.head.i + 1), (tok.i, tok.i + 1)]
        elif tok.dep_ == "conj" and tok.pos_ == "NOUN" and _first_conjunct(tok).i in named:
            # "the ministry and the dockworkers' union": a common noun coordinated with a party is one
            left = min(t.i for t in tok.subtree if t.dep_ in ("compound", "amod", "poss") or t.i == tok.i)
            spans.append((left, tok.i + 1))
    # A name that qualifies a plural noun names a group of people ("the Velora growers"): the noun is
    # part of the party, and how its members are introduced ("grower Ana Ruse").
    spans = [(a, b + 1) if _qualifies_group(doc, b) else (a, b) for a, b in spans]
    merged: list[list[int]] = []
    for a, b in sorted(set(spans)):
        if merged and a <= merged[-1][1]:  # adjacent or overlapping: one party ("Mayor Lena Ostrova")
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    names = [_trim(doc[a:b].text) for a, b in merged]
    names = [n for n in dict.fromkeys(names) if len(n) >= 2 and keys(n)]
    # A party named twice, once with more words ("WikiLeaks" and "WikiLeaks founder"), is one party.
    names = [n for n in names if not any(o != n and keys(o) < keys(n) for o in names)]
    return [*asked, *(n for n in names if not any(keys(n) & keys(a) for a in asked))]


def _scene(tok: Token) -> bool:
    """Whether a place's name alone qualifies an event ("the Orvel talks", "the Velora summit"):
    where it happened, not who disputes it. Two names qualifying it ("the Ruritania-Borduria
    talks") are its parties."""
    if (
        tok.dep_ != "compound"
        or tok.head.lemma_.casefold() not in EVENT_NOUNS
        or tok.ent_type_ not in _PLACES
    ):
        return False
    doc, first = tok.doc, tok.i
    while first > 0 and doc[first].ent_iob_ == "I":  # back to the start of its name
        first -= 1
    joined = first >= 2 and doc[first - 1].text in _JOINS and doc[first - 2].ent_type_ in _PARTY_LABELS
    return not joined


def _in_name(doc: Doc, tok: Token, run: list[int]) -> bool:
    """Whether a token goes on the run of proper nouns before it: a proper noun, or a possessive
    between two ("the Dunnet Boatmen's Society")."""
    if tok.pos_ == "PROPN":
        return True
    return bool(run) and tok.tag_ == "POS" and tok.i + 1 < len(doc) and doc[tok.i + 1].pos_ == "PROPN"


def _coordinated(doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
    """An entity span the recogniser ran over two coordinated names ("the Velora Lodge and Velora
    Town Council") as one span per name."""
    for tok in doc[start:end]:
        conj = [c for c in tok.head.children if c.dep_ == "conj" and start <= c.i < end]
        if tok.dep_ == "cc" and start < tok.i and conj and start <= tok.head.i < tok.i:
            return [(start, tok.i), *_coordinated(doc, tok.i + 1, end)]
    return [(start, end)]


def question_subject(question: Question) -> str:
    """What a question asks about, without the parties it names ("How do Ruritania and Borduria
    differ over the Orvel dam?" -> "How do and differ over the Orvel dam?"): the text to measure
    whether a side says anything on the question at all. The plural noun a name qualifies stays: in
    "the Velora talks" it says what is asked about, and in "the Velora growers" it is only a word."""
    text = question.text
    plural = {t.text for t in question.doc if t.tag_ == "NNS"}
    for party in sorted(question.names, key=len, reverse=True):
        words = party.split()
        keep = words[-1] if len(words) > 1 and words[-1] in plural else ""
        text = re.sub(rf"(?:\b[Tt]he\s+)?{re.escape(party)}(?:['’]s?)?", f" {keep} ", text)
    return " ".join(text.split()) or question.text


def unmentioned(question: Question, texts: Sequence[str]) -> list[str]:
    """The words of the matter a question names ("over the sharing of river water", "about the new
    toll", "in the 2019 budget") that the texts do not carry, when they carry fewer than half of
    them, else []. Asked of articles on fishing quotas, that question has the same parties and
    another matter. A word counts as carried when a word of the texts starts like it (its first five
    letters: "talks" carries "talk"). A question that names no matter is never refused here, nor
    one that misses a single word of it (a holiday the recogniser takes for the matter, a spelling);
    a date is when, not what."""
    named = {w for party in question.names for w in party.split()}
    words = list(
        dict.fromkeys(
            t.lemma_.casefold()
            for t in question.doc
            if t.pos_ in ("NOUN", "PROPN", "ADJ")
            and len(t.text) >= 4
            and t.text not in named
            and t.lemma_.casefold() not in POSITION_NOUNS  # "differ in their accounts": no matter
            and t.ent_type_ not in ("DATE", "TIME")  # "on New Year's Eve": when, not what
            and _is_subject_matter(t)
        )
    )
    if not words:
        return []
    said = {w for text in texts for w in WORD_RE.findall(text.casefold())}
    starts = {w[:n] for w in said for n in (4, 5)}  # "talk" (4 letters) is carried by "talks"
    missing = [w for w in words if w[:5] not in starts]
    return missing if 2 * len(missing) > len(words) and len(missing) >= 2 else []


def _is_subject_matter(tok: Token, preps: frozenset[str] = _MATTER_PREPS) -> bool:
    """Whether a noun is what the dispute is over or where it happens, not who disputes it: it hangs
    from "over", "about", "in" and the like ("disagree over the Orvel dam", "talks in Velora")."""
    return any(a.dep_ == "prep" and a.lower_ in preps for a in tok.ancestors)


def _qualifies_group(doc: Doc, end: int) -> bool:
    """Whether the name ending before `end` is a compound of the plural noun right after it."""
    last = doc[end - 1]
    return end < len(doc) and doc[end].tag_ == "NNS" and last.dep_ == "compound" and last.head.i == end


def _headed_end(doc: Doc, end: int, statements: Sequence[Statement]) -> int:
    """Where a party ends when the name ending before `end` qualifies the singular noun right after
    it and that noun speaks in the documents: "the Velora council" is the party when "the council
    said", not the town. Otherwise `end`: in "Is the Velora ferry worth it?" the ferry never speaks."""
    last = doc[end - 1]
    qualified = end < len(doc) and doc[end].tag_ == "NN" and last.head.i == end
    if not qualified or last.dep_ not in ("compound", "amod"):
        return end
    noun = doc[end].lower_
    for s in statements:
        if noun in s.text.casefold():
            subjects = (t for t in s.parse if t.dep_ == "nsubj" and t.lower_ == noun)
            if any(t.head.lemma_.casefold() in SPEECH_VERBS for t in subjects):
                return end + 1
    return end


def _spoken_roles(statements: Sequence[Statement]) -> set[str]:
    """The keys of every speaker's name, the body beside it and the title before it."""
    speakers = {s.speaker: s.affiliation for s in statements if s.speaker}
    return {k for who, body in speakers.items() for k in keys(f"{who} {body} {title_of(who, statements)}")}


def _possessed_end(doc: Doc, end: int, roles: set[str]) -> int:
    """Where a party ends when the name ending before `end` owns a noun that the question makes a
    speaker: the subject of a verb of speech, or coordinated with another party ("How do Velora's
    mayor and the growers differ?", "Velora's coach says ..."). That noun is part of the party, and
    how its speakers are introduced ("Mayor Ana Ruse", "the mayor said"). Otherwise `end`: "Velora's
    test" in "Does Velora's test work?" is what is asked about. The noun must be one the documents
    introduce speakers by (`roles`), since the parser misreads such questions often enough."""
    last = doc[end - 1]
    if end >= len(doc) or doc[end].dep_ != "case" or last.dep_ != "poss":
        return end
    head = last.head
    first = _first_conjunct(head)
    coordinated = first is not head or any(c.dep_ == "conj" for c in head.children)
    speaking = first.head.lemma_.casefold() in SPEECH_VERBS
    between = range(end + 1, head.i)
    if (
        head.i <= end
        or head.pos_ != "NOUN"
        or first.dep_ not in ("nsubj", "nsubjpass")
        or not (coordinated or speaking)
        or not keys(head.text) & roles
        or any(doc[j].head.i != head.i or doc[j].dep_ not in ("compound", "amod") for j in between)
    ):
        return end
    return head.i + 1


def _first_conjunct(tok: Token) -> Token:
    while tok.dep_ == "conj" and tok.head is not tok:
        tok = tok.head
    return tok


def _trim(name: str) -> str:
    return re.sub(r"^(?:the|The)\s+|\s*['’]s?$", "", " ".join(name.split())).strip(" ,.;:")
