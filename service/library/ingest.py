"""Store one loaded document atomically: chunk, embed, write. The same text again is a no-op."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel

from ..errors import InputError
from ..models import Chunk, Document, DocumentMeta
from ..settings import Settings
from .chunk import chunks as make_chunks
from .load import Loaded
from .store import Store, check_doc_id

EMBED_SLICE = 128


class IngestResult(BaseModel):
    meta: DocumentMeta
    created: bool


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ingest(
    store: Store,
    collection: str,
    loaded: Loaded,
    settings: Settings,
    doc_id: str | None = None,
    title: str | None = None,
    outlet: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Chunk, embed and store one document. Same text again is a no-op; failures store nothing."""
    digest = content_hash(loaded.text)
    existing = store.find_by_hash(collection, digest)
    if existing is not None:
        return IngestResult(meta=existing, created=False)
    doc_id = check_doc_id(doc_id) if doc_id else digest[:16]
    chunks = make_chunks(doc_id, loaded.text, settings.chunk_size, settings.chunk_overlap)
    if not chunks:
        raise InputError(f"{loaded.source}: no text to index")
    vectors = np.concatenate(
        [
            _embed_slice(store, chunks[b : b + EMBED_SLICE], b, len(chunks), on_progress)
            for b in range(0, len(chunks), EMBED_SLICE)
        ]
    )
    meta = DocumentMeta(
        id=doc_id,
        title=(title if title is not None else loaded.title) or doc_id,
        outlet=(outlet if outlet is not None else loaded.outlet) or "",
        date=loaded.date,
        url=loaded.url,
        content_hash=digest,
        n_chars=len(loaded.text),
        n_chunks=len(chunks),
        source=loaded.source,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    store.add(collection, Document(meta=meta, text=loaded.text), chunks, vectors)
    return IngestResult(meta=meta, created=True)


def _embed_slice(
    store: Store, part: list[Chunk], done: int, total: int, on_progress: Callable[[int, int], None] | None
) -> np.ndarray:
    vectors = store.embedder.embed([c.text for c in part])
    if on_progress:
        on_progress(done + len(part), total)
    return vectors
