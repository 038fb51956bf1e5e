"""Chroma storage: chunks with embeddings, and each document's full text, in embedded or server mode.

A collection NAME is two Chroma collections: `NAME.chunks` (one record per chunk, with offsets) and
`NAME.docs` (one record per document: full text and metadata). The docs record is written last, so
it is the commit marker of an ingest: chunks without one are leftovers of a failed ingest, never
returned, and removed by the next ingest of that id. `commit` holds the write protocol, which is safe
with several writers at once (processes sharing a `chroma run` server).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from ..errors import CounterpointError, InputError, NotFoundError, StoreBusyError, StoreError
from ..models import Chunk, Document, DocumentMeta, RetrievedChunk
from ..settings import Settings
from .commit import KEY, Presence, Stored, brief, committed, key_map, live, meta_from_chroma, write
from .embed import Embedder

COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")

P = ParamSpec("P")
T = TypeVar("T")


def check_collection(name: str) -> str:
    if not COLLECTION_RE.match(name):
        raise InputError(f"bad collection name {name!r}: use 1-63 letters, digits, '_' or '-'")
    return name


def check_doc_id(doc_id: str) -> str:
    if not DOC_ID_RE.match(doc_id):
        raise InputError(f"bad document id {doc_id!r}: use 1-128 letters, digits, '.', '_', ':' or '-'")
    return doc_id


# What this process knows of the documents committed in each embedded data dir it holds (see Presence).
_PRESENCE: dict[Path, Presence] = {}


@contextmanager
def _data_dir_lock(settings: Settings) -> Iterator[Presence]:
    """Hold the embedded data directory for this process (refuse, never hang, if another holds it);
    yields the presence cache every Store on the dir shares while this process is its only writer."""
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
    key = settings.data_dir.resolve()
    try:
        if outermost:
            owner.write_text(f"pid {os.getpid()}: {' '.join(sys.argv[:2])}", encoding="utf-8")
            _PRESENCE[key] = Presence()
        yield _PRESENCE[key]
    finally:
        if outermost:
            # Once released, another process may write: what this one knew of the dir is void.
            _PRESENCE.pop(key, None)
            owner.unlink(missing_ok=True)
        lock.release()


def location(settings: Settings) -> str:
    """Where the library lives, for messages."""
    if settings.chroma_host:
        return f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return f"the Chroma folder {settings.data_dir / 'chroma'}"


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
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"(is `chroma run` up?): {brief(exc)}"
            ) from exc
        return client
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"), settings=chroma_settings)


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    """Chroma's own failures (a server gone, a broken folder) become one StoreError naming the store."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except CounterpointError:
            raise
        except Exception as exc:
            where = getattr(args[0], "where", "Chroma")
            raise StoreError(f"{where} failed: {type(exc).__name__}: {brief(exc)}") from exc

    return wrapper


class Store:
    """Documents and chunks in Chroma. Use `open_store(settings)` to get one."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder | None = None,
        where: str = "Chroma",
        presence: Presence | None = None,
    ) -> None:
        self._client = client
        self._embedder = embedder
        self.where = where
        self._presence = presence  # embedded only: this process is the sole writer (see Presence)
        # For search, the hot path: collection handles, and the chunk key of each committed document
        # seen (a docs record's metadata costs ~0.2 ms per id to read, its mere presence far less).
        self._handles: dict[str, Any] = {}
        self._keys: dict[str, dict[str, str]] = {}

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
        from chromadb.errors import NotFoundError as ChromaNotFound

        try:
            if create:
                # Embeddings are always passed in: Chroma's default function would download a model.
                return self._client.get_or_create_collection(
                    name, embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
            return self._client.get_collection(name, embedding_function=None)
        except ChromaNotFound as exc:  # only "no such collection": a server that is down is no answer
            raise NotFoundError(f"no collection {name.rsplit('.', 1)[0]!r}") from exc
        except Exception as exc:
            raise StoreError(f"{self.where} failed on collection {name}: {brief(exc)}") from exc

    @_guarded
    def collections(self) -> list[str]:
        """Names of the collections that hold documents."""
        names = [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        return sorted(n[: -len(".docs")] for n in names if n.endswith(".docs"))

    def drop(self, collection: str) -> None:
        """Delete a whole collection (both of its Chroma collections); unknown names are ignored."""
        self._forget()
        for suffix in (".docs", ".chunks"):
            with contextlib.suppress(Exception):
                self._client.delete_collection(f"{check_collection(collection)}{suffix}")

    # --- documents ---------------------------------------------------------------------------
    @_guarded
    def list(self, collection: str) -> list[DocumentMeta]:
        """Metadata of every document in `collection`, oldest first."""
        docs = self._read(collection)
        if docs is None:
            return []
        got = docs.get(include=["metadatas"])
        metas = [meta_from_chroma(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return sorted(metas, key=lambda m: (m.ingested_at, m.id))

    @_guarded
    def find_by_hash(self, collection: str, content_hash: str) -> DocumentMeta | None:
        docs = self._read(collection)
        got = docs.get(where={"content_hash": content_hash}, include=["metadatas"]) if docs else {"ids": []}
        if not got["ids"]:
            return None
        return meta_from_chroma(got["ids"][0], got["metadatas"][0])

    @_guarded
    def find_by_hashes(self, collection: str, content_hashes: list[str]) -> dict[str, DocumentMeta]:
        """Stored documents by content hash, for those of `content_hashes` that are stored."""
        docs = self._read(collection)
        if docs is None or not content_hashes:
            return {}
        got = docs.get(where={"content_hash": {"$in": sorted(set(content_hashes))}}, include=["metadatas"])
        metas = [meta_from_chroma(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        return {m.content_hash: m for m in sorted(metas, key=lambda m: m.id, reverse=True)}

    @_guarded
    def meta(self, collection: str, doc_id: str) -> DocumentMeta:
        docs = self._read(collection)
        got = docs.get(ids=[doc_id], include=["metadatas"]) if docs else {"ids": []}
        if not got["ids"]:
            raise NotFoundError(f"no document {doc_id!r} in collection {collection!r}")
        return meta_from_chroma(got["ids"][0], got["metadatas"][0])

    @_guarded
    def get(self, collection: str, doc_id: str) -> Document:
        """The document and its full stored text."""
        docs = self._read(collection)
        got = docs.get(ids=[doc_id], include=["metadatas", "documents"]) if docs else {"ids": []}
        if not got["ids"]:
            raise NotFoundError(f"no document {doc_id!r} in collection {collection!r}")
        return Document(meta=meta_from_chroma(got["ids"][0], got["metadatas"][0]), text=got["documents"][0])

    @_guarded
    def texts(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        """Several documents at once, keyed by id; unknown ids are left out."""
        docs = self._read(collection)
        if not doc_ids or docs is None:
            return {}
        got = docs.get(ids=sorted(set(doc_ids)), include=["metadatas", "documents"])
        return {
            i: Document(meta=meta_from_chroma(i, m), text=t)
            for i, m, t in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
        }

    @_guarded
    def chunks_of(self, collection: str, doc_id: str) -> list[Chunk]:
        """The committed chunks of a document, in order (none for an unknown id)."""
        docs, chunk_col = self._read(collection), self._read(collection, "chunks")
        if docs is None or chunk_col is None:
            return []
        keys = key_map(committed(docs, [doc_id]))
        got = chunk_col.get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
        out = [
            Chunk(doc_id=doc_id, index=m["index"], start=m["start"], end=m["end"], text=t)
            for m, t in zip(got["metadatas"], got["documents"], strict=True)
            if live(m, keys)
        ]
        return sorted(out, key=lambda c: c.index)

    def add(self, collection: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> Stored:
        """Write one document atomically (see `add_many`); an id taken by other text is an InputError."""
        (result,) = self.add_many(collection, [(doc, chunks, vectors)])
        if isinstance(result, CounterpointError):
            raise result
        return result

    @_guarded
    def add_many(
        self, collection: str, items: list[tuple[Document, list[Chunk], np.ndarray]]
    ) -> list[Stored | CounterpointError]:
        """Write documents, each whole or not at all (see `commit.write`), in few large writes."""
        docs, chunk_col = self._docs(collection), self._chunks(collection)
        return write(docs, chunk_col, collection, items, self.where, self._presence)

    @_guarded
    def delete(self, collection: str, doc_id: str) -> DocumentMeta:
        """Remove a document: the commit marker first, then its chunks."""
        meta = self.meta(collection, doc_id)
        self._keys.get(collection, {}).pop(doc_id, None)
        since = self._presence.version if self._presence is not None else 0
        try:
            self._docs(collection).delete(ids=[doc_id])
        finally:
            if self._presence is not None:
                self._presence.wrote(collection, [doc_id], since, {})
        self._chunks(collection).delete(where={"doc_id": doc_id})
        return meta

    # --- search ------------------------------------------------------------------------------
    @_guarded
    def search(
        self, collection: str, vector: list[float], k: int, doc_ids: list[str] | None = None
    ) -> list[RetrievedChunk]:
        """The `k` chunks nearest to `vector` (cosine similarity as score), committed documents only."""
        if k <= 0 or doc_ids == []:
            return []
        try:
            return self._search(collection, vector, k, doc_ids)
        except Exception:  # a cached handle may name a collection that another process dropped
            self._forget()
            return self._search(collection, vector, k, doc_ids)

    def _search(
        self, collection: str, vector: list[float], k: int, doc_ids: list[str] | None
    ) -> list[RetrievedChunk]:
        docs, chunk_col = self._handle(collection, "docs"), self._handle(collection, "chunks")
        if docs is None or chunk_col is None:
            return []
        # A filter makes Chroma check every candidate's metadata; only a caller's subset needs one.
        # Uncommitted leftovers are rare, so they are dropped after the query, asking for more if needed.
        where = {"doc_id": {"$in": sorted(set(doc_ids))}} if doc_ids is not None else None
        n = k
        while True:
            got = chunk_col.query(
                query_embeddings=[vector], n_results=n, where=where,
                include=["metadatas", "documents", "distances"],
            )  # fmt: skip
            metas, texts, dists = got["metadatas"][0], got["documents"][0], got["distances"][0]
            keys = self._live_keys(collection, docs, metas)
            out = [
                RetrievedChunk(doc_id=m["doc_id"], index=m["index"], start=m["start"], end=m["end"],
                               text=t, score=1 - d)
                for m, t, d in zip(metas, texts, dists, strict=True) if live(m, keys)
            ]  # fmt: skip
            if len(out) >= k or len(metas) < n:
                return out[:k]
            n *= 4

    def _live_keys(self, collection: str, docs: Any, metas: list[dict[str, Any]]) -> dict[str, str]:
        """Committed doc id -> chunk key, for these chunk records' documents. Embedded, from the cache;
        on a server presence is read every time (another process may delete), a key only when unknown."""
        ids = {m["doc_id"] for m in metas}
        if self._presence is not None:
            return self._presence.keys(docs, collection, ids)
        present = set(docs.get(ids=sorted(ids), include=[])["ids"]) if ids else set()
        known = self._keys.setdefault(collection, {})
        for gone in ids - present:
            known.pop(gone, None)
        unsure = {
            m["doc_id"]
            for m in metas
            if m["doc_id"] in present and known.get(m["doc_id"]) not in ("", m.get(KEY))
        }
        if unsure:
            known.update(key_map(committed(docs, sorted(unsure))))
        return {i: known[i] for i in present if i in known}

    def _handle(self, collection: str, kind: str) -> Any | None:
        name = f"{check_collection(collection)}.{kind}"
        if name not in self._handles:
            found = self._read(collection, kind)
            if found is None:
                return None
            self._handles[name] = found
        return self._handles[name]

    def _forget(self) -> None:
        self._handles.clear()
        self._keys.clear()
        if self._presence is not None:
            self._presence.forget()


@contextmanager
def open_store(settings: Settings, embedder: Embedder | None = None) -> Iterator[Store]:
    """A Store for the configured Chroma; in embedded mode this process holds the data dir."""
    with contextlib.ExitStack() as stack:
        presence = None if settings.chroma_host else stack.enter_context(_data_dir_lock(settings))
        client = make_client(settings)
        # Close before the lock is released: an unclosed embedded client stays cached in this process
        # with its index in memory, and goes stale (queries fail) once another process writes.
        stack.callback(_close_client, client)
        yield Store(client, embedder, location(settings), presence)


def _close_client(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # a failed close must not hide the caller's error
            close()
