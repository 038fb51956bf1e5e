"""A point's words, taken from its quotes: the claim (the clause a reporting verb introduces), the
topic (the noun phrase around the noun most particular to the point) and whether it is a
contradiction."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

from ...library import rejoined
from ...models import Statement
from ..attribution.quotes import quote_spans
from ..sides.placement import keys

if TYPE_CHECKING:
    from spacy.tokens import Span

CLAIM_WORDS = 25
# Lemmas that deny or reject: with them, two sides' accounts on one point conflict.
_DENIAL = frozenset(
    "deny reject dismiss refute dispute contradict false untrue baseless blame accuse never not".split()
)
_CLAUSE_DEPS = frozenset({"ccomp", "xcomp"})
# A time or an amount is when or how much, not what a point is about ("last few years", "1000 people").
_AMOUNTS = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY", "PERCENT", "ORDINAL", "MONEY"})
_NOT_TOPIC = frozenset({"det", "poss", "case", "nummod", "predet"})


def claim_from(sentence: Span) -> str:
    """A short claim in the quote's own words: the clause a reporting verb introduces, or the words
    inside quotation marks, or the sentence; at most CLAIM_WORDS words. `sentence` is the parsed
    statement."""
    doc, text = sentence.doc, sentence.text
    inside = range(sentence.start, sentence.end)
    n_words = sum(1 for t in sentence if not t.is_punct)
    for tok in sentence:
        clause = [c for c in tok.children if c.dep_ in _CLAUSE_DEPS]
        subject = any(c.dep_ in ("nsubj", "nsubjpass") for c in tok.children)
        if tok.pos_ != "VERB" or not clause or not subject:
            continue
        sub = [t for t in clause[0].subtree if not (t.dep_ == "mark" and t.i == clause[0].left_edge.i)]
        sub = [t for t in sub if t.i in inside]
        # A clause that carries most of the sentence is its content; a fragment means a bad parse.
        if sub and 2 * sum(1 for t in sub if not t.is_punct) >= n_words:
            text = doc[sub[0].i : sub[-1].i + 1].text
            break
    else:  # no such clause: a quotation that carries most of the sentence ("'...,' she said")
        spans = quote_spans(sentence.text)[0]
        a, b = max(spans, key=lambda span: span[1] - span[0], default=(0, 0))
        if 2 * len(sentence.text[a:b].split()) >= n_words:
            text = sentence.text[a:b]
    text = rejoined(text)  # "de-\nfendant", a word a hard-wrapped text broke at a line end
    text = " ".join(text.strip(" \"“”‘’'«».,;:").split())
    words = text.split()
    if len(words) > CLAIM_WORDS:
        text = " ".join(words[:CLAIM_WORDS]).rstrip(",;:") + "…"
    return text[:1].upper() + text[1:]


def topics(points: list[list[Statement]], names: set[str]) -> list[str]:
    """What each point is about: the noun phrase around the noun most particular to it, weighed as
    class-based TF-IDF weighs a topic's words (BERTopic): the statements of the point that carry
    the noun, times log(1 + mean nouns per point / the statements of all points that carry it). A
    noun every point shares ("people", "statement") says nothing of this one. Parties' and
    speakers' names are left out."""
    counts, phrases = [], []
    for members in points:
        count, phrase = _nouns(members, names)
        counts.append(count)
        phrases.append(phrase)
    total: Counter[str] = sum(counts, Counter())
    mean = sum(total.values()) / max(len(points), 1)
    out = []
    for count, phrase in zip(counts, phrases, strict=True):
        if not count:
            out.append("Point")
            continue
        lemma = max(count, key=lambda w: (count[w] * math.log(1 + mean / total[w]), w))
        text = max(phrase[lemma], key=lambda p: (phrase[lemma][p], 2 <= len(p.split()) <= 6, p))
        out.append(text[:1].upper() + text[1:60])
    return out


def _nouns(members: list[Statement], names: set[str]) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """The common nouns of a point's statements (each counted once a statement) and the noun
    phrases each heads."""
    counts: Counter[str] = Counter()
    phrases: dict[str, Counter[str]] = {}
    for s in members:
        seen = set()
        for chunk in s.parse.noun_chunks:
            head = chunk.root
            lemma = head.lemma_.casefold()
            if head.pos_ != "NOUN" or len(lemma) < 4 or head.ent_type_ in _AMOUNTS or keys(head.text) & names:
                continue
            cut = {d.i for t in chunk if t.dep_ in _NOT_TOPIC for d in t.subtree}  # "more than 1000"
            words = [t.text for t in chunk if t.i not in cut and t.pos_ not in ("PRON", "PUNCT", "SPACE")]
            phrases.setdefault(lemma, Counter())[" ".join(words)] += 1
            if lemma not in seen:
                seen.add(lemma)
                counts[lemma] += 1
    return counts, phrases


def denies(members: list[Statement]) -> bool:
    """Whether a statement of the point denies or negates: then the sides contradict each other."""
    return any(t.dep_ == "neg" or t.lemma_.casefold() in _DENIAL for s in members for t in s.parse)
