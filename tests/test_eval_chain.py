"""The eval over the real chain: every own case with the rule-based fake model, and the smoke cases
on the embedded model through the `counterpoint eval` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need_local_model

from service.eval.cases import default_cases_path, load_cases
from service.eval.evaluate import eval_command
from service.eval.scores import SCORE_NAMES
from service.settings import Settings

CASES = load_cases(default_cases_path())


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_own_case_runs_through_the_chain_with_the_fake_model(
    tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "run"
    metrics = eval_command(None, out, settings, backend="fake", progress=False)
    predictions = _lines(out / "predictions.jsonl")
    assert [p["id"] for p in predictions] == [c.id for c in CASES]
    assert metrics.errors == 0 and not any(p.get("error") for p in predictions)
    assert metrics.grounding == 1.0  # quotes are verbatim by construction, whatever the model says
    texts = {(c.id, d.id): d.text for c in CASES for d in c.documents}
    for p in predictions:
        for point in p["points"]:
            for account in point["accounts"].values():
                for q in account["quotes"]:
                    assert texts[(p["id"], q["doc"])][q["start"] : q["end"]] == q["text"]
    written = json.loads((out / "metrics.json").read_text())
    assert set(SCORE_NAMES) <= set(written)
    assert (out / "report.md").read_text().startswith("# Counterpoint eval")
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The user's own library is never touched by an eval.
    assert not (settings.data_dir / "chroma").exists()


@pytest.mark.e2e
@pytest.mark.llm
def test_smoke_cases_on_the_embedded_model(tmp_path: Path) -> None:
    need_local_model()
    smoke = default_cases_path() / "smoke.jsonl"
    out = tmp_path / "smoke"
    done = subprocess.run(
        [sys.executable, "-m", "service", "eval", "--cases", str(smoke), "--out", str(out),
         "--strategy", "per_statement"],  # the local default (rules) calls no model
        env=dict(os.environ), capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    predictions = _lines(out / "predictions.jsonl")
    assert len(predictions) == len(load_cases(smoke)) and metrics["errors"] == 0
    assert metrics["grounding"] == 1.0
    # The model words each point of the rules' answer: one call per point, none when the rules abstain
    # (they hear only one side of the ferry case: the model's placement, which found the other, lost
    # to the rules on the dev set and was taken out).
    answered = [p for p in predictions if not p["abstained"]]
    assert answered and all(1 <= p["stats"]["llm_calls"] <= 6 for p in answered)
    assert all(p["stats"]["llm_calls"] == 0 for p in predictions if p["abstained"])
    assert metrics["side_f1"] >= 0.5 and metrics["claim_own_quotes"] >= 0.5
    assert "smoke_ferry_fares" in (out / "report.md").read_text()


def _without_latency(path: Path) -> list[dict]:
    rows = _lines(path)
    for row in rows:
        row["stats"].pop("latency_s")
    return rows


def test_parallel_workers_give_the_same_predictions_over_the_real_chain(
    tmp_path: Path, settings: Settings
) -> None:
    # Two answerable cases and one unanswerable, each alone and then three at a time.
    picked = [c for c in CASES if c.answerable][:2] + [c for c in CASES if not c.answerable][:1]
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(c.model_dump_json() + "\n" for c in picked), encoding="utf-8")
    one = eval_command(path, tmp_path / "one", settings, backend="fake", progress=False)
    many = eval_command(path, tmp_path / "many", settings, backend="fake", workers=3, progress=False)
    assert _without_latency(tmp_path / "many" / "predictions.jsonl") == _without_latency(
        tmp_path / "one" / "predictions.jsonl"
    )
    assert one.errors == many.errors == 0
    assert one.model_dump(exclude={"latency_s_median"}) == many.model_dump(exclude={"latency_s_median"})


@pytest.mark.parametrize("strategy", ["batch", "rules"])
def test_each_strategy_runs_through_the_chain(tmp_path: Path, settings: Settings, strategy: str) -> None:
    out = tmp_path / strategy
    metrics = eval_command(None, out, settings, backend="fake", strategy=strategy, limit=2, progress=False)
    predictions = _lines(out / "predictions.jsonl")
    assert metrics.errors == 0 and metrics.strategy == strategy and metrics.grounding in (None, 1.0)
    assert json.loads((out / "run.json").read_text())["strategy"] == strategy
    # The chain reports the statements it considered: the stage diagnostics know what was retrieved.
    assert all(p.get("candidates") for p in predictions if p["points"])
