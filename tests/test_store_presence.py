"""The store's presence cache (embedded: this process is the only writer). Split from test_store.py."""

from __future__ import annotations

from typing import Any

import pytest
from chromadb.api.models.Collection import Collection
from conftest import StoreEnv
from test_store import TEXT_A, TEXT_B, TEXT_LONG, add, raw_chunk_ids

from service.errors import StoreError
from service.library import commit as commit_mod
from service.library import store as store_mod
from service.settings import Settings


# --- the presence cache (embedded: this process is the only writer) -----------------------------
def docs_reads(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every `get` on a docs collection from now on, as the ids it asked for."""
    reads: list[list[str]] = []
    real = Collection.get

    def get(self: Collection, *args: Any, **kwargs: Any) -> Any:
        if self.name.endswith(".docs"):
            reads.append(list(kwargs.get("ids") or []))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "get", get)
    return reads


def chunk_deletes_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, deleting chunk records fails (after the commit marker has gone)."""
    real = Collection.delete

    def delete(self: Collection, *args: Any, **kwargs: Any) -> Any:
        if self.name.endswith(".chunks"):
            raise RuntimeError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "delete", delete)


def test_embedded_search_reads_presence_once_and_sees_a_delete_at_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = StoreEnv("embedded", settings, "default")
    with env.open() as store:
        a, b, c = (add(store, env, text).meta for text in (TEXT_A, TEXT_B, TEXT_LONG))
        query = store.embedder.embed_one("Who is blamed for the failed talks?")
        reads = docs_reads(monkeypatch)
        assert {r.doc_id for r in store.search(env.collection, query, k=100)} == {a.id, b.id, c.id}
        assert reads == []  # nothing written since: which documents are committed is known
        store.delete(env.collection, a.id)
        assert {r.doc_id for r in store.search(env.collection, query, k=100)} == {b.id, c.id}

        # The commit marker goes first: chunks a failed delete left behind are never returned.
        chunk_deletes_fail(monkeypatch)
        with pytest.raises(StoreError, match="disk full"):
            store.delete(env.collection, b.id)
        assert b.id in {i.split("#")[0] for i in raw_chunk_ids(store, env.collection)}
        assert {r.doc_id for r in store.search(env.collection, query, k=100)} == {c.id}


def test_embedded_search_sees_a_commit_of_an_id_it_saw_absent(settings: Settings) -> None:
    env = StoreEnv("embedded", settings, "default")
    with env.open() as store:
        add(store, env, TEXT_B)
        query = store.embedder.embed_one("A new document about peace talks.")
        store._chunks(env.collection).add(  # a crashed ingest's leftover: no docs record
            ids=["late#0"], embeddings=[query], documents=["leftover"],
            metadatas=[{"doc_id": "late", "index": 0, "start": 0, "end": 8}],
        )  # fmt: skip
        assert all(r.doc_id != "late" for r in store.search(env.collection, query, k=100))
        add(store, env, "A new document about peace talks.", doc_id="late")
        got = [r for r in store.search(env.collection, query, k=100) if r.doc_id == "late"]
        assert [r.text for r in got] == ["A new document about peace talks."]


def test_a_delete_through_another_store_of_this_process_is_seen(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = StoreEnv("embedded", settings, "default")
    with env.open() as first:
        a, b = add(first, env, TEXT_A).meta, add(first, env, TEXT_B).meta
        query = first.embedder.embed_one("Who is blamed for the failed talks?")
        assert {r.doc_id for r in first.search(env.collection, query, k=100)} == {a.id, b.id}
        with env.open() as second:  # the page opens the store more than once
            chunk_deletes_fail(monkeypatch)  # a's chunks stay: only the shared presence can drop them
            with pytest.raises(StoreError):
                second.delete(env.collection, a.id)
        assert {r.doc_id for r in first.search(env.collection, query, k=100)} == {b.id}
    # Released, the dir may be written by another process: nothing of what was known is kept.
    assert settings.data_dir.resolve() not in store_mod._PRESENCE


def test_a_presence_read_that_overlaps_a_write_is_not_kept() -> None:
    presence = commit_mod.Presence()

    class Docs:
        """A docs collection whose read sees a write of the same id end while it runs."""

        reads = 0

        def get(self, ids: list[str], include: list[str]) -> dict[str, Any]:
            self.reads += 1
            presence.wrote("c", ids, presence.version, {})
            return {"ids": ids, "metadatas": [{commit_mod.KEY: "k1"} for _ in ids]}

    docs = Docs()
    assert presence.keys(docs, "c", {"d1"}) == {"d1": "k1"}
    assert presence.keys(docs, "c", {"d1"}) == {"d1": "k1"} and docs.reads == 2  # read again, not cached


def test_a_write_that_overlapped_another_only_forgets() -> None:
    presence = commit_mod.Presence()
    since = presence.version
    presence.wrote("c", ["other"], presence.version, {"other": "k0"})  # another write ends first
    presence.wrote("c", ["d1"], since, {"d1": "k1"})  # what this one read back may be stale
    presence.wrote("c", ["d2"], presence.version, {"d2": "k2"})
    docs = type("Docs", (), {"get": lambda self, ids, include: {"ids": [], "metadatas": []}})()
    assert presence.keys(docs, "c", {"other", "d1", "d2"}) == {"other": "k0", "d2": "k2"}


def test_an_ingest_teaches_the_next_search_without_a_read(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = StoreEnv("embedded", settings, "default")
    with env.open() as store:
        a = add(store, env, TEXT_A).meta
        query = store.embedder.embed_one("Who is blamed for the failed talks?")
        reads = docs_reads(monkeypatch)
        assert {r.doc_id for r in store.search(env.collection, query, k=100)} == {a.id}
        assert reads == []  # the write read back what it committed
