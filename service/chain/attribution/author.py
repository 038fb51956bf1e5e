"""Who wrote a document in their own voice: the writer of an opinion column or a signed statement.

A column's arguments name no speaker ("A flat fee is fairer", "I have never seen a fund stay
ring-fenced"), yet they are its writer's account. The writer is named where newspapers name them:
a byline under the headline ("By Ana Ruse, chair of the Velora Growers' Union"), a closing line
about them ("Ana Ruse chairs the Velora Growers' Union."), or a headline that calls the document a
statement or letter from someone ("Statement from the Velora Growers' Union"). A byline alone does
not make a column: a reporter's does not make the news they narrate their account. The document
must also speak in the first person outside its quotations ("I", "we", "our") in more than one
paragraph, which news narration does not.

A court's opinion says who wrote it in its own conventions: the line that names the justice who
delivered the Court's opinion (the majority: the Court speaks) or, opening a separate opinion,
"JUSTICE ALDER, with whom JUSTICE BIRCH joins, dissenting" (that justice, dissenting or concurring).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...library import rejoined
from .lexicon import SPEECH_NOUNS, SPEECH_VERBS
from .parse import Analysis, analysis, nlp
from .patterns import first_person_words
from .quotes import quote_spans

if TYPE_CHECKING:
    from spacy.tokens import Span

OPENING_LINES = 4
TAGLINE_WORDS = 30
FIRST_PERSON_LINES = 2
"""Paragraphs in the first person that make a text its writer's own: a report may say "told us" once."""
_BYLINE_RE = re.compile(r"^(?:[A-Za-z]+\s+)?by\s+(?=[A-Z])", re.IGNORECASE)
_FINAL_RE = re.compile(r"[.!?…][\"'”’»)\]]*$")
_OWN = frozenset({"our", "my"})
_JUSTICE = r"(?:CHIEF\s+)?JUSTICE\s+[A-Z][A-Z'’-]+"
_DELIVERED_RE = re.compile(
    rf"(?:{_JUSTICE}|[A-Z][A-Z'’-]+,\s+(?:C\.\s*)?J\.),?\s+delivered\s+the\s+opinion\s+"
    r"(?:of|for)\s+(?:the|a\s+unanimous)\s+Court"
)
_SEPARATE_RE = re.compile(
    rf"^\s*(?:Statement\s+of\s+)?({_JUSTICE})(?:,\s+with\s+whom\s+[^.]*?\s+joins?)?,?\s+"
    r"((?:concurring|dissenting|respecting)[^.]*)",
    re.MULTILINE,
)
OPINION_OPENING = 3000  # a separate opinion names its writer in its first lines, after the caption
_FROM = frozenset({"from", "by", "of"})


@dataclass(frozen=True)
class Author:
    """The writer's name, what the document says they are, and the closing line that says it."""

    name: str
    role: str
    tagline: tuple[int, int] | None = None  # offsets of a closing "Ana Ruse is ..." line


def author(text: str) -> Author | None:
    """The writer of a document written in its writer's first person, if the document names them."""
    if (court := opinion(text)) is not None:
        return court
    lines = [(m.start(), m.group(0)) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]
    parsed = analysis(text)
    found = _byline(lines, parsed) or _tagline(lines, parsed) or _headline(lines, parsed)
    if found is None:
        return None
    spoken = sum(1 for at, line in lines if first_person(parsed.span(at, at + len(line))))
    return found if spoken >= FIRST_PERSON_LINES else None


def opinion(text: str) -> Author | None:
    """The voice of a court's opinion: a justice's separate opinion (dissenting, concurring, or a
    statement respecting an order) by its opening line, else the majority where the document names
    the justice who delivered the Court's opinion."""
    head = rejoined(text[:OPINION_OPENING])  # "dis-\nsenting"
    m = _SEPARATE_RE.search(head)
    if m is not None and not _DELIVERED_RE.search(head[: m.start()]):
        name = " ".join(w.capitalize() for w in m.group(1).split())
        # an opinion that concurs in part and dissents in part dissents; one "respecting" an order states
        kind = next((k for k in ("dissenting", "concurring") if k in m.group(2)), "")
        return Author(name, f"{kind} opinion" if kind else "statement")
    if _DELIVERED_RE.search(text):  # its \s+ spans the line breaks
        return Author("The majority", "the opinion of the Court")
    return None


def _phrase(parsed: Analysis, at: int, line: str, phrase: str) -> Span:
    """The parsed span of `phrase`, a stripped piece of the line that starts at `at`."""
    start = at + line.index(phrase)
    return parsed.span(start, start + len(phrase))


def _byline(lines: list[tuple[int, str]], parsed: Analysis) -> Author | None:
    """A line under the headline, without a sentence's final stop, that names the writer: "By Ana
    Ruse", "Opinion by Ana Ruse", "Ana Ruse, chair of the Velora Growers' Union"."""
    for at, raw in lines[1:OPENING_LINES]:
        line = raw.strip().strip("*_")
        if _FINAL_RE.search(line):
            return None  # the prose has begun
        by = _BYLINE_RE.match(line)
        phrase = line[by.end() :] if by else line
        named = _named(phrase, _phrase(parsed, at, raw, phrase), alone=by is not None)
        if named is not None:
            return Author(*named)
    return None


def _tagline(lines: list[tuple[int, str]], parsed: Analysis) -> Author | None:
    """A closing line about the writer: "Ana Ruse is chair of ...", "— Ana Ruse, chair of ...", "Ana
    Ruse chairs the Velora Growers' Union."."""
    if len(lines) < 2:
        return None
    at, line = lines[-1]
    stripped = line.strip().strip("*_").lstrip("—–-― ").strip()
    if not stripped or len(stripped.split()) > TAGLINE_WORDS:
        return None
    named = _named(stripped, _phrase(parsed, at, line, stripped), alone=False, predicate=True)
    if named is None:
        return None
    start = at + line.index(stripped)
    return Author(*named, tagline=(start, start + len(stripped)))


def _headline(lines: list[tuple[int, str]], parsed: Analysis) -> Author | None:
    """A headline that calls the document someone's statement: "Statement from the Velora Growers'
    Union", "Velora Growers' Union statement on the levy", "An open letter by Ana Ruse"."""
    if not lines:
        return None
    at, line = lines[0]
    doc = _phrase(parsed, at, line, line.strip())
    for tok in doc:
        if tok.lemma_.casefold() not in SPEECH_NOUNS or tok.pos_ != "NOUN":
            continue
        owner = [c for c in tok.lefts if c.dep_ in ("compound", "poss")][-1:]  # the word before it
        given = [g for c in tok.rights if c.dep_ == "prep" and c.lower_ in _FROM for g in c.children]
        for source in owner + given:
            if source.pos_ != "PROPN":
                continue
            first, whole = source.i, doc.doc
            while first > doc.start and (whole[first - 1].pos_ == "PROPN" or whole[first - 1].tag_ == "POS"):
                first -= 1
            name = whole[first : source.i + 1].text
            if len(name.split()) >= 2:
                return Author(name, name)
    return None


_NAME_RE = re.compile(r"^([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){1,3})(?=\s*,|\s+[a-z]|\s*$)")


def _named(phrase: str, doc: Span, alone: bool, predicate: bool = False) -> tuple[str, str] | None:
    """(name, role) for a phrase that opens with a name of two to four capitalised words, followed
    by a comma and the role, or (with `predicate`) by what the writer is or does ("is chair of ...",
    "chairs ..."); `alone` accepts the name with nothing after it. `doc` is the phrase's parse."""
    m = _NAME_RE.match(phrase)
    if m is None or not len(doc):
        return None
    name, rest = m.group(1), phrase[m.end() :].strip()
    if doc[0].pos_ in ("DET", "PRON"):  # "The council ...", "Our members ..."
        return None
    if not rest:
        return (name, "") if alone else None
    base = doc.start_char
    after = next((t for t in doc if t.idx - base >= m.end() and not t.is_space), None)
    if after is not None and after.lemma_.casefold() in SPEECH_VERBS:
        return None  # "Ana Ruse said ..." closing a report is a statement, not a line about its writer
    if rest.startswith(","):
        role = rest[1:]
    elif predicate and after is not None and after.lemma_ == "be":
        role = phrase[after.idx - base + len(after) :]
    elif predicate and after is not None and after.pos_ == "VERB":
        role = rest
    else:
        return None
    role = role.strip().rstrip(".").strip()
    return (name, role) if role else None


def writes(speaker: str, reported: bool, sentence: Span) -> bool:
    """Whether a sentence of a writer's own text is theirs: it names no speaker and reports no one,
    or they report themselves in it ("We warned the council"), or its speaker is theirs ("Our plan
    writes this into the bylaw")."""
    if speaker:
        return speaker.split()[0].casefold() in _OWN
    return not reported or first_person(sentence)


def first_person(sentence: Span) -> bool:
    """Whether the parsed sentence speaks in its writer's first person outside any quotation: a
    first-person pronoun ("I", "we", "our", as the parser tags it: "US" may be a country)."""
    quoted = quote_spans(sentence.text)[0]
    base = sentence.start_char
    return any(not any(a <= t.idx - base < b for a, b in quoted) for t in first_person_words(sentence, nlp()))
