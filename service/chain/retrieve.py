"""Question -> the most relevant chunks, kept diverse across documents -> numbered statements."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..library import Store, sentences
from ..models import Document, RetrievedChunk, Statement
from .statements import QUOTED_RE, REPORTING_RE, number_statements

OVERFETCH = 4
VOICE_BONUS = 0.03  # per reporting verb or quotation, at most three: a nudge, not a rewrite


class Retrieved(BaseModel):
    """What the chain works from: the documents, the candidate statements, and how many sentences
    were skipped as prompt injections (counted in the answer's stats, never silently dropped)."""

    documents: dict[str, Document] = Field(default_factory=dict)
    statements: list[Statement] = Field(default_factory=list)
    injections_skipped: int = 0


def voices(text: str) -> float:
    """A bonus for reported speech: the answer is who said what, so a chunk where people speak
    beats background of the same topical similarity."""
    found = len(REPORTING_RE.findall(text)) + len(QUOTED_RE.findall(text)) // 2
    return VOICE_BONUS * min(found, 3)


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
    question: str,
    k: int,
    max_statements: int,
    min_relevance: float,
) -> Retrieved:
    """Chunks relevant to `question` and the statements inside them, in document order."""
    vector = store.embedder.embed_one(question)
    hits = store.search(collection, vector, k * OVERFETCH)
    hits = [h for h in hits if h.score >= min_relevance]
    if not hits:
        return Retrieved()
    chunks = diverse(_unrepeated(hits), k, bonus=True)
    documents = store.texts(collection, [c.doc_id for c in chunks])
    doc_rank = {d: i for i, d in enumerate(dict.fromkeys(c.doc_id for c in chunks))}
    statements: list[Statement] = []
    skipped = 0
    for doc_id in sorted(documents, key=lambda d: doc_rank[d]):
        text = documents[doc_id].text
        all_sentences = sentences(text)
        ranges = sorted((c.start, c.end) for c in chunks if c.doc_id == doc_id)
        inside = [s for s in all_sentences if any(a <= s.start and s.end <= b for a, b in ranges)]
        found, n_skipped = number_statements(
            doc_id, text, inside, start_index=len(statements) + 1, context=all_sentences
        )
        statements.extend(found)
        skipped += n_skipped
    statements = _cap(_distinct(statements), chunks, max_statements)
    return Retrieved(documents=documents, statements=statements, injections_skipped=skipped)


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


def _distinct(statements: list[Statement]) -> list[Statement]:
    """Drop repeats of a sentence already seen (syndicated copies of one story share paragraphs)."""
    seen: set[str] = set()
    out = []
    for s in statements:
        key = " ".join(s.text.split()).casefold()
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _cap(statements: list[Statement], chunks: list[RetrievedChunk], limit: int) -> list[Statement]:
    """Keep at most `limit` statements: those in the best chunks, attributed ones first; renumber."""
    if len(statements) > limit:
        score = {}
        for c in chunks:
            for s in statements:
                if s.doc_id == c.doc_id and c.start <= s.start and s.end <= c.end:
                    score[s.sid] = max(score.get(s.sid, -1.0), c.score)
        ranked = sorted(statements, key=lambda s: (not (s.speaker or s.quoted), -score.get(s.sid, 0.0)))
        keep = {s.sid for s in ranked[:limit]}
        statements = [s for s in statements if s.sid in keep]
    return [s.model_copy(update={"sid": f"S{i}"}) for i, s in enumerate(statements, 1)]
