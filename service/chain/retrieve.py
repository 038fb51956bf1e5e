"""Question -> the candidate statements: sentences of the relevant documents, ranked and numbered.

Retrieval finds the relevant chunks, kept diverse across documents. In a small library (a few
articles fit whole) every sentence where someone speaks is a candidate too, so that a side carried
by a paragraph the chunk search ranked low is still heard. Candidates are ranked by similarity to
the question, with reported speech first, and numbered in document order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..library import Store, sentences
from ..models import Document, RetrievedChunk, Statement
from .attribution.lexicon import speech_regex
from .attribution.parse import introductions
from .attribution.statements import described_beside, number_statements
from .sides.question import Question

OVERFETCH = 4
VOICE_BONUS = 0.03  # per reporting verb or quotation, at most three: a nudge, not a rewrite
SMALL_LIBRARY_CHARS = 60_000  # about a dozen articles: parse them whole
INSIDE_BONUS = 0.05  # a sentence inside a retrieved chunk
SPEECH_BONUS = 0.1  # the answer is who said what: speech beats background of the same similarity
MIN_FIT_STATEMENTS = 3
# Words of speech (the lexicon's verbs, as news copy writes them) and quotation marks, to rank chunks
# before any parse.
_SPEECH_RE = speech_regex()

Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Retrieved:
    """The documents, the candidate statements with their vectors, and how many sentences were
    skipped as prompt injections (counted in the answer's stats, never silently dropped)."""

    documents: dict[str, Document] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    affiliations: dict[str, Counter[str]] = field(default_factory=dict)  # speaker -> bodies named with them
    injections_skipped: int = 0
    # statement id -> cosine similarity to what the question asks, its parties left out (see rules)
    on_subject: dict[str, float] = field(default_factory=dict)
    subject_fit: float = 1.0  # how well what the question asks fits what the statements are about


def voices(text: str) -> float:
    """A bonus for reported speech in a chunk (see SPEECH_BONUS)."""
    return VOICE_BONUS * min(len(_SPEECH_RE.findall(text)), 3)


def diverse(chunks: list[RetrievedChunk], k: int, bonus: bool = False) -> list[RetrievedChunk]:
    """Take chunks round-robin over documents, best documents first, so a side carried by a
    second outlet is not crowded out by many chunks of the first. With `bonus`, reported speech
    counts towards "best" (see voices)."""
    by_doc: dict[str, list[RetrievedChunk]] = {}
    for c in sorted(chunks, key=lambda c: -(c.score + (voices(c.text) if bonus else 0.0))):
        by_doc.setdefault(c.doc_id, []).append(c)
    picked: list[RetrievedChunk] = []
    depth = 0
    while len(picked) < k and any(len(v) > depth for v in by_doc.values()):
        for doc_chunks in by_doc.values():
            if depth < len(doc_chunks) and len(picked) < k:
                picked.append(doc_chunks[depth])
        depth += 1
    return picked


def retrieve(
    store: Store,
    collection: str,
    question: Question,
    k: int,
    max_statements: int,
    min_relevance: float,
) -> Retrieved:
    """The candidate statements for `question`, at most `max_statements`, in document order."""
    query = np.asarray(store.embedder.embed_one(question.text), dtype=np.float32)
    hits = [h for h in store.search(collection, query.tolist(), k * OVERFETCH) if h.score >= min_relevance]
    if not hits:
        return Retrieved()
    chunks = diverse(_unrepeated(hits), k, bonus=True)
    ranked_docs = list(dict.fromkeys(c.doc_id for c in chunks))
    metas = store.list(collection)
    small = sum(m.n_chars for m in metas) <= SMALL_LIBRARY_CHARS
    if small:
        ranked_docs += [m.id for m in metas if m.id not in ranked_docs]
    documents = store.texts(collection, ranked_docs)
    candidates: list[tuple[Statement, bool]] = []
    affiliations: dict[str, Counter[str]] = {}
    skipped = 0
    for doc_id in ranked_docs:
        text = documents[doc_id].text
        ranges = [(c.start, c.end) for c in chunks if c.doc_id == doc_id]
        found, n_skipped = number_statements(doc_id, text, sentences(text))
        skipped += n_skipped
        for name, body in introductions(text):
            affiliations.setdefault(name, Counter())[body] += 1
        described_beside(found, affiliations)
        for s in found:
            inside = any(a <= s.start and s.end <= b for a, b in ranges)
            if inside or (small and (s.speaker or s.quoted)):
                candidates.append((s, inside))
    candidates = _distinct(candidates)
    if not candidates:
        return Retrieved(documents=documents, affiliations=affiliations, injections_skipped=skipped)
    vectors = store.embedder.embed([s.text for s, _ in candidates])
    unit = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    relevance = unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
    score = [
        float(r) + (INSIDE_BONUS if inside else 0.0) + (SPEECH_BONUS if s.speaker or s.quoted else 0.0)
        for (s, inside), r in zip(candidates, relevance, strict=True)
    ]
    keep = sorted(sorted(range(len(candidates)), key=lambda i: -score[i])[:max_statements])
    statements = [candidates[i][0].model_copy(update={"sid": f"S{n}"}) for n, i in enumerate(keep, 1)]
    if not question.asks_matter:  # "What do X and Y say?": every statement is on what it asks
        return Retrieved(documents, statements, vectors[keep], affiliations, skipped)
    subject = np.asarray(store.embedder.embed_one(question.subject), dtype=np.float32)
    subject /= max(float(np.linalg.norm(subject)), 1e-12)
    return Retrieved(
        documents, statements, vectors[keep], affiliations, skipped,
        {s.sid: float(r) for s, r in zip(statements, unit[keep] @ subject, strict=True)},
        subject_fit(unit[keep], subject),
    )  # fmt: skip


def subject_fit(unit: np.ndarray, subject: np.ndarray) -> float:
    """How close what the question asks is to the centre of the statements, as a share of how close
    the median statement is to it (unit vectors in). Near 1 or above when the documents are about
    the question; low when they are about something else, however near a word or two of theirs may
    come to it. Fewer than MIN_FIT_STATEMENTS statements have no centre to speak of: 1.0."""
    if len(unit) < MIN_FIT_STATEMENTS:
        return 1.0
    centre = unit.mean(axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    return float(subject @ centre) / max(float(np.median(unit @ centre)), 1e-12)


def _unrepeated(chunks: list[RetrievedChunk]) -> list[RetrievedChunk]:
    """One of each chunk that opens like another (syndicated copies), so copies don't fill k."""
    seen: set[str] = set()
    out = []
    for c in sorted(chunks, key=lambda c: -c.score):
        key = " ".join(c.text.split())[:120].casefold()
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _distinct(candidates: list[tuple[Statement, bool]]) -> list[tuple[Statement, bool]]:
    """Drop repeats of a sentence already seen (syndicated copies of one story share paragraphs)."""
    seen: set[str] = set()
    out = []
    for s, inside in candidates:
        key = " ".join(s.text.split()).casefold()
        if key not in seen:
            seen.add(key)
            out.append((s, inside))
    return out
