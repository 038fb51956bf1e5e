"""The eval runner end to end on the project's own cases, with scripted services (no LLM)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eval_fakes import (
    ANSWERABLE,
    ANSWERING,
    BY_QUESTION,
    CASES,
    FAILS,
    ONE_DOC,
    PNG,
    RERUN,
    FakeService,
    failing_on,
    labelled_answer,
    lines,
    run,
)

from service.errors import InputError
from service.eval import summary
from service.eval.cases import Case, default_cases_path, load_cases
from service.eval.evaluate import run_eval
from service.eval.scores import COST_NAMES, SCORE_NAMES, STAGE_NAMES
from service.eval.store import SHARED, EvalService, plan_library
from service.library import IngestResult, Loaded, content_hash
from service.models import Comparison
from service.settings import Settings


# --- a whole run --------------------------------------------------------------------------------
def test_perfect_answers_score_one_and_write_every_file(tmp_path: Path, settings: Settings) -> None:
    svc, out = FakeService(), tmp_path / "run"
    metrics = run(svc, out, settings)
    # The labelled answer: every score 1, but claim own-quotes, which grades the labels' own claims,
    # and claim and topic fidelity, where two real sides (or two labelled topics) may share their
    # words (a tie counts one half).
    labelled = set(SCORE_NAMES) - {"claim_own_quotes", "claim_fidelity", "topic_fidelity"}
    assert metrics.model_dump(include=labelled) == dict.fromkeys(labelled, 1.0)
    assert metrics.claim_fidelity is not None and metrics.claim_fidelity > 0.99
    assert metrics.topic_fidelity is not None and metrics.topic_fidelity > 0.99
    assert metrics.claim_own_quotes is not None and metrics.claim_own_quotes > 0.5
    assert metrics.model_dump(include=set(STAGE_NAMES)) == dict.fromkeys(STAGE_NAMES, 1.0)
    assert metrics.cases == len(CASES) and metrics.errors == 0 and metrics.partial == 0

    got = lines(out)
    assert [p["id"] for p in got] == [c.id for c in CASES]
    for pred, case in zip(got, CASES, strict=True):
        assert set(pred) <= {"id", "abstained", "reason", "sides", "points", "stats", "candidates"}
        assert {c["doc"] for c in pred.get("candidates", [])} <= set(case.texts())
        stats = {"latency_s", "llm_calls", "prompt_tokens", "completion_tokens", "retries"}
        assert set(pred["stats"]) == stats
        assert pred["abstained"] is (not case.answerable)
        for point in pred["points"]:
            for account in point["accounts"].values():
                for q in account["quotes"]:
                    assert q["text"] == case.texts()[q["doc"]][q["start"] : q["end"]]
                    assert q["title"] == "T" and "url" not in q  # empty source fields are left out

    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved) == {
        *SCORE_NAMES, *STAGE_NAMES, *COST_NAMES, "evidence", "lost", "cases", "errors", "partial", "strategy",
        "retries",
    }  # fmt: skip
    assert saved["llm_calls_median"] == 3.0 and saved["prompt_tokens_median"] == 1200.0
    n_evidence = sum(len(a.evidence) for c in CASES for p in c.points for a in p.accounts.values())
    assert saved["evidence"] == n_evidence and set(saved["lost"].values()) == {0}
    assert saved["strategy"] == "rules"  # the default for the local backend
    assert len((out / "scores.jsonl").read_text().splitlines()) == len(CASES)
    assert (out / "scores.png").read_bytes()[:8] == PNG

    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("Averages", "Per case", "Where evidence was lost", "Cost per case", "The 3 worst cases",
                    "Definitions"):  # fmt: skip
        assert f"\n## {heading}\n" in report
    assert "strategy `rules`" in report and "0 failed, 0 partial" in report
    assert f"| retrieved | 1.000 | {ANSWERABLE} | 0 | not retrieved |" in report
    assert "![per-case scores](scores.png)" in report
    assert all(f"| {c.id} |" in report for c in CASES)
    assert f"| evidence recall | 1.000 | {ANSWERABLE} |" in report  # unanswerable cases are left out


def test_each_case_gets_a_fresh_collection_in_the_runs_own_store(tmp_path: Path, settings: Settings) -> None:
    svc, out = FakeService(), tmp_path / "run"
    run(svc, out, settings)
    assert svc.asked == [(c.id, f"eval-{c.id}") for c in CASES]
    assert svc.dropped == [f"eval-{c.id}" for c in CASES]  # before use; embedded stores keep them after
    assert svc.settings[0].data_dir == out / "store"
    assert not settings.data_dir.exists()  # the user's library is never opened


def test_documents_keep_their_case_ids(tmp_path: Path, settings: Settings) -> None:
    svc = FakeService()
    run(svc, tmp_path / "run", settings)
    for case in CASES:
        assert set(svc.docs[f"eval-{case.id}"]) == {d.id for d in case.documents}


def test_a_failing_case_is_recorded_and_the_run_goes_on(tmp_path: Path, settings: Settings) -> None:
    svc, out = FakeService(failing_on(FAILS.id)), tmp_path / "run"
    metrics = run(svc, out, settings)
    got = {p["id"]: p for p in lines(out)}
    assert len(got) == len(CASES)
    failed = got[FAILS.id]
    assert failed["error"] == "ModelError: the model server went away"
    assert failed["abstained"] is False and failed["sides"] == [] and failed["points"] == []
    assert all("error" not in p for cid, p in got.items() if cid != FAILS.id)
    assert metrics.errors == 1
    assert metrics.side_f1 == pytest.approx(1 - 1 / ANSWERABLE)  # 0 for the failed case, 1 for the rest
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"### {FAILS.id}" in report and "ModelError: the model server went away" in report
    n_evidence = sum(len(a.evidence) for p in FAILS.points for a in p.accounts.values())
    assert f"Missed evidence ({n_evidence})" in report  # every labelled quote of that case
    assert metrics.lost["no_side"] == n_evidence  # a failure reports no candidates: retrieval unknown
    assert metrics.stage_retrieved == 1.0  # ... so the failed case is left out of that stage


def test_retries_are_counted_per_case_and_in_all(tmp_path: Path, settings: Settings) -> None:
    def retried(case: Case, svc: FakeService, col: str) -> Comparison:
        answer = labelled_answer(case, svc.by_text(col))
        answer.stats.retries = 2 if case.id == ONE_DOC.id else 0  # e.g. one call timed out twice
        return answer

    out = tmp_path / "run"
    metrics = run(FakeService(retried), out, settings)
    assert metrics.retries == 2
    assert {p["id"]: p["stats"]["retries"] for p in lines(out)}[ONE_DOC.id] == 2
    report = (out / "report.md").read_text(encoding="utf-8")
    per_case = report.split("| case | latency (s) | LLM calls | retries")[1]
    assert "2 in all" in report and f"| {ONE_DOC.id} | " in per_case
    assert "2 retries" in summary(metrics, out)


def test_report_lists_missed_evidence_and_wrong_attributions(tmp_path: Path, settings: Settings) -> None:
    def swapped(case: Case, svc: FakeService, col: str) -> Comparison:
        answer = labelled_answer(case, svc.by_text(col))
        if case.id == ONE_DOC.id:  # every side's accounts move to the next side in the point
            for point in answer.points:
                keys = list(point.accounts)
                point.accounts = {k: point.accounts[keys[i - 1]] for i, k in enumerate(keys)}
        return answer

    out = tmp_path / "run"
    metrics = run(FakeService(swapped), out, settings)
    assert metrics.attribution is not None and metrics.attribution < 1.0
    report = (out / "report.md").read_text(encoding="utf-8")
    worst = report.split("## The 3 worst cases")[1]
    assert f"### {ONE_DOC.id}" in worst
    first, (a, b) = ONE_DOC.points[0], list(ONE_DOC.points[0].accounts)
    doc = first.accounts[a].evidence[0].doc
    assert f"under **{a}** ({first.topic}; `{doc}`, under the wrong side)" in worst
    assert f"placed under **{a}**, labelled under **{b}**" in worst


def test_limit_runs_the_first_cases_only(tmp_path: Path, settings: Settings) -> None:
    svc, out = FakeService(), tmp_path / "run"
    metrics = run(svc, out, settings, limit=3)
    assert [p["id"] for p in lines(out)] == [c.id for c in CASES[:3]]
    assert len(svc.asked) == 3 and metrics.cases == 3
    with pytest.raises(InputError, match="at least 1"):
        run(svc, tmp_path / "other", settings, limit=0)


def test_progress_bar_goes_to_stderr(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    run(FakeService(), tmp_path / "run", settings, limit=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "2/2" in captured.err


# --- resume ---------------------------------------------------------------------------------------
def test_resume_skips_finished_cases_and_reruns_failed_ones(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    run(FakeService(failing_on(RERUN.id)), out, settings)
    before = (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()

    again = FakeService()
    metrics = run(again, out, settings, resume=True)
    assert again.asked == [(RERUN.id, f"eval-{RERUN.id}")]
    after = lines(out)
    assert sorted(p["id"] for p in after) == sorted(c.id for c in CASES)  # still one line per case
    assert all("error" not in p for p in after)
    # Finished lines are kept exactly as written; the re-run case is appended.
    kept = [x for x in before if f'"{RERUN.id}"' not in x]
    assert (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()[: len(kept)] == kept
    assert after[-1]["id"] == RERUN.id
    assert metrics.errors == 0 and metrics.evidence_recall == 1.0


def test_resume_reruns_a_line_cut_off_by_an_interruption(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    run(FakeService(), out, settings, limit=3)
    path = out / "predictions.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex('{"id"') + 40], encoding="utf-8")  # half of the last line
    again = FakeService()
    metrics = run(again, out, settings, limit=3, resume=True)
    assert [cid for cid, _ in again.asked] == [CASES[2].id]
    assert len(lines(out)) == 3 and metrics.cases == 3


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    run(FakeService(), out, settings, limit=1)
    with pytest.raises(InputError, match="--resume"):
        run(FakeService(), out, settings, limit=1)


def test_resume_refuses_a_different_setup(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    run(FakeService(), out, settings, limit=1)
    with pytest.raises(InputError, match="shared_library"):
        run(FakeService(), out, settings, limit=2, resume=True, shared_library=True)
    other = settings.model_copy(update={"backend": "fake"})
    with pytest.raises(InputError, match="backend"):
        run(FakeService(), out, other, limit=2, resume=True)


# --- shared library and document ids -------------------------------------------------------------
def test_shared_library_puts_every_document_in_one_collection(tmp_path: Path, settings: Settings) -> None:
    svc, out = FakeService(), tmp_path / "run"
    metrics = run(svc, out, settings, shared_library=True)
    assert {col for _, col in svc.asked} == {SHARED}
    # One copy of each text: several real cases share an article.
    assert len(svc.docs[SHARED]) == len({d.text for c in CASES for d in c.documents})
    assert svc.dropped == [SHARED]
    assert metrics.evidence_recall == 1.0 and metrics.grounding == 1.0
    assert json.loads((out / "run.json").read_text())["shared_library"] is True


def mini_case(case_id: str, docs: dict[str, str], quote_doc: str, quote: str) -> Case:
    return Case.model_validate(
        {
            "id": case_id,
            "question": f"What about {case_id}?",
            "answerable": True,
            "documents": [
                {"id": i, "title": i, "source": "test", "license": "CC0", "text": t} for i, t in docs.items()
            ],
            "sides": [{"name": "North", "aliases": []}, {"name": "South", "aliases": []}],
            "points": [
                {
                    "topic": "t",
                    "accounts": {
                        "North": {"claim": "c", "evidence": [{"doc": quote_doc, "quote": quote}]},
                        "South": {"claim": "c", "evidence": [{"doc": quote_doc, "quote": quote}]},
                    },
                }
            ],
        }
    )


def test_clashing_ids_in_a_shared_library_are_stored_apart_and_mapped_back(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = mini_case("one", {"a": "North says yes. South says no."}, "a", "North says yes.")
    two = mini_case("two", {"a": "North votes aye. South votes nay."}, "a", "South votes nay.")
    three = mini_case("three", {"z": "North says yes. South says no."}, "z", "South says no.")
    plan = plan_library([one, two, three])
    derived = f"a.{content_hash(two.documents[0].text)[:8]}"
    assert plan.owners == {"one": {"a": "a"}, "two": {derived: "a"}, "three": {"a": "z"}}
    # Another case's "a" is not case two's "a": it keeps a distinct name in two's predictions.
    assert plan.name_for(two, "a") == "shared:a" and plan.name_for(two, derived) == "a"

    for case in (one, two, three):
        monkeypatch.setitem(BY_QUESTION, case.question, case)
    svc, out = FakeService(), tmp_path / "run"
    metrics = run(svc, out, settings, cases=[one, two, three], shared_library=True)
    assert set(svc.docs[SHARED]) == {"a", derived}
    assert metrics.evidence_recall == 1.0 and metrics.grounding == 1.0
    cited = {p["id"]: p["points"][0]["accounts"]["North"]["quotes"][0]["doc"] for p in lines(out)}
    assert cited == {"one": "a", "two": "a", "three": "z"}


def test_a_store_dedup_to_another_id_is_mapped_and_noted(tmp_path: Path, settings: Settings) -> None:
    case = ONE_DOC
    svc = FakeService()
    svc.keep_on_drop = True  # the store already holds the text under another id
    svc.docs[f"eval-{case.id}"] = {"old-copy": case.documents[0].text}
    metrics = run(svc, tmp_path / "run", settings, cases=[case])
    assert metrics.evidence_recall == 1.0 and metrics.grounding == 1.0
    pred = lines(tmp_path / "run")[0]
    cited = {q["doc"] for p in pred["points"] for a in p["accounts"].values() for q in a["quotes"]}
    assert cited == {case.documents[0].id}
    assert pred["notes"] == [f"document {case.documents[0].id!r} was stored as 'old-copy' (same text)"]


def test_a_document_repeated_inside_a_case_is_noted(tmp_path: Path, settings: Settings) -> None:
    text = "North says yes. South says no."
    case = mini_case("twins", {"a": text, "b": text}, "a", "North says yes.")
    plan = plan_library([case])
    assert plan.owners["twins"] == {"a": "a"}
    assert plan.notes["twins"] == ["document 'b' has the same text as 'a': quotes cite 'a'"]


def test_ingest_failure_fails_only_the_cases_holding_it(tmp_path: Path, settings: Settings) -> None:
    svc = FakeService()
    real_ingest = svc.ingest
    owner = ANSWERING[1]  # a document's id is its store id; cases that share the article share it
    bad = owner.documents[0].id
    holders = {c.id for c in CASES if any(d.id == bad for d in c.documents)}

    def ingest(loaded: Loaded, collection: str = "default", doc_id: str | None = None) -> IngestResult:
        if doc_id == bad:
            raise InputError(f"{bad}: no text to index")
        return real_ingest(loaded, collection, doc_id)

    svc.ingest = ingest  # type: ignore[method-assign]
    for shared in (False, True):
        out = tmp_path / f"run-{shared}"
        metrics = run(svc, out, settings, shared_library=shared)
        errors = {p["id"]: p.get("error") for p in lines(out) if p.get("error")}
        why = f"ingest of {bad!r} failed: InputError: {bad}: no text to index"
        assert errors == dict.fromkeys(holders, why)
        assert metrics.errors == len(holders)


# --- the real embedded store ----------------------------------------------------------------------
def test_real_embedded_store_with_a_scripted_answer(tmp_path: Path, settings: Settings) -> None:
    from service.core import Counterpoint
    from service.library.store import open_store

    class Scripted(Counterpoint):
        def ask(
            self, question: str, collection: str = "default", on_progress: Any = None, use_cache: bool = True
        ) -> Comparison:
            stored = {self.store.get(collection, m.id).text: m.id for m in self.documents(collection)}
            return labelled_answer(BY_QUESTION[question], stored)

    @contextmanager
    def open_real(s: Settings) -> Iterator[EvalService]:
        with open_store(s) as store:
            yield Scripted(s, store)

    smoke = load_cases(default_cases_path() / "smoke.jsonl")
    out = tmp_path / "run"
    metrics = run_eval(smoke, out, open_real, settings, progress=False)
    assert metrics.model_dump(include=set(SCORE_NAMES)) == dict.fromkeys(SCORE_NAMES, 1.0)
    assert (out / "store" / "chroma").is_dir() and not settings.data_dir.exists()
    with open_store(settings.model_copy(update={"data_dir": out / "store"})) as store:
        assert {f"eval-{c.id}" for c in smoke} <= set(store.collections())
        case = smoke[0]
        assert store.get(f"eval-{case.id}", case.documents[0].id).text == case.documents[0].text


@pytest.mark.e2e
def test_server_mode_uses_eval_collections_and_drops_them(tmp_path: Path, server_settings: Settings) -> None:
    from service.core import Counterpoint
    from service.library.store import open_store

    class Scripted(Counterpoint):
        def ask(
            self, question: str, collection: str = "default", on_progress: Any = None, use_cache: bool = True
        ) -> Comparison:
            assert collection.startswith("eval-")
            stored = {self.store.get(collection, m.id).text: m.id for m in self.documents(collection)}
            return labelled_answer(BY_QUESTION[question], stored)

    @contextmanager
    def open_real(s: Settings) -> Iterator[EvalService]:
        with open_store(s) as store:
            yield Scripted(s, store)

    smoke = load_cases(default_cases_path() / "smoke.jsonl")
    with open_store(server_settings) as store:
        before = set(store.collections())
    metrics = run_eval(smoke, tmp_path / "run", open_real, server_settings, progress=False)
    assert metrics.evidence_recall == 1.0
    assert not (tmp_path / "run" / "store").exists()
    with open_store(server_settings) as store:
        assert set(store.collections()) == before
