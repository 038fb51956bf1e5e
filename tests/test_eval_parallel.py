"""The eval runner's --workers, --strategy and partial answers, with scripted services (no LLM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_fakes import CASES, ONE_DOC, FakeService, labelled_answer, lines, run

from service.errors import InputError
from service.eval import compare
from service.eval.cases import Case
from service.eval.evaluate import eval_command
from service.models import Comparison
from service.settings import Settings

SOME = CASES[:6]


def remote(settings: Settings) -> Settings:
    """Settings for a backend that may take parallel requests (the service is scripted anyway)."""
    return settings.model_copy(update={"backend": "compatible", "model": "scripted"})


def without_latency(out: Path) -> list[dict[str, Any]]:
    got = lines(out)
    for line in got:
        line["stats"].pop("latency_s")
    return got


def most_at_once(spans: list[tuple[str, float, float]]) -> int:
    """The largest number of questions in flight at one moment."""
    events = sorted([(t0, 1) for _, t0, _ in spans] + [(t1, -1) for _, _, t1 in spans])
    now = top = 0
    for _, step in events:
        now += step
        top = max(top, now)
    return top


# --- workers --------------------------------------------------------------------------------------
def test_workers_overlap_and_write_the_same_predictions_in_case_order(
    tmp_path: Path, settings: Settings
) -> None:
    one = FakeService()
    run(one, tmp_path / "one", remote(settings), cases=SOME)
    many = FakeService()
    many.delay = lambda case: 0.3 if SOME.index(case) % 2 == 0 else 0.05  # odd cases finish first
    metrics = run(many, tmp_path / "many", remote(settings), cases=SOME, workers=3)
    assert most_at_once(many.spans) >= 2
    assert [cid for cid, _, _ in many.spans] != [c.id for c in SOME]  # they finished out of order ...
    assert [p["id"] for p in lines(tmp_path / "many")] == [
        c.id for c in SOME
    ]  # ... and were written in order
    assert without_latency(tmp_path / "many") == without_latency(tmp_path / "one")
    assert sorted(col for _, col in many.asked) == sorted(f"eval-{c.id}" for c in SOME)  # one collection each
    assert metrics.cases == len(SOME) and metrics.errors == 0
    assert json.loads((tmp_path / "many" / "run.json").read_text())["workers"] == 3
    assert "3 workers" in (tmp_path / "many" / "report.md").read_text(encoding="utf-8")


def test_workers_with_a_shared_library(tmp_path: Path, settings: Settings) -> None:
    svc = FakeService()
    svc.delay = lambda case: 0.05
    metrics = run(svc, tmp_path / "run", remote(settings), cases=SOME, workers=4, shared_library=True)
    assert {col for _, col in svc.asked} == {"eval-shared"}
    assert metrics.evidence_recall == 1.0 and metrics.grounding == 1.0


def test_the_embedded_model_takes_one_worker(tmp_path: Path, settings: Settings) -> None:
    assert settings.resolved_backend == "local"
    with pytest.raises(
        InputError, match="--workers 2 needs a model server that answers requests in parallel"
    ):
        run(FakeService(), tmp_path / "run", settings, workers=2)
    with pytest.raises(InputError, match="at least 1"):
        run(FakeService(), tmp_path / "run", remote(settings), workers=0)
    assert not (tmp_path / "run" / "predictions.jsonl").exists()


def test_an_interrupted_parallel_run_keeps_finished_cases_and_resumes(
    tmp_path: Path, settings: Settings
) -> None:
    def answer(case: Case, svc: FakeService, col: str) -> Comparison:
        if case.id == SOME[2].id:
            raise KeyboardInterrupt
        return labelled_answer(case, svc.by_text(col))

    out, first = tmp_path / "run", FakeService(answer)
    first.delay = lambda case: 0.3  # the last case would start long after the interruption
    with pytest.raises(KeyboardInterrupt):
        run(first, out, remote(settings), cases=SOME, workers=2)
    written = [p["id"] for p in lines(out)]
    order = [c.id for c in SOME]
    assert written == sorted(written, key=order.index)  # in case order, each once
    assert order[:2] == written[:2] and SOME[2].id not in written
    assert len(first.asked) < len(SOME)  # the cases not started were cancelled

    again = FakeService()
    metrics = run(again, out, remote(settings), cases=SOME, workers=2, resume=True)
    assert sorted(cid for cid, _ in again.asked) == sorted(set(order) - set(written))
    assert sorted(p["id"] for p in lines(out)) == sorted(order) and metrics.errors == 0


def test_resume_with_another_worker_count(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    run(FakeService(), out, remote(settings), cases=SOME, limit=2)
    again = FakeService()
    metrics = run(again, out, remote(settings), cases=SOME, workers=3, resume=True)
    assert sorted(cid for cid, _ in again.asked) == sorted(c.id for c in SOME[2:])  # any start order
    assert [p["id"] for p in lines(out)] == [c.id for c in SOME] and metrics.cases == len(SOME)


# --- strategy -------------------------------------------------------------------------------------
def test_strategy_is_set_for_the_run_and_recorded(tmp_path: Path, settings: Settings) -> None:
    svc, out = FakeService(), tmp_path / "run"
    metrics = eval_command(None, out, settings, backend="fake", strategy="batch", limit=2, progress=False,
                           open_service=svc.opener())  # fmt: skip
    assert svc.settings[0].strategy == "batch" and svc.settings[0].resolved_strategy == "batch"
    assert metrics.strategy == "batch"
    assert json.loads((out / "metrics.json").read_text())["strategy"] == "batch"
    assert json.loads((out / "run.json").read_text())["strategy"] == "batch"
    assert "strategy `batch`" in (out / "report.md").read_text(encoding="utf-8")
    assert "(strategy batch)" in compare(out, out).splitlines()[0]
    unknown = "unknown strategy 'clever'; use one of rules, refine, per_statement, batch"
    with pytest.raises(InputError, match=unknown):
        eval_command(None, tmp_path / "other", settings, strategy="clever", open_service=svc.opener())


def test_without_a_strategy_the_backends_default_is_recorded(tmp_path: Path, settings: Settings) -> None:
    metrics = eval_command(None, tmp_path / "run", remote(settings), limit=1, progress=False,
                           open_service=FakeService().opener())  # fmt: skip
    assert metrics.strategy == "refine"  # the default for a remote model


def test_resume_refuses_another_strategy(tmp_path: Path, settings: Settings) -> None:
    out, svc = tmp_path / "run", FakeService()
    eval_command(
        None, out, settings, strategy="per_statement", limit=1, progress=False, open_service=svc.opener()
    )
    with pytest.raises(InputError, match="strategy='per_statement', this run has 'batch'"):
        eval_command(None, out, settings, strategy="batch", limit=2, resume=True, open_service=svc.opener())


# --- partial answers and candidates ---------------------------------------------------------------
def test_partial_answers_are_counted_and_shown(tmp_path: Path, settings: Settings) -> None:
    def answer(case: Case, svc: FakeService, col: str) -> Comparison:
        result = labelled_answer(case, svc.by_text(col))
        if case.id == ONE_DOC.id:
            result.partial, result.notes = True, ["the topic call for point 2 timed out"]
        return result

    out = tmp_path / "run"
    cases = [ONE_DOC, *(c for c in SOME if c.id != ONE_DOC.id)][:3]
    metrics = run(FakeService(answer), out, settings, cases=cases)
    assert metrics.partial == 1 and metrics.errors == 0
    line = next(p for p in lines(out) if p["id"] == ONE_DOC.id)
    assert line["partial"] is True and line["notes"] == ["the topic call for point 2 timed out"]
    assert all("partial" not in p for p in lines(out) if p["id"] != ONE_DOC.id)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "0 failed, 1 partial" in report and f"| {ONE_DOC.id} | yes | no, partial |" in report


def test_compare_shows_partial_cases_and_stages_moving(tmp_path: Path, settings: Settings) -> None:
    def fewer(case: Case, svc: FakeService, col: str) -> Comparison:
        result = labelled_answer(case, svc.by_text(col))
        if case.id == ONE_DOC.id:
            result.partial, result.points, result.candidates = True, result.points[:1], result.candidates[:1]
        return result

    a, b = tmp_path / "a", tmp_path / "b"
    run(FakeService(), a, settings, cases=[ONE_DOC])
    run(FakeService(fewer), b, settings, cases=[ONE_DOC])
    text = compare(a, b)
    assert "partial cases              0 → 1 (+1)" in text
    assert "stage_retrieved            1.000 → " in text and "lost: not retrieved" in text
    block = text.split(f"{ONE_DOC.id}:")[1]
    assert "stage_retrieved 1.000 → " in block and "now partial" in block
