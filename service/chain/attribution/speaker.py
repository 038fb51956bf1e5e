"""Who an attribution names: the speaker's full name or phrase, the body they speak for, and the
subject of a reporting verb, read off spaCy's dependency parse. These are walks over the tree
(up through coordinated and subordinate verbs, down into appositions and possessors) that no one
pattern says; patterns.py finds the cues they start from."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .coref import full_name
from .lexicon import COLLECTIVE, COUNTING_WORDS, PERSONAL, SPEECH_NOUNS

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

GROUP_LABELS = frozenset({"ORG", "GPE", "NORP"})
_NAME_LABELS = GROUP_LABELS | {"PERSON"}
_RELATIVE = frozenset({"who", "which", "that"})
_PLACES = frozenset({"of", "at", "from", "with", "in"})
_OF = frozenset({"for", "of", "at", "from"})
_NP_DEPS = frozenset({"det", "poss", "amod", "compound", "nmod", "nummod", "case", "flat"})
_POSSESSIVE = re.compile(r"\s*['’]s?$")


def entity_of(tok: Token) -> Span | None:
    """The named entity that holds `tok`, if any."""
    ent = None if tok.ent_iob_ == "O" else next((e for e in tok.doc.ents if e.start <= tok.i < e.end), None)
    if ent is None:
        return None
    # NER sometimes runs over a comma ("Unlike Ortiz, Lupescu said"): keep the part holding `tok`.
    cuts = [t.i for t in ent if t.text in ",;:()"]
    lo = max((i + 1 for i in cuts if i < tok.i), default=ent.start)
    hi = min((i for i in cuts if i > tok.i), default=ent.end)
    return ent if (lo, hi) == (ent.start, ent.end) else type(ent)(tok.doc, lo, hi, label=ent.label)


def clean(span: Span) -> tuple[str, int, int]:
    """Text and char offsets of a span without a trailing possessive or punctuation."""
    text = _POSSESSIVE.sub("", span.text).strip(" ,;:.\n\t\r\f\v\u00a0")
    return text, span.start_char, span.start_char + len(text)


def phrase(tok: Token) -> Span:
    """The noun phrase headed by `tok`: determiners, modifiers, possessors, "for"/"of" complements."""
    todo = [c for c in tok.children if c.dep_ in _NP_DEPS or (c.lower_ in _OF and c.dep_ == "prep")]
    keep = [tok]
    while todo:  # their subtrees, less clauses, appositions and commas ("the head of X, who ...")
        t = todo.pop()
        keep.append(t)
        todo.extend(c for c in t.children if c.dep_ not in ("relcl", "acl", "appos", "punct", "cc", "conj"))
    return tok.doc[min(t.i for t in keep) : max(t.i for t in keep) + 1]


def proper_name(tok: Token) -> Span:
    """A proper name: the entity holding `tok`, else its run of proper-noun compounds."""
    if (ent := entity_of(tok)) is not None and ent.label_ in _NAME_LABELS:
        return ent
    run = [c.i for c in tok.children if c.dep_ in ("compound", "flat") and c.pos_ == "PROPN"] + [tok.i]
    return tok.doc[min(run) : max(run) + 1]


def np_text(tok: Token) -> str:
    """The text naming a possessor or complement: its entity, else its phrase less the 's."""
    return clean(entity_of(tok) or phrase(tok))[0]


def body_of(group: list[Token], skip: set[int]) -> str:
    """The organisation the attribution names: possessor, "for X", a group adjective, "of X"."""
    near = [t for g in group for t in (g, *(c for c in g.children if c.dep_ == "compound"))]
    kids = [c for t in near for c in t.children if c.i not in skip]
    for c in kids:  # "Ardovia's minister", "the union's spokesman"
        if c.dep_ == "poss" and c.pos_ != "PRON":
            return np_text(c)
    for c in kids:  # "a spokesman for the Harbour Authority"
        if c.dep_ == "prep" and c.lower_ == "for":
            return next((np_text(p) for p in c.children if p.dep_ == "pobj"), "")
    # "Ardovian Finance Minister ...", then "the head of the Harbour Authority"
    named = [c for c in kids if c.dep_ in ("amod", "compound", "nmod")]
    named += [
        p for c in kids if c.dep_ == "prep" and c.lower_ in _PLACES for p in c.children if p.dep_ == "pobj"
    ]
    groups = [e for e in map(entity_of, named) if e is not None and e.label_ in GROUP_LABELS]
    if groups:
        return clean(groups[0])[0]
    # A title's body that is no name: "chair of the tenants' association", "head of the union"
    bodies = [
        p
        for c in kids
        if c.dep_ == "prep" and c.lower_ == "of" and c.head.pos_ == "NOUN"
        for p in c.children
        if p.dep_ == "pobj" and p.pos_ == "NOUN" and not p.ent_type_
    ]
    return np_text(bodies[0]) if bodies else ""


def who(subj: Token) -> tuple[str, str, tuple[int, int], str]:
    """The speaker's text, affiliation, char span and kind for a subject token."""
    text, affiliation, span, kind, _ = described_who(subj)
    return text, affiliation, span, kind


def described_who(subj: Token) -> tuple[str, str, tuple[int, int], str, str]:
    """`who`, and the role the attribution gives a person: the common noun beside their name ("Ana
    Ruse, the ministry's chief negotiator" -> "chief negotiator", "student protester Ana Ruse" ->
    "student protester"), which tells the side a name alone cannot."""
    if subj.pos_ == "NOUN" and subj.lemma_.lower() in SPEECH_NOUNS:  # "Lupescu's remarks suggest"
        source = author_of(subj)
        if source is not None:
            return described_who(source)
    counted = next((c for c in subj.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    if subj.lower_ in COUNTING_WORDS and counted is not None:  # "All of the commenters said"
        group = next((p for p in counted.children if p.dep_ == "pobj"), None)
        if group is not None:
            return described_who(group)
    if subj.pos_ == "PRON":
        kind = "he" if subj.lower_ in PERSONAL else "they" if subj.lower_ in COLLECTIVE else ""
        return "", "", (subj.idx, subj.idx + len(subj)), kind, ""
    group = [subj, *(c for c in subj.children if c.dep_ == "appos")]
    near = [t for g in group for t in (g, *(c for c in g.children if c.dep_ == "compound"))]
    persons = [e for e in map(entity_of, near) if e is not None and e.label_ == "PERSON"]
    name, kind = (persons[0], "person") if persons else (None, "nominal")
    if name is None:
        ent = entity_of(subj)
        proper = next((g for g in group if g.pos_ == "PROPN"), None)
        if ent is not None and ent.label_ in GROUP_LABELS:
            # A who-clause tells a person the recogniser took for a body ("Ana Ruse, who chairs ...").
            clauses = [c for c in subj.children if c.dep_ == "relcl"]
            person = any(w.lower_ == "who" for c in clauses for w in c.children)
            name, kind = ent, "person" if person else "group"
        elif proper is not None:
            name, kind = proper_name(proper), "person"
        else:
            name = phrase(subj)
    ends = [entity_of(c) for c in subj.conjuncts if c.i > subj.i]  # "Ardovia and Belmora urged"
    if kind != "nominal" and ends and all(e is not None and e.label_ in _NAME_LABELS for e in ends):
        name = subj.doc[name.start : max(e.end for e in ends if e is not None)]
    text, a, b = clean(name)
    skip = {subj.i} if kind == "nominal" else set(range(name.start, name.end))
    affiliation = body_of(group, skip)
    if kind == "group" and not affiliation:
        affiliation = text
    role = role_of(near, set(range(name.start, name.end))) if kind == "person" else ""
    return text, affiliation, (a, b), kind, role


def role_of(near: list[Token], name: set[int]) -> str:
    """The common noun an attribution calls a named person, with its own modifiers ("chief
    negotiator", "visiting tourist"), less determiners and possessors (those give the body)."""
    nouns = [t for t in near if t.pos_ == "NOUN" and t.i not in name]
    if not nouns:
        return ""
    head = max(nouns, key=lambda t: t.dep_ in ("appos", "nsubj", "nsubjpass"))  # else the first title
    words = [t for t in head.children if t.i not in name and t.dep_ in ("compound", "amod", "nmod")]
    return " ".join(t.text for t in sorted([*words, head], key=lambda t: t.i))


def owner_of(subj: Token, topics: list[tuple[int, str, bool]], n: int) -> str:
    """The body a speaker introduced by "its" or "their" speaks for ("Its spokesman, ..."): the
    organisation or country the sentence before was about; for "its", also a name described as a
    thing there ("Velora Mills, the paper company, ...", which the recogniser may take for a person)."""
    if not topics or n - topics[-1][0] > 1:
        return ""
    group = [subj, *(c for c in subj.children if c.dep_ == "appos")]
    owner = {c.lower_ for g in group for c in g.children if c.dep_ == "poss"}
    _, body, is_group = topics[-1]
    return body if "its" in owner or ("their" in owner and is_group) else ""


def subject_of(verb: Token, hops: int = 0) -> Token | None:
    """The subject of a verb: nsubj, a passive's agent, or the subject of the verb it hangs from. Of
    two subjects, the one after the verb: in "The fee, said the harbour master, was never fair" the
    parser hangs both "fee" and "master" from "said"."""
    subjects = [c for c in verb.children if c.dep_ == "nsubj"]
    if subjects:
        c = subjects[-1] if len(subjects) > 1 and subjects[-1].i > verb.i else subjects[0]
        return verb.head if c.lower_ in _RELATIVE and verb.dep_ == "relcl" else c
    if hops:  # "X was angered by Y and said": a verb sharing its head's subject shares X, never Y
        passive = next((c for c in verb.children if c.dep_ == "nsubjpass"), None)
        if passive is not None:
            return passive
    for c in verb.children:
        if c.dep_ == "agent":
            return next((p for p in c.children if p.dep_ == "pobj"), None)
    if verb.dep_ == "xcomp" and any(c.dep_ == "dobj" and c.i < verb.i for c in verb.head.children):
        return None  # "the act requires lenders to post": the one to act is the object, and has not spoken
    if hops < 3 and verb.dep_ in ("advcl", "xcomp", "conj") and verb.head.pos_ in ("VERB", "AUX"):
        return subject_of(verb.head, hops + 1)  # "..., saying that", "and added that", "refused to say"
    if hops < 3 and verb.dep_ == "acl" and verb.head.dep_ == "dobj":  # "issued a statement urging ..."
        return subject_of(verb.head.head, hops + 1)
    return None


def source_of(noun: Token) -> Token | None:
    """Who a speech noun comes from: "a warning from X", "a statement by X" (on the noun or its verb)."""
    preps = list(noun.children) + (list(noun.head.rights) if noun.dep_ == "dobj" else [])
    for c in preps:
        if c.dep_ in ("prep", "agent") and c.lower_ in ("from", "by"):
            return next((p for p in c.children if p.dep_ == "pobj"), None)
    return None


def author_of(noun: Token) -> Token | None:
    """Whose a speech noun is: its possessor ("the union's statement", "her view"), else its source
    (`source_of`: "a statement by the union")."""
    return next((c for c in noun.children if c.dep_ == "poss"), None) or source_of(noun)


def introduced(
    main: Token, offset: int, n: int, topics: list[tuple[int, str, bool]], people: list[tuple[int, int, str]]
) -> list[tuple[str, str]]:
    """(person, body) when a sentence's subject introduces someone who says nothing there ("Its chief
    executive, Ana Ruse, visited the site"): who they speak for when they speak later."""
    if main.pos_ not in ("NOUN", "PROPN"):
        return []
    speaker, affiliation, (a, _), kind = who(main)
    affiliation = affiliation or owner_of(main, topics, n)
    if kind != "person" or not affiliation:
        return []
    return [(full_name(speaker, offset + a, people), affiliation)]


def topic_of(main: Token, n: int) -> list[tuple[int, str, bool]]:
    """What a sentence is about, for "its" and "their" in the next: an organisation or country, or a
    name described as a thing ("Velora Mills, the paper company, ..."), flagged False."""
    group = entity_of(main)
    if group is not None and group.label_ in GROUP_LABELS:
        return [(n, clean(group)[0], True)]
    if main.pos_ == "PROPN" and any(c.dep_ == "appos" and c.tag_ == "NN" for c in main.children):
        return [(n, clean(group or proper_name(main))[0], False)]
    return []


def depth_of(tok: Token) -> int:
    """Hops from a token up to its sentence root."""
    n = 0
    while tok.head.i != tok.i and n < 50:
        tok, n = tok.head, n + 1
    return n
