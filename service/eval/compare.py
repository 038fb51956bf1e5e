"""`counterpoint eval --compare`: which averages, stage recalls and per-case scores moved between two runs."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ..errors import InputError
from .scores import COST_NAMES, LOSSES, SCORE_NAMES, STAGE_NAMES, CaseScores, Metrics

MOVED = 1e-9


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _load_run(run: Path) -> tuple[Metrics, dict[str, CaseScores]]:
    metrics_path, scores_path = run / "metrics.json", run / "scores.jsonl"
    if not metrics_path.is_file() or not scores_path.is_file():
        raise InputError(f"{run}: not a finished eval run (no metrics.json or scores.jsonl)")
    try:
        metrics = Metrics.model_validate_json(metrics_path.read_text(encoding="utf-8"))
        rows = [
            CaseScores.model_validate(json.loads(x)) for x in scores_path.read_text("utf-8").splitlines() if x
        ]
    except (ValidationError, json.JSONDecodeError) as exc:
        raise InputError(f"{run}: unreadable eval results ({exc})") from None
    return metrics, {r.id: r for r in rows}


def _delta(a: float | None, b: float | None) -> str | None:
    """`a → b (+d)` when the value moved (or became defined or undefined), else None."""
    if a is None and b is None:
        return None
    if a is not None and b is not None:
        if abs(b - a) <= MOVED:
            return None
        return f"{a:.3f} → {b:.3f} ({b - a:+.3f})"
    return f"{_num(a)} → {_num(b)}"


def _counts(metrics_a: Metrics, metrics_b: Metrics) -> list[str]:
    """Failed and partial cases, and evidence lost per stage, where they changed."""
    pairs = [("failed cases", metrics_a.errors, metrics_b.errors)]
    pairs.append(("partial cases", metrics_a.partial, metrics_b.partial))
    pairs += [
        (f"lost: {label}", metrics_a.lost.get(k, 0), metrics_b.lost.get(k, 0)) for k, label in LOSSES.items()
    ]
    return [f"  {name:<26} {a} → {b} ({b - a:+d})" for name, a, b in pairs if a != b]


def compare(run_a: Path, run_b: Path) -> str:
    """Which averages moved between two eval runs, and case by case which scores moved."""
    metrics_a, rows_a = _load_run(run_a)
    metrics_b, rows_b = _load_run(run_b)
    lines = [
        f"A: {run_a}" + (f" (strategy {metrics_a.strategy})" if metrics_a.strategy else ""),
        f"B: {run_b}" + (f" (strategy {metrics_b.strategy})" if metrics_b.strategy else ""),
        "",
        "Averages:",
    ]
    steady = []
    for name in (*SCORE_NAMES, *STAGE_NAMES, *COST_NAMES):
        moved = _delta(getattr(metrics_a, name), getattr(metrics_b, name))
        if moved:
            lines.append(f"  {name:<26} {moved}")
        else:
            steady.append(name)
    lines += _counts(metrics_a, metrics_b)
    if steady:
        lines.append(f"  unchanged: {', '.join(steady)}")
    lines += ["", "Cases:"]
    unchanged = 0
    for cid in [*rows_a, *(c for c in rows_b if c not in rows_a)]:
        a, b = rows_a.get(cid), rows_b.get(cid)
        if a is None or b is None:
            lines.append(f"  {cid}: only in {'B' if a is None else 'A'}")
            continue
        before, after = {**a.values(), **a.stages()}, {**b.values(), **b.stages()}
        moves = [f"{n} {d}" for n in (*SCORE_NAMES, *STAGE_NAMES) if (d := _delta(before[n], after[n]))]
        if (a.error is None) != (b.error is None):
            moves.append("now fails: " + (b.error or "") if b.error else "no longer fails")
        if a.partial != b.partial:
            moves.append("now partial" if b.partial else "no longer partial")
        if moves:
            lines.append(f"  {cid}:")
            lines += [f"    {m}" for m in moves]
        else:
            unchanged += 1
    lines.append(f"  {unchanged} case(s) unchanged")
    return "\n".join(lines) + "\n"
