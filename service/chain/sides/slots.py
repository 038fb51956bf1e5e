"""The sides a question lists: who it asks to speak. "What do X, Y and Z each say?", "How do X and Y
differ?", "What did X argue, and how did Y answer?", "What are X's and Y's positions?"

A question asks its parties to speak in the subject of a question clause: the words between the
auxiliary after a wh-word ("What do", "how did") and the clause's verb of speech or dispute. Those
words are split into one party per coordinated noun phrase, by the parse where it holds and by the
commas and "and" that separate a list where the small parser misreads one ("What do the police, the
protesters and X say" often hangs "the police" off "do"). Parties may be named by role ("the
regulator", "its critics", "campaigners for a new law"), which no entity recogniser finds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..attribution.lexicon import DISPUTE_NOUNS, DISPUTE_VERBS, GENERIC_PARTIES, POSITION_NOUNS, SPEECH_VERBS

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_WH = frozenset("what how why where when who whom which".split())
_AUX = frozenset("do does did are is were was have has had will would".split())
_QUANTIFIERS = frozenset("each both all".split())
# Words that end a party's own name: what follows describes or exemplifies it ("the critics quoted
# by X", "its opponents, including Y", "farmers like Z", "the official who led it").
_POST = frozenset("who whom which that whose including like such quoted cited named as".split())
_SPLIT = frozenset({",", "and", "or", "versus", "vs", "vs.", ";", "&"})
_CLAUSE_DEPS = frozenset({"ROOT", "conj", "ccomp", "xcomp", "advcl", "parataxis"})
_NAMED = frozenset({"PERSON", "ORG", "GPE", "NORP"})


def slot_parties(doc: Doc) -> list[tuple[Span, list[str]]]:
    """The parties a question asks to speak, as spans of its parse, in the order asked, each with
    the people or bodies the question names as standing for it: its examples ("its opponents,
    including X", "growers like X") and the owner of its head noun elsewhere in the question ("Why
    did X's cabinet ..., and how do the cabinet and the unions tell it?"). Fewer than two in its
    questions ("X says ...; what does Y answer?"): the subjects of its statements of speech count too."""
    out: list[tuple[Span, list[str]]] = []
    ranges = [*_subjects(doc), *_between(doc)]
    for tier in (ranges, _speakers(doc)):
        for start, end in tier:
            for a, b in _ranges(doc, start, end):
                if _example_at(doc, a) is not None and out:  # ", including X" after its party
                    out[-1][1].extend(_examples(doc, a, b))
                    continue
                piece = _party(doc, a, b)
                if piece is not None and all(piece.start != p.start for p, _ in out):
                    out.append((piece, _examples(doc, a, b) + _owners(doc, piece)))
        if len(out) >= 2:
            break
    return sorted(out, key=lambda p: p[0].start)


def _example_at(doc: Doc, i: int) -> int | None:
    """Where the examples start if `doc[i]` opens them ("including", "like", "such as"), else None."""
    if doc[i].lower_ in ("including", "like", "notably", "especially"):
        return i + 1
    if doc[i].lower_ == "such" and i + 1 < len(doc) and doc[i + 1].lower_ == "as":
        return i + 2
    return None


def _examples(doc: Doc, start: int, end: int) -> list[str]:
    """The names after the first example cue in `doc[start:end]` (its entities, else its proper nouns)."""
    at = next((j for i in range(start, end) if (j := _example_at(doc, i)) is not None), None)
    if at is None:
        return []
    ents = [e.text for e in doc.ents if at <= e.start and e.end <= end and e.label_ in _NAMED]
    return ents or [t.text for t in doc[at:end] if t.pos_ == "PROPN"][:1]


def _owners(doc: Doc, party: Span) -> list[str]:
    """Names that own the party's head noun elsewhere in the question ("X's government")."""
    head = party[-1]
    if head.pos_ != "NOUN" or len(party) > 2:
        return []
    owners = [
        c
        for t in doc
        if t.lemma_ == head.lemma_ and not party.start <= t.i < party.end
        for c in t.children
        if c.dep_ == "poss" and c.pos_ == "PROPN"
    ]
    names = [next((e.text for e in doc.ents if e.start <= c.i < e.end), c.text) for c in owners]
    return [re.sub(r"\s*['’]s?$", "", name) for name in names]


def _speakers(doc: Doc) -> list[tuple[int, int]]:
    """The subjects, with their conjuncts, of the question's verbs of speech outside its questions
    ("The police say ... and a civil liberties group says ...")."""
    found = []
    for tok in doc:
        if tok.pos_ != "VERB" or tok.lemma_.casefold() not in SPEECH_VERBS:
            continue
        if any(c.lower_ in _WH for c in tok.children):  # a question's own verb ("how does X tell it")
            continue
        for subject in (c for c in tok.children if c.dep_ == "nsubj" and c.pos_ in ("NOUN", "PROPN")):
            words = [t.i for t in subject.subtree]
            found.append((min(words), max(words) + 1))
    return found


def _subjects(doc: Doc) -> list[tuple[int, int]]:
    """Token ranges of the subjects of a question's clauses of speech or dispute: after "What do",
    "how did" or an embedded "what" ("Set out what X and Y say"), up to the verb or the position
    noun. A clause whose verb is of another kind ("Why did X suspend Y") names no one to speak."""
    found = []
    for tok in doc:
        if tok.lower_ not in _WH:
            continue
        # "What arguments do X and Y make?": the wh-word asks for views, so the clause's own verb
        # closes its subject, whatever verb it is.
        viewed = _views_asked(doc, tok.i)
        at = tok.i + 2 if viewed else tok.i + 1
        opener = doc[at] if at < len(doc) and doc[at].lower_ in _AUX else tok
        start = end = opener.i + 1
        while (
            end < len(doc)
            and not _closes(doc, end, start, opener, viewed)
            and not _stops(doc, end, start, opener)
        ):
            end += 1
        if end < len(doc) and end > start and _closes(doc, end, start, opener, viewed):
            found.append((start, end))
    return found


def _views_asked(doc: Doc, i: int) -> bool:
    """Whether the wh-word at `i` asks for views: "What arguments do", "Which claims did"."""
    return (
        i + 2 < len(doc)
        and doc[i].lower_ in ("what", "which")
        and doc[i + 1].lemma_.casefold() in POSITION_NOUNS
        and doc[i + 2].lower_ in _AUX
    )


def _closes(doc: Doc, i: int, start: int, opener: Token, viewed: bool = False) -> bool:
    """A verb of speech or dispute ("say", "differ", "trade"), the noun of a stated view, or "at
    odds"; where the question asks for views ("What arguments do X and Y make"), its own verb. The
    small parser tags some such verbs as nouns ("What did X each argue", "Iran trade accusations"):
    those count where the parse left the question with no other verb for them. A participle that
    describes a party ("the accused driver") is no verb of the clause."""
    tok = doc[i]
    lemma, word = tok.lemma_.casefold(), tok.lower_
    if i == start or tok.dep_ == "amod" or _describes(doc, i, start, opener):
        return False
    if viewed and tok.pos_ == "VERB" and tok.dep_ in _CLAUSE_DEPS:
        return True
    if tok.pos_ in ("VERB", "AUX") and (lemma in SPEECH_VERBS or lemma in DISPUTE_VERBS):
        return True
    if tok.pos_ == "NOUN" and lemma in POSITION_NOUNS:
        return True
    if word == "at" and i + 1 < len(doc) and doc[i + 1].lower_ == "odds":
        return True
    if word not in SPEECH_VERBS and word not in DISPUTE_VERBS:
        return False
    last = i + 1 >= len(doc) or doc[i + 1].is_punct  # "... and how did X respond?"
    verbless = (
        last
        or doc[i - 1].lower_ in _QUANTIFIERS  # "X and Y each say happened"
        or tok.dep_ == "ROOT"
        or tok.head.i == opener.i
        or (tok.head.dep_ == "ROOT" and tok.head.pos_ == "NOUN")
    )
    return verbless and doc[i - 1].pos_ not in ("ADJ", "ADP") and doc[i - 1].lower_ not in ("a", "an", "the")


def _describes(doc: Doc, i: int, start: int, opener: Token) -> bool:
    """Whether `doc[i]` is in a participle's phrase describing a party, up to the next comma or
    "and": after "did", the clause's own verb is never in a past form, so "the lawyer appointed to
    defend the ruling" is all subject."""
    if opener.lemma_.casefold() != "do":
        return False
    for j in range(i, start, -1):
        if doc[j].text == "," or doc[j].lower_ in ("and", "or"):
            return False
        if _participle_after_noun(doc, j):
            return True
    return False


def _participle_after_noun(doc: Doc, i: int) -> bool:
    """Whether `doc[i]` is a past form right after a noun ("the lawyer appointed"), which the small
    parser tags a past participle or a past tense."""
    return doc[i].tag_ in ("VBN", "VBD") and i > 0 and doc[i - 1].pos_ == "NOUN"


def _stops(doc: Doc, i: int, start: int, opener: Token | None = None) -> bool:
    """The end of a question clause's subject: its own verb (not a participle describing a party),
    the sentence's end, or the next question ("..., and what does ...")."""
    tok = doc[i]
    if tok.text in "?.!":
        return True
    if tok.lower_ in _WH and (i == start or doc[i - 1].lower_ in (",", "and", "or")):
        return True
    if opener is not None and _describes(doc, i, start, opener):
        return False
    return tok.pos_ in ("VERB", "AUX") and tok.dep_ in _CLAUSE_DEPS


def _between(doc: Doc) -> list[tuple[int, int]]:
    """The parties of "the dispute between X and Y over ...", "the talks between X and Y" or "the
    row with X and Y": from "between" to the first preposition, comma or end that closes the list."""
    found = []
    for tok in doc:
        listed = (tok.lower_ == "with" and tok.head.lemma_.casefold() in DISPUTE_NOUNS) or (
            tok.lower_ == "between" and tok.head.pos_ in ("NOUN", "PROPN")
        )
        if not listed:
            continue
        end = tok.i + 1
        while end < len(doc) and not (
            doc[end].text in "?.!,;"
            or doc[end].lower_ in _WH
            or (doc[end].pos_ in ("VERB", "AUX") and doc[end].dep_ in _CLAUSE_DEPS)
            or (doc[end].pos_ == "ADP" and end > tok.i + 1 and not _in_name(doc, end))
        ):
            end += 1
        if end > tok.i + 1:
            found.append((tok.i + 1, end))
    return found


def _in_name(doc: Doc, i: int) -> bool:
    """Whether `doc[i]` is the "of" inside a name ("the Ministry of Ports")."""
    return (
        doc[i].lower_ == "of"
        and i + 1 < len(doc)
        and doc[i + 1].text[:1].isupper()
        and i > 0
        and doc[i - 1].text[:1].isupper()
    )


def _ranges(doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
    """One token range per party in a subject: split at the list's commas and conjunctions ("X and
    other Y" stays one party, and so does "search-and-rescue")."""
    pieces, begin, depth = [], start, 0
    for i in range(start, end):
        tok = doc[i]
        depth += 1 if tok.text in "([{" else -1 if tok.text in ")]}" else 0
        nxt = doc[i + 1] if i + 1 < end else None
        joined = tok.lower_ == "and" and nxt is not None and nxt.lower_ in ("other", "others")
        hyphened = i > start and (doc[i - 1].text == "-" or (nxt is not None and nxt.text == "-"))
        if depth == 0 and tok.lower_ in _SPLIT and not joined and not hyphened:
            pieces.append((begin, i))
            begin = i + 1
    pieces.append((begin, end))
    return pieces


def _party(doc: Doc, start: int, end: int) -> Span | None:
    """The party's own words in `doc[start:end]`: no description after it, no quantifier or
    adverb, no possessive word or ending, no position noun ("Velora's competing claims" -> "Velora")."""
    for i in range(start, end):
        described = (doc[i].tag_ == "VBN" and doc[i].dep_ == "acl") or (
            i > start and _participle_after_noun(doc, i)
        )
        if doc[i].lower_ in _POST or described:
            end = i
            break
    while end > start and (
        doc[end - 1].lower_ in _QUANTIFIERS
        or doc[end - 1].pos_ in ("ADV", "PUNCT")
        or (end - start > 1 and doc[end - 1].lower_.endswith(("self", "selves")))  # "the mayor himself"
    ):
        end -= 1
    while end > start and (
        doc[end - 1].tag_ == "POS"
        or doc[end - 1].lemma_.casefold() in POSITION_NOUNS
        or (doc[end - 1].dep_ == "amod" and any(t.tag_ == "POS" for t in doc[start : end - 1]))
    ):
        end -= 1
    while start < end and (
        doc[start].lower_ in _QUANTIFIERS
        or doc[start].is_punct
        or doc[start].lower_ in ("a", "an")
        or (doc[start].tag_ == "PRP$" and end - start > 1)  # "its supporters" -> "supporters"
    ):
        start += 1
    named = [t for t in doc[start:end] if t.pos_ in ("NOUN", "PROPN", "PRON") or t.text[:1].isupper()]
    if not named or all(t.lemma_.casefold() in GENERIC_PARTIES for t in named):
        return None  # "each side", "both parties": the question names no one
    if len(named) == 1 and named[0].pos_ == "PRON":
        return _antecedent(doc, named[0])
    return doc[start:end]


def _antecedent(doc: Doc, pronoun: Token) -> Span | None:
    """What "he", "she" or "they" in a question's list refers to: the named subject of an earlier
    sentence ("X wants to ... What do he and Y say?")."""
    for sent in reversed([s for s in doc.sents if s.end <= pronoun.sent.start]):
        subject = next(
            (t for t in sent if t.dep_ in ("nsubj", "nsubjpass") and t.pos_ in ("PROPN", "NOUN")), None
        )
        if subject is not None:
            ent = next((e for e in sent.ents if e.start <= subject.i < e.end), None)
            if ent is not None:
                return ent
            words = [t.i for t in subject.subtree if t.i <= subject.i and t.dep_ != "det"]
            return doc[min(words) : subject.i + 1]
    return None
