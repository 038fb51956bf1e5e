"""Store loaded documents atomically: chunk, embed, write. The same text again is a no-op.

Several documents go through together (`ingest_many`): one embedding pass over all their chunks,
sorted by length so that batches carry little padding, and a few large Chroma writes instead of two
small ones per document (each write has a fixed cost). Each document is still whole or absent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from pydantic import BaseModel

from ..errors import CounterpointError, InputError
from ..models import Chunk, Document, DocumentMeta
from ..settings import Settings
from .chunk import chunks as make_chunks
from .load import Loaded, check_date
from .store import Store, check_doc_id

GROUP_CHARS = 400_000
"""Text per `ingest_many` call when a caller streams many inputs (about 500 chunks of 800 characters):
large enough that writes are few, small enough that progress shows and memory stays small."""


class IngestResult(BaseModel):
    meta: DocumentMeta
    created: bool


class IngestItem(NamedTuple):
    """One document to ingest, with the caller's overrides."""

    loaded: Loaded
    doc_id: str | None = None
    title: str | None = None
    outlet: str | None = None
    date: str | None = None


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
    date: str | None = None,
) -> IngestResult:
    """Chunk, embed and store one document. Same text again is a no-op; failures store nothing."""
    (result,) = ingest_many(
        store, collection, [IngestItem(loaded, doc_id, title, outlet, date)], settings, on_progress
    )
    if isinstance(result, CounterpointError):
        raise result
    return result


def ingest_many(
    store: Store,
    collection: str,
    items: list[IngestItem],
    settings: Settings,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[IngestResult | CounterpointError]:
    """Ingest several documents together; one outcome per item, in order (a bad input is its own
    InputError). A store that fails raises, since every later write would fail too."""
    results: list[IngestResult | CounterpointError | None] = [None] * len(items)
    digests = [content_hash(item.loaded.text) for item in items]
    stored = store.find_by_hashes(collection, digests)
    pending: list[tuple[int, Document, list[Chunk]]] = []
    repeats: dict[int, int] = {}  # item -> the earlier item with the same text
    first: dict[str, int] = {}
    for n, (item, digest) in enumerate(zip(items, digests, strict=True)):
        if digest in stored:
            results[n] = IngestResult(meta=stored[digest], created=False)
        elif digest in first:
            repeats[n] = first[digest]
        else:
            first[digest] = n
            try:
                pending.append((n, *_prepare(item, digest, settings)))
            except InputError as exc:
                results[n] = exc
    texts = [c.text for _, _, chunks in pending for c in chunks]
    vectors = store.embedder.embed(texts, on_progress=on_progress)
    writes, at = [], 0
    for _, doc, chunks in pending:
        writes.append((doc, chunks, vectors[at : at + len(chunks)]))
        at += len(chunks)
    outcomes = store.add_many(collection, writes) if writes else []
    for (n, _, _), outcome in zip(pending, outcomes, strict=True):
        results[n] = outcome if isinstance(outcome, CounterpointError) else IngestResult(**outcome._asdict())
    for n, earlier in repeats.items():
        done = results[earlier]
        results[n] = done.model_copy(update={"created": False}) if isinstance(done, IngestResult) else done
    return [r for r in results if r is not None]


def _prepare(item: IngestItem, digest: str, settings: Settings) -> tuple[Document, list[Chunk]]:
    loaded = item.loaded
    doc_id = check_doc_id(item.doc_id) if item.doc_id else digest[:16]
    # The caller's fields win over the page's metadata; a date typed on the page is checked here.
    given_date = check_date(item.date if item.date is not None else loaded.date)
    chunks = make_chunks(doc_id, loaded.text, settings.chunk_size, settings.chunk_overlap)
    if not chunks:
        raise InputError(f"{loaded.source}: no text to index")
    meta = DocumentMeta(
        id=doc_id,
        title=(item.title if item.title is not None else loaded.title) or doc_id,
        outlet=(item.outlet if item.outlet is not None else loaded.outlet) or "",
        date=given_date,
        url=loaded.url,
        content_hash=digest,
        n_chars=len(loaded.text),
        n_chunks=len(chunks),
        source=loaded.source,
        encoding=loaded.encoding,
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return Document(meta=meta, text=loaded.text), chunks


def in_groups(
    items: Iterable[IngestItem | CounterpointError], max_chars: int = GROUP_CHARS
) -> Iterator[list[IngestItem | CounterpointError]]:
    """Consecutive inputs in groups of about `max_chars` of text (a failed load travels in its
    place, so that outcomes can be reported in input order)."""
    group: list[IngestItem | CounterpointError] = []
    size = 0
    for item in items:
        group.append(item)
        size += len(item.loaded.text) if isinstance(item, IngestItem) else 0
        if size >= max_chars:
            yield group
            group, size = [], 0
    if group:
        yield group
