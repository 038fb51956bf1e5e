"""How a document is written to Chroma so that it is always whole or absent, even with several writers.

Every chunk record is written first, in few large writes (each Chroma write has a fixed cost), then
the docs record that commits them. Chunk ids are derived from the document id and a key of its text
and chunk offsets (`ID#KEY#INDEX`): two writers of the same document write the very same records
(Chroma's `add` keeps the first of an id), and two texts under one id never share a record. The docs
record names its chunk key, and readers return only chunks of the key it names (`live`). A write
never deletes chunks that another writer may be about to commit: leftovers under an id go only once
that id is committed with another key.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..errors import CounterpointError, InputError, StoreError
from ..models import Chunk, Document, DocumentMeta

BATCH = 256  # chunk records per Chroma write
DOC_BATCH_CHARS = 4_000_000  # full texts per docs write, so that one request stays well below limits
KEY = "chunk_key"  # on chunk records: their set; on the docs record: the committed set
ATTEMPT = "attempt"  # on the docs record: which write committed it


class Stored(NamedTuple):
    """One document as committed, and whether this write committed it (False: it was there)."""

    meta: DocumentMeta
    created: bool


class Plan(NamedTuple):
    """One document to write: its chunks, their vectors and the key naming the chunk set."""

    doc: Document
    chunks: list[Chunk]
    vectors: np.ndarray
    key: str

    def chunk_id(self, chunk: Chunk) -> str:
        return f"{self.doc.meta.id}#{self.key}#{chunk.index}"

    def rows(self) -> list[tuple[Plan, Chunk, np.ndarray]]:
        return [(self, c, v) for c, v in zip(self.chunks, self.vectors, strict=True)]


def chunk_key(content_hash: str, chunks: list[Chunk]) -> str:
    """A short key of a text and its chunk offsets: the same document chunked alike gets the same ids."""
    h = hashlib.sha256(content_hash.encode())
    for c in chunks:
        h.update(f"{c.start}:{c.end};".encode())
    return h.hexdigest()[:12]


def write(
    docs: Any,
    chunk_col: Any,
    collection: str,
    items: list[tuple[Document, list[Chunk], np.ndarray]],
    where: str,
    presence: Presence | None = None,
) -> list[Stored | CounterpointError]:
    """Write `items` into the docs and chunks collections; one outcome per item, in order. `presence`
    (embedded: this process the only writer) learns what the write committed, or forgets its ids."""
    since = presence.version if presence is not None else 0
    after: dict[str, dict[str, Any]] = {}
    try:
        return _write(docs, chunk_col, collection, items, where, after)
    finally:  # also after a failure: it may have committed some of the documents
        if presence is not None:
            presence.wrote(collection, [d.meta.id for d, _, _ in items], since, key_map(after))


def _write(
    docs: Any,
    chunk_col: Any,
    collection: str,
    items: list[tuple[Document, list[Chunk], np.ndarray]],
    where: str,
    after: dict[str, dict[str, Any]],
) -> list[Stored | CounterpointError]:
    """The write protocol (see the module docstring); fills `after` with the committed records."""
    plans: dict[str, Plan] = {}
    for doc, chunks, vectors in items:
        plans.setdefault(doc.meta.id, Plan(doc, chunks, vectors, chunk_key(doc.meta.content_hash, chunks)))
    before = committed(docs, list(plans))
    todo = [p for i, p in plans.items() if i not in before]
    attempt = uuid.uuid4().hex
    try:
        add_chunks(chunk_col, [row for p in todo for row in p.rows()])
        for group in _by_size(todo):
            docs.add(
                ids=[p.doc.meta.id for p in group],
                embeddings=[_centroid(p.vectors) for p in group],
                documents=[p.doc.text for p in group],
                metadatas=[{**meta_to_chroma(p.doc.meta), KEY: p.key, ATTEMPT: attempt} for p in group],
            )
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the original error matters more than a failed cleanup
            _discard(docs, chunk_col, todo)
        if isinstance(exc, Exception):
            names = ", ".join(repr(p.doc.meta.id) for p in todo[:3]) + (", …" if len(todo) > 3 else "")
            raise StoreError(f"could not store {names} in {where}: {brief(exc)}") from exc
        raise
    after.update(committed(docs, list(plans)))
    _settle(chunk_col, todo, after)
    out: list[Stored | CounterpointError] = []
    reported: set[str] = set()
    for doc, _, _ in items:
        doc_id, stored = doc.meta.id, after.get(doc.meta.id)
        if stored is None:
            out.append(StoreError(f"document {doc_id!r} was not committed in {where}"))
        elif stored.get("content_hash") != doc.meta.content_hash:
            out.append(InputError(f"document id {doc_id!r} already exists in {collection!r} with other text"))
        else:
            mine = stored.get(ATTEMPT) == attempt and doc_id not in reported
            out.append(Stored(meta_from_chroma(doc_id, stored), mine))
            reported.add(doc_id)
    return out


def _settle(chunk_col: Any, todo: list[Plan], after: dict[str, dict[str, Any]]) -> None:
    """After a commit: drop other chunk sets under each id, and write back any of ours that a failed
    writer of the same document removed (its cleanup ran before our commit)."""
    if not todo:
        return
    got = chunk_col.get(where={"doc_id": {"$in": [p.doc.meta.id for p in todo]}}, include=["metadatas"])
    keys = key_map(after)
    stale = [i for i, m in zip(got["ids"], got["metadatas"], strict=True) if not live(m, keys)]
    if stale:
        chunk_col.delete(ids=stale)
    present = set(got["ids"])
    ours = [p for p in todo if keys.get(p.doc.meta.id) == p.key]
    add_chunks(chunk_col, [row for p in ours for row in p.rows() if p.chunk_id(row[1]) not in present])


def _discard(docs: Any, chunk_col: Any, todo: list[Plan]) -> None:
    """After a failed write: remove our chunks of documents nobody committed; if another writer of the
    same document committed meanwhile, write them back (they are its chunks too)."""
    ids = [p.doc.meta.id for p in todo]
    keys = key_map(committed(docs, ids))
    mine = [p for p in todo if keys.get(p.doc.meta.id) != p.key]
    if not mine:
        return
    chunk_col.delete(ids=[p.chunk_id(c) for p in mine for c in p.chunks])
    keys = key_map(committed(docs, ids))
    add_chunks(chunk_col, [row for p in mine if keys.get(p.doc.meta.id) == p.key for row in p.rows()])


def add_chunks(chunk_col: Any, rows: list[tuple[Plan, Chunk, np.ndarray]]) -> None:
    """Chunk records in writes of BATCH; an id already stored keeps its record (the same chunk)."""
    for b in range(0, len(rows), BATCH):
        part = rows[b : b + BATCH]
        chunk_col.add(
            ids=[p.chunk_id(c) for p, c, _ in part],
            embeddings=np.stack([v for _, _, v in part]),
            documents=[c.text for _, c, _ in part],
            metadatas=[
                {"doc_id": p.doc.meta.id, "index": c.index, "start": c.start, "end": c.end, KEY: p.key}
                for p, c, _ in part
            ],
        )


def committed(docs: Any, doc_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The docs records (Chroma metadata) of those ids that are committed."""
    if not doc_ids:
        return {}
    got = docs.get(ids=sorted(set(doc_ids)), include=["metadatas"])
    return {i: m or {} for i, m in zip(got["ids"], got["metadatas"], strict=True)}


class Presence:
    """Which documents of each collection are committed (id -> chunk key, None when absent), for a
    process that is the only writer (it holds the embedded data dir), shared by its Stores. A search
    reads only the docs records it has not seen, instead of every id on every search; a write or delete
    updates what it changed, and a read that overlapped one is not kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the page searches and ingests from several threads
        self._version = 0  # bumped by every write and delete: a read begun before one is stale
        self._keys: dict[str, dict[str, str | None]] = {}

    @property
    def version(self) -> int:
        return self._version

    def keys(self, docs: Any, collection: str, doc_ids: set[str]) -> dict[str, str]:
        """Committed doc id -> chunk key, for those of `doc_ids` that are committed."""
        with self._lock:
            version = self._version
            seen = self._keys.get(collection, {})
            known = {i: seen[i] for i in doc_ids if i in seen}
        unknown = doc_ids - known.keys()
        if unknown:
            found = key_map(committed(docs, sorted(unknown)))
            fresh = {i: found.get(i) for i in unknown}
            with self._lock:
                if version == self._version:  # no write or delete ended meanwhile: the read still holds
                    self._keys.setdefault(collection, {}).update(fresh)
            known.update(fresh)
        return {i: k for i, k in known.items() if k is not None}

    def wrote(self, collection: str, doc_ids: list[str], since: int, learned: dict[str, str | None]) -> None:
        """After a write or delete of `doc_ids` begun at version `since`: forget what was known of them,
        and keep what the write read back after it (`learned`) unless another one ran meanwhile."""
        with self._lock:
            quiet = self._version == since
            self._version += 1
            seen = self._keys.setdefault(collection, {})
            for doc_id in doc_ids:
                seen.pop(doc_id, None)
            if quiet:
                seen.update(learned)

    def forget(self) -> None:
        """Read every presence again (a collection dropped, or a handle gone stale)."""
        with self._lock:
            self._version += 1
            self._keys.clear()


def key_map(metas: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Committed doc id -> its chunk key ("" for documents stored before chunk keys: any chunk)."""
    return {i: str(m.get(KEY, "")) for i, m in metas.items()}


def live(chunk_meta: dict[str, Any], keys: dict[str, str]) -> bool:
    """A chunk record belongs to a committed document's committed chunk set."""
    key = keys.get(chunk_meta["doc_id"])
    return key is not None and (key == "" or chunk_meta.get(KEY) == key)


def meta_to_chroma(meta: DocumentMeta) -> dict[str, Any]:
    return {k: v for k, v in meta.model_dump().items() if k != "id"}


def meta_from_chroma(doc_id: str, meta: dict[str, Any] | None) -> DocumentMeta:
    fields = set(DocumentMeta.model_fields) - {"id"}
    return DocumentMeta(id=doc_id, **{k: v for k, v in (meta or {}).items() if k in fields})


def brief(exc: BaseException) -> str:
    """An exception's message on one short line."""
    return " ".join(f"{exc}".split())[:300] or type(exc).__name__


def _centroid(vectors: np.ndarray) -> np.ndarray:
    centroid = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1] or 384)
    return centroid / max(float(np.linalg.norm(centroid)), 1e-12)


def _by_size(plans: list[Plan]) -> Iterator[list[Plan]]:
    group: list[Plan] = []
    size = 0
    for plan in plans:
        if group and size + len(plan.doc.text) > DOC_BATCH_CHARS:
            yield group
            group, size = [], 0
        group.append(plan)
        size += len(plan.doc.text)
    if group:
        yield group
