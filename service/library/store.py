"""Chroma storage: chunks with embeddings, and each document's full text, in embedded or server mode.

A collection NAME is two Chroma collections: `NAME.chunks` (one record per chunk, with offsets) and
`NAME.docs` (one record per document: full text and metadata). The docs record is written last, so
it is the commit marker of an ingest: chunks without one are leftovers of a failed ingest, never
returned, and removed by the next ingest of that id.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import InputError, NotFoundError, StoreBusyError, StoreError
from ..models import Chunk, Document, DocumentMeta, RetrievedChunk
from ..settings import Settings
from .embed import Embedder

COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
BATCH = 256


def check_collection(name: str) -> str:
    if not COLLECTION_RE.match(name):
        raise InputError(f"bad collection name {name!r}: use 1-63 letters, digits, '_' or '-'")
    return name


def check_doc_id(doc_id: str) -> str:
    if not DOC_ID_RE.match(doc_id):
        raise InputError(f"bad document id {doc_id!r}: use 1-128 letters, digits, '.', '_', ':' or '-'")
    return doc_id


@contextmanager
def _data_dir_lock(settings: Settings) -> Iterator[None]:
    """Hold the embedded data directory for this process; refuse (never hang) if another holds it."""
    from filelock import FileLock, Timeout

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # A singleton lock is re-entrant inside this process (the page opens the store more than once).
    lock = FileLock(str(settings.data_dir / ".counterpoint.lock"), is_singleton=True)
    owner = settings.data_dir / ".counterpoint.owner"
    try:
        lock.acquire(timeout=settings.lock_timeout_s)
    except Timeout:
        holder = owner.read_text(encoding="utf-8", errors="replace").strip() if owner.exists() else "?"
        raise StoreBusyError(
            f"data dir {settings.data_dir} is in use by another Counterpoint process ({holder}); "
            "stop it, use another COUNTERPOINT_DATA_DIR, "
            "or share a Chroma server via COUNTERPOINT_CHROMA_HOST"
        ) from None
    outermost = lock.lock_counter == 1  # nested opens in this process must not erase the owner note
    try:
        if outermost:
            owner.write_text(f"pid {os.getpid()}: {' '.join(sys.argv[:2])}", encoding="utf-8")
        yield
    finally:
        if outermost:
            owner.unlink(missing_ok=True)
        lock.release()


def make_client(settings: Settings) -> Any:
    """A Chroma client: HttpClient when a host is set, else a PersistentClient in the data dir."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises several unrelated types for "unreachable"
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}: {exc}"
            ) from exc
        return client
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=chroma_settings)


class Store:
    """Documents and chunks in Chroma. Use `open_store(settings)` to get one."""

    def __init__(self, client: Any, embedder: Embedder | None = None) -> None:
        self._client = client
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """Loaded on first use: list, show and delete never need it."""
        if self._embedder is None:
            from .embed import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    # --- collections -------------------------------------------------------------------------
    def _docs(self, collection: str, create: bool = True) -> Any:
        return self._col(f"{check_collection(collection)}.docs", create)

    def _chunks(self, collection: str, create: bool = True) -> Any:
        return self._col(f"{check_collection(collection)}.chunks", create)

    def _read(self, collection: str, kind: str = "docs") -> Any | None:
        """An existing Chroma collection, or None: reading never creates (a typo stays harmless)."""
        try:
            return self._col(f"{check_collection(collection)}.{kind}", create=False)
        except NotFoundError:
            return None

    def _col(self, name: str, create: bool) -> Any:
        try:
            if create:
                # Embeddings are always passed in: Chroma's default function would download a model.
                return self._client.get_or_create_collection(
                    name, embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
            return self._client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if not create:
                raise NotFoundError(f"no collection {name.rsplit('.', 1)[0]!r}") from exc
            raise StoreError(f"Chroma failed on collection {name}: {exc}") from exc

    def collections(self) -> list[str]:
        """Names of the collections that hold documents."""
        names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        return sorted(n[: -len(".docs")] for n in names if n.endswith(".docs"))

    def drop(self, collection: str) -> None:
        """Delete a whole collection (both of its Chroma collections); unknown names are ignored."""
        for suffix in (".docs", ".chunks"):
            with contextlib.suppress(Exception):
                self._client.delete_collection(f"{check_collection(collection)}{suffix}")

    # --- documents ---------------------------------------------------------------------------
    def list(self, collection: str) -> list[DocumentMeta]:
        """Metadata of every document in `collection`, oldest first."""
        docs = self._read(collection)
        if docs is None:
            return []
        got = docs.get(include=["metadatas"])
        metas = [_meta_from_chroma(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return sorted(metas, key=lambda m: (m.ingested_at, m.id))

    def find_by_hash(self, collection: str, content_hash: str) -> DocumentMeta | None:
        docs = self._read(collection)
        got = docs.get(where={"content_hash": content_hash}, include=["metadatas"]) if docs else {"ids": []}
        if not got["ids"]:
            return None
        return _meta_from_chroma(got["ids"][0], got["metadatas"][0])

    def meta(self, collection: str, doc_id: str) -> DocumentMeta:
        docs = self._read(collection)
        got = docs.get(ids=[doc_id], include=["metadatas"]) if docs else {"ids": []}
        if not got["ids"]:
            raise NotFoundError(f"no document {doc_id!r} in collection {collection!r}")
        return _meta_from_chroma(got["ids"][0], got["metadatas"][0])

    def get(self, collection: str, doc_id: str) -> Document:
        """The document and its full stored text."""
        docs = self._read(collection)
        got = docs.get(ids=[doc_id], include=["metadatas", "documents"]) if docs else {"ids": []}
        if not got["ids"]:
            raise NotFoundError(f"no document {doc_id!r} in collection {collection!r}")
        return Document(meta=_meta_from_chroma(got["ids"][0], got["metadatas"][0]), text=got["documents"][0])

    def texts(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        """Several documents at once, keyed by id; unknown ids are left out."""
        docs = self._read(collection)
        if not doc_ids or docs is None:
            return {}
        got = docs.get(ids=sorted(set(doc_ids)), include=["metadatas", "documents"])
        return {
            i: Document(meta=_meta_from_chroma(i, m), text=t)
            for i, m, t in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        }

    def chunks_of(self, collection: str, doc_id: str) -> list[Chunk]:
        chunk_col = self._read(collection, "chunks")
        if chunk_col is None:
            return []
        got = chunk_col.get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
        out = [
            Chunk(doc_id=doc_id, index=m["index"], start=m["start"], end=m["end"], text=t)
            for m, t in zip(got["metadatas"], got["documents"], strict=True)
        ]
        return sorted(out, key=lambda c: c.index)

    def add(self, collection: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Write one document atomically: chunks first, then the docs record that commits them."""
        docs, chunk_col = self._docs(collection), self._chunks(collection)
        doc_id = doc.meta.id
        if docs.get(ids=[doc_id], include=[])["ids"]:
            raise InputError(f"document id {doc_id!r} already exists in {collection!r} with other text")
        chunk_col.delete(where={"doc_id": doc_id})  # leftovers of an interrupted ingest
        try:
            for b in range(0, len(chunks), BATCH):
                part = chunks[b : b + BATCH]
                chunk_col.add(
                    ids=[f"{doc_id}#{c.index}" for c in part],
                    embeddings=vectors[b : b + BATCH],
                    documents=[c.text for c in part],
                    metadatas=[
                        {"doc_id": doc_id, "index": c.index, "start": c.start, "end": c.end} for c in part
                    ],
                )
            centroid = vectors.mean(axis=0) if len(vectors) else np.zeros(vectors.shape[1] or 384)
            centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
            docs.add(
                ids=[doc_id],
                embeddings=[centroid],
                documents=[doc.text],
                metadatas=[_meta_to_chroma(doc.meta)],
            )
        except BaseException as exc:
            # The original error matters more than a failed cleanup.
            with contextlib.suppress(Exception):
                chunk_col.delete(where={"doc_id": doc_id})
            if isinstance(exc, Exception):
                raise StoreError(f"could not store document {doc_id!r}: {exc}") from exc
            raise

    def delete(self, collection: str, doc_id: str) -> DocumentMeta:
        """Remove a document: the commit marker first, then its chunks."""
        meta = self.meta(collection, doc_id)
        self._docs(collection).delete(ids=[doc_id])
        self._chunks(collection).delete(where={"doc_id": doc_id})
        return meta

    # --- search ------------------------------------------------------------------------------
    def search(
        self, collection: str, vector: list[float], k: int, doc_ids: list[str] | None = None
    ) -> list[RetrievedChunk]:
        """The `k` chunks nearest to `vector` (cosine similarity as score), committed documents only."""
        docs, chunk_col = self._read(collection), self._read(collection, "chunks")
        if docs is None or chunk_col is None:
            return []
        committed = set(docs.get(include=[])["ids"])
        if doc_ids is not None:
            committed &= set(doc_ids)
        total = chunk_col.count()
        if not committed or total == 0:
            return []
        got = chunk_col.query(
            query_embeddings=[vector],
            n_results=min(total, k),
            where={"doc_id": {"$in": sorted(committed)}},
            include=["metadatas", "documents", "distances"],
        )
        out = []
        for m, t, d in zip(got["metadatas"][0], got["documents"][0], got["distances"][0], strict=True):
            out.append(
                RetrievedChunk(
                    doc_id=m["doc_id"], index=m["index"], start=m["start"], end=m["end"], text=t, score=1 - d
                )
            )
        return out


def _meta_to_chroma(meta: DocumentMeta) -> dict[str, Any]:
    return {k: v for k, v in meta.model_dump().items() if k != "id"}


def _meta_from_chroma(doc_id: str, meta: dict[str, Any] | None) -> DocumentMeta:
    fields = set(DocumentMeta.model_fields) - {"id"}
    return DocumentMeta(id=doc_id, **{k: v for k, v in (meta or {}).items() if k in fields})


@contextmanager
def open_store(settings: Settings, embedder: Embedder | None = None) -> Iterator[Store]:
    """A Store for the configured Chroma; in embedded mode this process holds the data dir."""
    with contextlib.ExitStack() as stack:
        if not settings.chroma_host:
            stack.enter_context(_data_dir_lock(settings))
        client = make_client(settings)
        # Close before the lock is released: an unclosed embedded client stays cached in this process
        # with its index in memory, and goes stale (queries fail) once another process writes.
        stack.callback(_close_client, client)
        yield Store(client, embedder)


def _close_client(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # a failed close must not hide the caller's error
            close()
