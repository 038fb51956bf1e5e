"""`make bench` prints the table of every section that finished; a failed section's row says why."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench

from service.errors import ModelError

RETRIEVAL = {"product": (4.2, 7.9), "raw chroma": (3.1, 5.0), "build_s": (1.0, 0.0)}
RUN = {"label": "default, first", "wall_s": 0.52, "calls": 0, "prompt_tokens": 0,
       "cached_prompt_tokens": None, "completion_tokens": 0, "peak_rss_mb": 900.0}  # fmt: skip


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """bench.main() with `args`; the table's lines (it exits non-zero, after the table, if a row failed)."""
    monkeypatch.setattr(sys, "argv", ["bench.py", *args])
    with pytest.raises(SystemExit, match="failed: "):
        bench.main()
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]


def test_a_failed_section_is_a_row_saying_why_and_the_others_still_print(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ingest(*args: Any) -> dict[str, Any]:
        raise ModelError("the model's output (local: m) hit the token limit | cut off")

    def retrieval(sizes: list[int], queries: int, baseline: Any, modes: tuple[str, ...]) -> dict[str, Any]:
        if modes == ("server",):
            raise RuntimeError("chroma run did not start")
        return {"embedded": {1000: dict(RETRIEVAL)}}

    monkeypatch.setattr(bench.bench_ingest, "measure", ingest)
    monkeypatch.setattr(bench.bench_retrieval, "measure", retrieval)
    lines = run_main(monkeypatch, capsys, "--skip-llm", "--sizes", "1000")
    assert lines[:2] == ["| benchmark | setting | result |", "|---|---|---|"]
    ingest_row, embedded_row, server_row = lines[2:]
    assert ingest_row.startswith("| ingest | 1,000 chunks, 3 repeats | failed: ModelError: ")
    assert "hit the token limit \\| cut off" in ingest_row  # a pipe in the reason keeps the table's shape
    assert (
        embedded_row
        == "| retrieval, embedded | 1,000 chunks, k=48 | product 4.2 / 7.9 · raw chroma 3.1 / 5.0 |"
    )
    assert server_row == (
        "| retrieval, server | 1000 chunks, 200 queries | failed: RuntimeError: chroma run did not start |"
    )


def test_a_failed_part_of_the_seed_answer_keeps_the_runs_that_finished(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench.bench_ingest, "measure", lambda *a: {"boom": 1})  # rows_ingest fails on it
    monkeypatch.setattr(bench.bench_retrieval, "measure", lambda *a: {"embedded": {1000: dict(RETRIEVAL)}})
    why = "ModelError: the model's output (local: qwen) hit the token limit: cut off at its budget of 4000"
    answer = {"runs": [dict(RUN)], "default_strategy": "rules", "failed": {"quotes": why}}
    monkeypatch.setattr(bench, "run_answer", lambda skip_written: answer)
    lines = run_main(monkeypatch, capsys, "--sizes", "1000")
    assert lines[2] == "| ingest | 1,000 chunks, 3 repeats | failed: KeyError: 'chunks' |"
    assert any(line.startswith("| seed answer, default, first | `rules`") for line in lines)
    assert (
        f"| seed answer, quotes | quotes cited by id vs written out, one call each | failed: {why} |" in lines
    )


def test_a_failed_bench_answer_process_is_its_sections_row(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Done:
        returncode, stdout = 1, ""
        stderr = "Traceback (most recent call last):\n  ...\nSystemExit: no seed articles in /x/seed\n"

    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: Done())
    assert bench.section(
        "seed answer", "the local model", lambda: bench.rows_answer(bench.run_answer(False))
    ) == [
        (
            "seed answer",
            "the local model",
            "failed: RuntimeError: bench_answer: SystemExit: no seed articles in /x/seed",
        )
    ]


def test_an_interrupted_run_still_prints_what_finished(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def retrieval(sizes: list[int], queries: int, baseline: Any, modes: tuple[str, ...]) -> dict[str, Any]:
        if modes == ("server",):
            raise KeyboardInterrupt  # Ctrl+C, or the SIGTERM of a `timeout`
        return {"embedded": {1000: dict(RETRIEVAL)}}

    monkeypatch.setattr(bench.bench_ingest, "measure", lambda *a: {"boom": 1})
    monkeypatch.setattr(bench.bench_retrieval, "measure", retrieval)
    monkeypatch.setattr(bench, "run_answer", lambda skip_written: pytest.fail("ran after the interrupt"))
    lines = run_main(monkeypatch, capsys, "--sizes", "1000")
    assert [line.split(" | ")[0] for line in lines[2:]] == [
        "| ingest",
        "| retrieval, embedded",
        "| retrieval, server",
    ]
    assert lines[-1].endswith("| failed: interrupted (the sections after it did not run) |")
