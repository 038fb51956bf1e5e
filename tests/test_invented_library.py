"""The seed tests' twins for sentences, chunks, statements, ingest, the eval's case files, the eval
command and the page's API, on the invented article in tests/data/: every clone has it, while the
seed tests skip without ../shared. Each test names the seed test it stands in for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from conftest import INVENTED_CASE, Article, StoreEnv, start_app, stop_app
from test_chunk import check_chunks, check_sentences
from test_statements import numbered

from service.chain.attribution.parse import voices
from service.errors import InputError
from service.eval.cases import default_cases_path, load_cases
from service.library import Loaded, chunks, content_hash, ingest, load_file, sentences
from service.models import Comparison


# --- sentences, chunks, statements and speakers (test_chunk, test_statements, test_parse) ---------
def test_invented_sentences_and_chunks(invented: Article) -> None:
    """Twin of test_chunk.test_seed_sentences_and_chunks."""
    text = invented.path.read_text(encoding="utf-8")
    spans = sentences(text)
    check_sentences(text, spans, max_len=2000)
    assert len(spans) > 15
    for size, overlap in [(800, 120), (200, 50), (5000, 0)]:
        got = chunks("invented", text, size, overlap)
        check_chunks(text, got, size, overlap)
        assert {c.doc_id for c in got} == {"invented"}


def test_invented_chunks_do_overlap(invented: Article) -> None:
    """Twin of test_chunk.test_seed_chunks_do_overlap."""
    text = invented.path.read_text(encoding="utf-8")
    got = chunks("invented", text, 800, 120)
    assert len(got) >= 3
    assert any(prev.end > cur.start for prev, cur in pairwise(got))
    no_overlap = chunks("invented", text, 800, 0)
    assert all(prev.end <= cur.start for prev, cur in pairwise(no_overlap))


def test_invented_statement_offsets_are_exact(invented: Article) -> None:
    """Twin of test_statements.test_offsets_are_exact: curly quotes, an en dash, web leftovers."""
    text = invented.path.read_text(encoding="utf-8")
    found, _ = numbered(text)
    assert len(found) > 12
    for s in found:
        assert text[s.start : s.end] == s.text and s.doc_id == "doc"
    assert [s.start for s in found] == sorted(s.start for s in found)
    assert any("“" in s.text for s in found) and any("–" in s.text for s in found)


def test_invented_article_speakers_and_affiliations(invented: Article) -> None:
    """Twin of test_parse.test_seed_article_speakers_and_affiliations."""
    text = invented.path.read_text(encoding="utf-8")
    spans = sentences(text)
    got = voices(text, [(s.start, s.end) for s in spans])
    assert {"Tamsin Orrery", "Tobiah Pryce", "Ansel Fenwick", "Ysolde Solvik"} <= {v.speaker for v in got}
    affiliations = {v.speaker: v.affiliation for v in got if v.affiliation and v.speaker != v.affiliation}
    assert affiliations["Tamsin Orrery"] == affiliations["Ansel Fenwick"] == "Corvale Rail"
    assert affiliations["Tobiah Pryce"] == "the Quillbrook Signallers' Union"
    # "He said" and a surname alone carry the person who spoke last, by their full name.
    said = {text[s.start : s.end]: v.speaker for s, v in zip(spans, got, strict=True)}
    assert next(v for k, v in said.items() if k.startswith("He said the company")) == "Tobiah Pryce"
    assert next(v for k, v in said.items() if k.startswith("Fenwick said")) == "Ansel Fenwick"


# --- ingest, in both store modes (test_ingest) ---------------------------------------------------
def test_invented_roundtrip(store_env: StoreEnv, invented: Article) -> None:
    """Twin of test_ingest.test_seed_roundtrip."""
    progress: list[tuple[int, int]] = []
    with store_env.open() as store:
        loaded = load_file(invented.path, store_env.settings)
        first = ingest(
            store, store_env.collection, loaded, store_env.settings, on_progress=lambda *a: progress.append(a)
        )
        meta = first.meta
        assert first.created
        assert meta.id == content_hash(loaded.text)[:16]
        assert meta.title.startswith(invented.title)  # "News" is too short to be the title
        assert meta.source == str(invented.path)
        assert progress[-1] == (meta.n_chunks, meta.n_chunks)
        listing = store.list(store_env.collection)
        assert [m.id for m in listing] == [meta.id]

        again = ingest(
            store, store_env.collection, load_file(invented.path, store_env.settings), store_env.settings
        )
        assert not again.created and again.meta == meta
        assert store.list(store_env.collection) == listing

        doc = store.get(store_env.collection, meta.id)
        assert doc.text.encode("utf-8") == invented.path.read_bytes()
        stored = store.chunks_of(store_env.collection, meta.id)
        assert len(stored) == meta.n_chunks > 1
        assert all(doc.text[c.start : c.end] == c.text for c in stored)


def test_invented_explicit_id(store_env: StoreEnv, invented: Article) -> None:
    """Twin of test_ingest.test_explicit_id."""
    with store_env.open() as store:
        loaded = load_file(invented.path, store_env.settings)
        meta = ingest(
            store, store_env.collection, loaded, store_env.settings, doc_id="talks-1", title="T"
        ).meta
        assert (meta.id, meta.title) == ("talks-1", "T")
        # The same text under another id is still the same document: a no-op that names the stored one.
        again = ingest(store, store_env.collection, loaded, store_env.settings, doc_id="talks-2")
        assert (again.created, again.meta.id) == (False, "talks-1")
        other = Loaded(text="Other text.", source="t")
        with pytest.raises(InputError, match="bad document id"):
            ingest(store, store_env.collection, other, store_env.settings, doc_id="a b")
        with pytest.raises(InputError, match="already exists"):
            ingest(store, store_env.collection, other, store_env.settings, doc_id="talks-1")
        assert [m.id for m in store.list(store_env.collection)] == ["talks-1"]


# --- the eval's case files (test_evaluate) -------------------------------------------------------
def test_own_cases_and_the_invented_case_are_well_formed(invented: Article) -> None:
    """Twin of test_evaluate.test_own_cases_pass_the_shared_checker: the loader's errors, and the
    shared checker's warnings (a padded or over-long quote, a side with no account, empty fields)."""
    files = [*sorted(default_cases_path().glob("*.jsonl")), INVENTED_CASE]
    for path in files:
        for case in load_cases(path):
            where = f"{path.name}:{case.id}"
            assert all(d.title and d.source and d.license for d in case.documents), where
            used = {side for p in case.points for side in p.accounts}
            assert used == {s.name for s in case.sides}, f"{where}: a side has no account"
            for p in case.points:
                assert p.topic, where
                for account in p.accounts.values():
                    assert account.claim, where
                    for ev in account.evidence:
                        assert ev.quote == ev.quote.strip() and len(ev.quote) <= 600, f"{where}: {ev.quote!r}"
    [case] = load_cases(INVENTED_CASE)
    assert case.documents[0].text == invented.path.read_text(encoding="utf-8")
    assert case.question == invented.question


# --- the eval command on the real embedder and Chroma (test_eval_chain's smoke eval) -------------
def test_eval_command_on_the_invented_case(tmp_path: Path) -> None:
    """The smoke eval's twin on tests/data/: `counterpoint eval` in its own process, on the embedded
    default (the rules; this article needs no model call): the labelled sides, evidence and points
    are found, and predictions and the report carry each quote's trace."""
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "service", "eval", "--cases", str(INVENTED_CASE), "--out", str(out)],
        env={**os.environ}, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["errors"] == 0 and metrics["partial"] == 0 and metrics["strategy"] == "rules"
    assert metrics["grounding"] == 1.0 and metrics["abstention"] == 1.0
    assert metrics["side_f1"] == 1.0 and metrics["attribution"] == 1.0
    assert metrics["evidence_recall"] >= 0.8 and metrics["point_alignment"] >= 0.5
    [prediction] = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    quotes = [q for p in prediction["points"] for a in p["accounts"].values() for q in a["quotes"]]
    assert quotes and all(q["why"]["speaker"] and q["why"]["side_rule"] for q in quotes)
    assert prediction["stats"]["llm_calls"] == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "invented_signal_talks" in report and "Misplaced evidence, by rule" in report


# --- the page's API (test_ui) --------------------------------------------------------------------
def test_gradio_client_ingests_the_invented_article_and_asks(
    invented: Article, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twin of test_ui.test_gradio_client_ingests_the_seed_and_asks, against `python app.py`."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    text = invented.path.read_text(encoding="utf-8")
    app = start_app(tmp_path, COUNTERPOINT_BACKEND="fake")
    try:
        api = Client(app.url, verbose=False, analytics_enabled=False)
        kwargs: dict[str, Any] = {
            "text": "", "url": "", "collection": "default", "title": "", "outlet": "", "doc_id": "",
        }  # fmt: skip
        added = api.predict(file=handle_file(str(invented.path)), **kwargs, api_name="/ingest")
        assert added["created"] is True and added["n_chars"] == len(text) and added["n_chunks"] > 1
        assert added["title"].startswith(invented.title)
        again = api.predict(file=handle_file(str(invented.path)), **kwargs, api_name="/ingest")
        assert again["created"] is False and again["id"] == added["id"]
        docs = api.predict(collection="default", api_name="/documents")
        assert [d["id"] for d in docs] == [added["id"]] and docs[0]["source"] == invented.path.name

        answer = Comparison.model_validate(
            api.predict(question=invented.question, collection="default", api_name="/ask")
        )
        assert not answer.abstained and answer.question == invented.question
        assert all(any(word in s.name for s in answer.sides) for word in invented.parties)
        quotes = answer.quotes()
        assert quotes and all(text[q.start : q.end] == q.text and q.doc == added["id"] for q in quotes)
        assert answer.stats.backend == "fake" and answer.stats.llm_calls > 0

        with pytest.raises(AppError, match="exactly one of text, url or file"):
            api.predict(file=None, **kwargs, api_name="/ingest")
        with pytest.raises(AppError, match="the question is empty"):
            api.predict(question="  ", collection="default", api_name="/ask")
    finally:
        stop_app(app)
