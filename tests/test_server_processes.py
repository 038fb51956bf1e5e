"""Several processes, one library: ingests and an ask at once against one `chroma run`, and two writers
of the same document at once (in separate processes, and interleaved step by step in this one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chromadb.api.models.Collection import Collection
from conftest import ChromaProcess, assert_whole_or_absent

from service.errors import StoreError
from service.library import Loaded, content_hash, ingest
from service.library.chunk import chunks as make_chunks
from service.library.store import open_store
from service.models import Document, DocumentMeta

COUNTERPOINT = Path(sys.executable).parent / "counterpoint"
QUESTION = (
    "Why did the Harbour Accord talks between Orlavia and Kessmark stall, and how does each side tell it?"
)


def article(n: int, paragraphs: int = 8) -> str:
    """An invented news article about an invented dispute; `n` makes each one distinct."""
    lines = [f"Harbour Accord talks stall for round {n}", ""]
    for p in range(paragraphs):
        lines.append(
            f"Orlavia's trade minister, Tova Renquist, said on day {p + 1} of round {n} that Kessmark had "
            f"walked away from the harbour fee schedule. “We offered a fair split of the port dues,” "
            f"Renquist told reporters. Kessmark's spokesman, Bram Palane, said Orlavia had demanded "
            f"control of the pilot service first. Palane said the fee schedule was never on the table "
            f"in session {p + 1}. Observers noted that both delegations left the venue early."
        )
        lines.append("")
    return "\n".join(lines)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(COUNTERPOINT), *args], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.e2e
def test_two_ingests_and_an_ask_at_once(chroma_process: ChromaProcess, tmp_path: Path) -> None:
    texts = {f"a{i}": article(i) for i in range(3)} | {f"b{i}": article(10 + i) for i in range(2)}
    texts["shared"] = article(99)
    paths = {}
    for name, text in texts.items():
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text(text, encoding="utf-8")
    env = {**chroma_process.env, "COUNTERPOINT_BACKEND": "fake"}
    seed = run_cli("ingest", "-c", "many", str(paths["a0"]), env=env)
    assert finish(seed)[0] == 0
    # The shared document comes first in both, so that the two writes of it overlap.
    first = run_cli("ingest", "-c", "many", str(paths["shared"]), str(paths["a1"]), str(paths["a2"]), env=env)
    second = run_cli(
        "ingest", "-c", "many", str(paths["shared"]), str(paths["b0"]), str(paths["b1"]), env=env
    )
    asked = run_cli("ask", "-c", "many", QUESTION, "--json", "--no-cache", env=env)
    results = [finish(p) for p in (first, second, asked)]
    for code, _, err in results:
        assert code == 0, err
    added = [line.split("\t") for _, out, _ in results[:2] for line in out.splitlines()]
    shared_id = content_hash(texts["shared"])[:16]
    assert sorted(verb for doc, verb, *_ in added if doc == shared_id) == [
        "added",
        "unchanged (already stored)",
    ]
    answer = json.loads(results[2][1])
    by_id = {content_hash(t)[:16]: t for t in texts.values()}  # the CLI's ids are content hashes
    with open_store(chroma_process.settings()) as store:
        assert assert_whole_or_absent(store, "many", by_id) == set(by_id)
        assert answer["points"], "the ask found nothing: the library held a document from the start"
        for point in answer["points"]:
            for account in point["accounts"].values():
                for quote in account["quotes"]:
                    doc_text = store.get("many", quote["doc"]).text
                    assert doc_text[quote["start"] : quote["end"]] == quote["text"]


# --- two writers of one document, step by step ---------------------------------------------------
DOC = article(7, paragraphs=4)


def prepared(store: Any, settings: Any) -> tuple[Document, list[Any], np.ndarray]:
    """What ingest would write for DOC: the document, its chunks and their vectors."""
    digest = content_hash(DOC)
    chunks = make_chunks(digest[:16], DOC, settings.chunk_size, settings.chunk_overlap)
    meta = DocumentMeta(
        id=digest[:16], title="t", content_hash=digest, n_chars=len(DOC), n_chunks=len(chunks)
    )
    return Document(meta=meta, text=DOC), chunks, store.embedder.embed([c.text for c in chunks])


def hold_commits(monkeypatch: pytest.MonkeyPatch, writers: int, fail_first: bool = False) -> list[str]:
    """Make every writer wait before its commit (the docs record) until all have written their chunks;
    with `fail_first`, the first writer's commit fails instead, after the others have committed."""
    barrier = threading.Barrier(writers, timeout=60)
    real_add = Collection.add
    order: list[str] = []
    committed = threading.Event()

    def add(self: Collection, *args: Any, **kwargs: Any) -> None:
        if not self.name.endswith(".docs"):
            return real_add(self, *args, **kwargs)
        me = threading.current_thread().name
        barrier.wait()
        if fail_first and me == "w0":
            committed.wait(timeout=60)
            order.append(f"{me} failed")
            raise RuntimeError("connection reset")
        real_add(self, *args, **kwargs)
        order.append(f"{me} committed")
        committed.set()
        return None

    monkeypatch.setattr(Collection, "add", add)
    return order


@pytest.mark.e2e
@pytest.mark.parametrize("fail_first", [False, True], ids=["both-commit", "one-fails"])
def test_same_document_from_two_writers_at_once(
    chroma_process: ChromaProcess, monkeypatch: pytest.MonkeyPatch, fail_first: bool
) -> None:
    settings = chroma_process.settings()
    outcomes: dict[str, Any] = {}

    def writer(name: str) -> None:
        with open_store(settings) as store:  # a client of its own, as another process would have
            doc, chunks, vectors = prepared(store, settings)
            try:
                outcomes[name] = store.add("same", doc, chunks, vectors)
            except StoreError as exc:
                outcomes[name] = exc

    order = hold_commits(monkeypatch, 2, fail_first)
    threads = [threading.Thread(target=writer, args=(f"w{i}",), name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    monkeypatch.undo()
    assert len(order) == 2, order
    with open_store(settings) as store:
        stored = assert_whole_or_absent(store, "same", {content_hash(DOC)[:16]: DOC})
        assert stored == {content_hash(DOC)[:16]}
    created = [o.created for o in outcomes.values() if not isinstance(o, Exception)]
    if fail_first:
        assert isinstance(outcomes["w0"], StoreError) and created == [True]
    else:
        assert sorted(created) == [False, True]


@pytest.mark.e2e
def test_a_new_writer_never_sees_a_half_written_document(chroma_process: ChromaProcess) -> None:
    settings = chroma_process.settings()
    with open_store(settings) as store:
        doc, chunks, vectors = prepared(store, settings)
        chunk_col = store._chunks("half")
        # Another writer's chunks are in, its commit is not: searches and listings must not show them.
        store._chunks("half").add(
            ids=[f"{doc.meta.id}#other#{c.index}" for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[{"doc_id": doc.meta.id, "index": c.index, "start": c.start, "end": c.end,
                        "chunk_key": "other"} for c in chunks],
        )  # fmt: skip
        assert store.list("half") == []
        assert store.search("half", vectors[0].tolist(), k=5) == []
        assert store.chunks_of("half", doc.meta.id) == []
        started = time.monotonic()
        result = ingest(store, "half", Loaded(text=DOC, source="t"), settings)
        assert result.created and time.monotonic() - started < 60
        assert_whole_or_absent(store, "half", {doc.meta.id: DOC})
        assert len(chunk_col.get(include=[])["ids"]) == len(chunks)
