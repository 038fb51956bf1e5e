"""The cues of attribution as named spaCy patterns, registered in one place.

Each pattern names one way a news text reports speech; the words come from lexicon.yaml. A match gives
the cue (the verb, the noun or "according") and, where the pattern can say it, the speaker. For a
verb the speaker is its subject, found by `speaker.subject_of`: a walk up through coordinated and
subordinate verbs ("..., saying that", "and added") that no one pattern says. The rule names are
what a trace shows (service/why.py reads them: 'Ana Ruse (subject of "said")').
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .lexicon import (
    CLAUSE_SPEECH_VERBS,
    FIRST_PERSON,
    POSITION_NOUNS,
    SPEECH_NOUNS,
    SPEECH_PHRASES,
    SPEECH_VERBS,
)
from .speaker import author_of, entity_of, source_of, subject_of

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import DependencyMatcher, Matcher
    from spacy.tokens import Doc, Span, Token

LEMMA = "cue_lemma"
"""A token extension: the lower-cased lemma ("Said" at a sentence start is "say" too)."""

_VERB = {"POS": "VERB"}
_READ = {"LOWER": {"IN": ["read", "reads"]}}
_DOCUMENT = {"_": {LEMMA: {"IN": sorted(SPEECH_NOUNS)}}}  # a speech noun: "statement", "letter"
_VIEW = {"_": {LEMMA: {"IN": sorted(SPEECH_NOUNS | POSITION_NOUNS)}}}  # and "position", "view"
_FROM_BY = {"DEP": {"IN": ["prep", "agent"]}, "LOWER": {"IN": ["from", "by"]}}


def _cue(attrs: dict[str, Any]) -> dict[str, Any]:
    return {"RIGHT_ID": "cue", "RIGHT_ATTRS": attrs}


def _child(left: str, right: str, attrs: dict[str, Any], op: str = ">") -> dict[str, Any]:
    return {"LEFT_ID": left, "REL_OP": op, "RIGHT_ID": right, "RIGHT_ATTRS": attrs}


# Pattern name -> spaCy DependencyMatcher patterns. The order is the order of preference when one
# token matches several.
PATTERNS: dict[str, list[list[dict[str, Any]]]] = {
    # "Ana Ruse said", "said the minister", "the union has denied"
    "reporting_verb": [[_cue({**_VERB, "_": {LEMMA: {"IN": sorted(SPEECH_VERBS)}}})]]
    # "hit back at", "pointed out that": a verb of speech only with its particle
    + [
        [
            _cue({**_VERB, "_": {LEMMA: verb}}),
            _child("cue", "particle", {"DEP": {"IN": ["prt", "advmod"]}, "LOWER": particle}),
        ]
        for verb, particle in sorted(SPEECH_PHRASES)
    ],
    # "the union's statement read", "a letter signed by the board reads": a document's words, which
    # its source says (see _document_source). Any tag, since the parser may take "read" for a noun,
    # and before clause_verb, which also takes "read" with a clause but needs a named subject.
    "document_read": [
        [_cue(_READ), _child("cue", "subject", {"DEP": "nsubj", **_DOCUMENT})],
        [_cue({**_READ, "DEP": "relcl"}), _child("cue", "subject", _DOCUMENT, "<")],  # "..., which read"
    ],
    # "the court held that ...", "X's report found that ...": a verb of holding a view, with a clause
    "clause_speech_verb": [
        [
            _cue({**_VERB, "_": {LEMMA: {"IN": sorted(CLAUSE_SPEECH_VERBS)}}}),
            _child("cue", "clause", {"DEP": "ccomp"}),
        ]
    ],
    # "Ana Ruse hopes that ...": any verb with a clause, when its subject is named or a pronoun
    "clause_verb": [[_cue(_VERB), _child("cue", "clause", {"DEP": "ccomp"})]],
    # "The fee, they argue, is too high", "the court went on": a clause of its own set off by
    # commas inside another, which it reports (see _parenthetical)
    "parenthetical_verb": [[_cue({**_VERB, "DEP": {"IN": ["parataxis", "advcl"]}})]],
    # "according to the ministry"
    "according_to": [
        [
            _cue({"LOWER": "according"}),
            _child("cue", "to", {"LOWER": "to"}),
            _child("to", "speaker", {"DEP": "pobj"}),
        ]
    ],
    # "the union's position is that ...", "her view was that ...": a stated view, owned, set out by
    # "is that"
    "view_is_that": [
        [
            _cue({"DEP": "nsubj", "POS": "NOUN", **_VIEW}),
            _child("cue", "be", {"LEMMA": "be"}, "<"),
            _child("be", "clause", {"DEP": "ccomp"}),
            _child("clause", "that", {"DEP": "mark", "LOWER": "that"}),
        ]
    ],
    # "a warning from the mayor", "issued a statement by its lawyers"
    "speech_noun_source": [[_cue({"POS": "NOUN", **_DOCUMENT})]],
}


@dataclass(frozen=True)
class Cue:
    """An attribution in a sentence: its cue token, the rule that found it and its speaker token."""

    token: Token
    rule: str
    speaker: Token


@functools.cache
def _matcher(nlp: Language) -> DependencyMatcher:
    from spacy.matcher import DependencyMatcher
    from spacy.tokens import Token

    if not Token.has_extension(LEMMA):
        Token.set_extension(LEMMA, getter=lambda t: t.lemma_.lower())
    matcher = DependencyMatcher(nlp.vocab)
    for name, patterns in PATTERNS.items():
        matcher.add(name, patterns)
    return matcher


@functools.cache
def _first_person(nlp: Language) -> Matcher:
    from spacy.matcher import Matcher

    matcher = Matcher(nlp.vocab)
    matcher.add("first_person", [[{"LOWER": {"IN": sorted(FIRST_PERSON)}, "POS": "PRON"}]])
    return matcher


def cues(doc: Doc, nlp: Language) -> dict[int, list[Cue]]:
    """The attributions of a parsed text, by the index of their sentence's first token, in reading
    order, each with the rule that found it."""
    matcher = _matcher(nlp)
    found: dict[int, tuple[int, str, Token | None]] = {}  # cue index -> (preference, rule, speaker)
    order = {name: n for n, name in enumerate(PATTERNS)}
    for match_id, ids in matcher(doc):
        name = nlp.vocab.strings[match_id]
        named = dict(zip(("cue", *_ids(name, ids)), (doc[i] for i in ids), strict=False))
        cue, at = named["cue"], order[name]
        if cue.i not in found or at < found[cue.i][0]:
            found[cue.i] = (at, name, named.get("speaker"))
    out: dict[int, list[Cue]] = {}
    for i in sorted(found):
        _, name, speaker = found[i]
        tok = doc[i]
        found_speaker = _speaker(tok, name, speaker)
        if found_speaker is not None:
            out.setdefault(tok.sent.start, []).append(Cue(tok, *found_speaker))
    for sent in doc.sents:
        here = out.get(sent.start, [])
        colon = _colon_quote(sent)
        if colon is not None and all(c.token.i > colon.token.i for c in here):  # only cues inside it
            out[sent.start] = [colon, *here]
    return out


def _colon_quote(sent: Span) -> Cue | None:
    """A quotation after a colon, in a sentence no cue before the colon attributes, is what the
    subject of the words before the colon said ("Mayor Ana Ruse opposed the plan: "It will empty
    our streets.""). The subject must be named or a pronoun: "The report was clear: ..." is no voice."""
    doc = sent.doc
    colon = next((t for t in sent if t.orth_ == ":" and t.i + 1 < sent.end and doc[t.i + 1].is_quote), None)
    if colon is None:
        return None
    subj = next((t for t in sent if t.i < colon.i and t.dep_ in ("nsubj", "nsubjpass")), None)
    if subj is None or subj.lower_ == "it" or (subj.pos_ != "PRON" and entity_of(subj) is None):
        return None
    return Cue(colon, "colon_quote", subj)


def _ids(name: str, ids: list[int]) -> list[str]:
    """The names of a match's tokens after the cue, in pattern order."""
    if name == "according_to":
        return ["to", "speaker"]
    return ["particle" if name == "reporting_verb" else "clause"] * (len(ids) - 1)


def _speaker(tok: Token, name: str, captured: Token | None) -> tuple[str, Token] | None:
    """The rule's trace name and the speaker token for a matched cue, or None: no one speaks."""
    if name == "according_to":
        return None if captured is None else (name, captured)
    if name == "view_is_that":
        owner = author_of(tok)
        return None if owner is None else (name, owner)
    if name == "speech_noun_source":
        source = source_of(tok)
        return None if source is None else (name, source)
    if name == "parenthetical_verb":
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None or subj.lower_ == "it" or not _parenthetical(tok, subj):
            return None
        determined = any(c.dep_ in ("det", "poss") for c in subj.children)
        return (name, subj) if subj.pos_ in ("PROPN", "PRON") or determined else None  # not "heaven knows"
    subj = subject_of(tok)
    if subj is None or _modal(tok):
        return None
    if name == "document_read":
        source = _document_source(subj)
        return None if source is None else (name, source)
    if name == "clause_speech_verb":
        return None if subj.lower_ == "it" else (name, subj)  # "it found that" is no one
    if name == "clause_verb":
        if subj.lower_ == "it" or (subj.pos_ != "PRON" and entity_of(subj) is None):
            return None  # "it seems that" is no one speaking; "the data show that" is no voice
        return name, subj
    if subj.head.i != tok.i:
        return "shared_subject", subj
    return ("inverted_reporting_verb" if subj.i > tok.i else "subject_of_reporting_verb"), subj


def _parenthetical(verb: Token, subj: Token) -> bool:
    """Whether a verb and its subject stand alone between commas inside the sentence ("The fee, they
    argue, is too high"; "And yet, the court went on, both were void"): no object or clause of
    their own, so what they report is the sentence around them."""
    if any(c.dep_ in ("dobj", "ccomp", "xcomp", "attr", "acomp", "prep", "agent") for c in verb.children):
        return False
    particle = [c.i for c in verb.children if c.dep_ == "prt"]
    start, end = min(t.i for t in subj.subtree), max([verb.i, *particle])
    doc = verb.doc
    return (
        verb.sent.start < start
        and end + 1 < verb.sent.end - 1
        and doc[start - 1].text == ","
        and doc[end + 1].text == ","
    )


def _document_source(document: Token) -> Token | None:
    """Who a document that "reads" something comes from: its possessor ("Their statement read"), "by"
    or "from" on it or on the verb that made it ("The letter signed by the board read"), or the one
    who issued it ("The club put out a statement that read"). None for anything but a speech noun
    ("the sign read", "she read the letter")."""
    if document.pos_ != "NOUN" or document.lemma_.lower() not in SPEECH_NOUNS:
        return None
    if (owner := author_of(document)) is not None:
        return owner
    for made in (c for c in document.children if c.dep_ == "acl"):
        agent = next((c for c in made.children if c.dep_ == "agent"), None)
        if agent is not None:
            return next((p for p in agent.children if p.dep_ == "pobj"), None)
    return subject_of(document.head) if document.dep_ == "dobj" else None


def _modal(verb: Token) -> bool:
    """Whether a verb of speech is under a modal ("lenders must post the terms", "the board may
    announce", "she would argue"): what someone must, may or would say is a duty, a chance or a
    guess, not an account they have given. The modal of a verb governs those joined to it ("must
    post and maintain"). Only an auxiliary counts: in "he said he'll go" the parser may hang "'ll" from
    "said" as its clause."""
    while True:
        if any(c.tag_ == "MD" and c.dep_ in ("aux", "auxpass") for c in verb.children):
            return True
        if verb.dep_ != "conj":
            return False
        verb = verb.head


def first_person_words(span: Span, nlp: Language) -> list[Token]:
    """The first-person pronouns of a parsed span ("I", "we", "our"), as the parser tags them: a
    column's writer speaks in them."""
    return [span.doc[a] for _, a, _ in _first_person(nlp)(span)]
