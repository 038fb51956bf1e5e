"""The eval report (Markdown), the per-case score plot (PNG) and the comparison of two runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InputError
from .scores import COST_NAMES, SCORE_NAMES, Case, CaseScores, Metrics

PLOT = "scores.png"
WORST = 3
SHOWN = 8  # missed quotes / misattributions listed per worst case
EXCERPT = 160
MOVED = 1e-9

LABELS = {
    "side_f1": "side F1",
    "evidence_recall": "evidence recall",
    "attribution": "attribution",
    "quote_precision": "quote precision",
    "grounding": "grounding",
    "point_alignment": "point alignment",
    "abstention": "abstention",
}


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def overall(row: CaseScores) -> float:
    """Mean of a case's defined scores: how the worst cases are ranked."""
    values = [v for v in row.values().values() if v is not None]
    return sum(values) / len(values)


# --- plot -----------------------------------------------------------------------------------------
def plot_scores(rows: Sequence[CaseScores], path: Path) -> Path:
    """A heatmap of every case's scores (grey where undefined), written as a PNG."""
    import numpy as np
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure  # no pyplot: no global backend, no display needed

    grid = np.ma.masked_invalid(
        np.array(
            [[np.nan if v is None else v for v in r.values().values()] for r in rows], dtype=float
        ).reshape(len(rows), len(SCORE_NAMES))
    )
    cmap = ListedColormap(
        ["#d73027", "#f46d43", "#fdae61", "#fee08b", "#d9ef8b", "#a6d96a", "#66bd63", "#1a9850"]
    ).with_extremes(bad="#dddddd")
    fig = Figure(figsize=(2.2 + 1.1 * len(SCORE_NAMES), 1.6 + 0.38 * max(len(rows), 1)), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(
        range(len(SCORE_NAMES)),
        [LABELS[n] for n in SCORE_NAMES],
        rotation=30,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(len(rows)), [r.id for r in rows])
    for i, row in enumerate(rows):
        for j, value in enumerate(row.values().values()):
            ax.text(j, i, "–" if value is None else f"{value:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title("Per-case scores (grey: undefined)")
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.savefig(path, dpi=110)
    return path


# --- report ---------------------------------------------------------------------------------------
def _averages(rows: Sequence[CaseScores], metrics: Metrics) -> list[str]:
    lines = ["| score | average | cases counted |", "|---|---:|---:|"]
    for name in SCORE_NAMES:
        counted = sum(1 for r in rows if r.values()[name] is not None)
        lines.append(f"| {LABELS[name]} | {_num(getattr(metrics, name))} | {counted} |")
    return lines


def _per_case(rows: Sequence[CaseScores]) -> list[str]:
    head = "| case | answerable | abstained | " + " | ".join(LABELS[n] for n in SCORE_NAMES) + " |"
    lines = [head, "|---|---|---|" + "---:|" * len(SCORE_NAMES)]
    for r in rows:
        state = "error" if r.error else ("yes" if r.abstained else "no")
        cells = " | ".join(_num(v, 2) for v in r.values().values())
        lines.append(f"| {_cell(r.id)} | {'yes' if r.answerable else 'no'} | {state} | {cells} |")
    return lines


def _cost(rows: Sequence[CaseScores], metrics: Metrics) -> list[str]:
    m = metrics
    lines = [
        "Over the cases that did not fail; latency is the wall-clock time of the question.",
        "",
        "| | latency (s) | LLM calls | prompt tokens | completion tokens |",
        "|---|---:|---:|---:|---:|",
        f"| median | {_num(m.latency_s_median, 2)} | {_num(m.llm_calls_median, 1)} "
        f"| {_num(m.prompt_tokens_median, 0)} | {_num(m.completion_tokens_median, 0)} |",
        f"| mean | | {_num(m.llm_calls_mean, 1)} | {_num(m.prompt_tokens_mean, 0)} "
        f"| {_num(m.completion_tokens_mean, 0)} |",
        "",
        "| case | latency (s) | LLM calls | prompt tokens | completion tokens |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = f"{r.latency_s:.2f} | {r.llm_calls} | {r.prompt_tokens} | {r.completion_tokens}"
        lines.append(f"| {_cell(r.id)} | {cells} |")
    return lines


def _worst(cases: dict[str, Case], rows: Sequence[CaseScores]) -> list[str]:
    lines: list[str] = []
    for r in sorted(rows, key=lambda r: (overall(r), r.id))[:WORST]:
        scores = ", ".join(f"{LABELS[n]} {_num(v, 2)}" for n, v in r.values().items() if v is not None)
        lines += [
            f"### {r.id} (mean {overall(r):.2f})",
            "",
            f"Question: {cases[r.id].question}",
            "",
            scores,
            "",
        ]
        if r.error:
            lines += [f"**Failed:** `{_cell(r.error)}`", ""]
        elif r.abstained != (not r.answerable):
            lines += [
                "**Abstained** on an answerable case."
                if r.abstained
                else "**Answered** an unanswerable case.",
                "",
            ]
        if r.missed:
            lines.append(f"Missed evidence ({len(r.missed)}):")
            for m in r.missed[:SHOWN]:
                lines.append(f"- under **{m.side}** ({m.topic}; `{m.doc}`): “{_excerpt(m.quote)}”")
            if len(r.missed) > SHOWN:
                lines.append(f"- … and {len(r.missed) - SHOWN} more")
            lines.append("")
        if r.misattributed:
            lines.append(f"Wrong attributions ({len(r.misattributed)}):")
            for w in r.misattributed[:SHOWN]:
                lines.append(
                    f"- “{_excerpt(w.text)}” (`{w.doc}`) placed under **{w.placed_under}**, labelled under "
                    + ", ".join(f"**{s}**" for s in w.labelled_under)
                )
            if len(r.misattributed) > SHOWN:
                lines.append(f"- … and {len(r.misattributed) - SHOWN} more")
            lines.append("")
    return lines


def write_report(
    out: Path,
    cases: Sequence[Case],
    rows: Sequence[CaseScores],
    metrics: Metrics,
    run: dict[str, Any],
    unscored: Sequence[str] = (),
) -> Path:
    """Write `report.md` and the plot it shows; returns the report's path."""
    plot_scores(rows, out / PLOT)
    setup = f"backend `{run.get('backend')}`" + (f", model `{run['model']}`" if run.get("model") else "")
    lines = [
        "# Counterpoint eval",
        "",
        f"{metrics.cases} cases from `{run.get('source') or '?'}`, {setup}, "
        + ("one shared library" if run.get("shared_library") else "one collection per case")
        + f"; {metrics.errors} failed. Started {run.get('started', '?')}.",
        "",
        "## Averages",
        "",
        *_averages(rows, metrics),
        "",
        "Scores as FORMAT.md defines them; a score undefined for a case (say, no quotes) is left out.",
        "",
        f"![per-case scores]({PLOT})",
        "",
        "## Per case",
        "",
        *_per_case(rows),
        "",
        "## Cost per case",
        "",
        *_cost(rows, metrics),
        "",
        f"## The {min(WORST, len(rows))} worst cases",
        "",
        *_worst({c.id: c for c in cases}, rows),
    ]
    if unscored:
        lines += [
            "## Not scored",
            "",
            "Predictions for cases outside this run's cases: " + ", ".join(unscored),
            "",
        ]
    path = out / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def summary(metrics: Metrics, out: Path) -> str:
    """A few lines for the terminal after a run: each average and where the report is."""
    width = max(len(LABELS[n]) for n in SCORE_NAMES)
    lines = [f"{LABELS[n]:<{width}}  {_num(getattr(metrics, n))}" for n in SCORE_NAMES]
    m = metrics
    lines.append(
        f"{m.cases} cases, {m.errors} failed; median latency {_num(m.latency_s_median, 2)} s, "
        f"median LLM calls {_num(m.llm_calls_median, 1)}"
    )
    lines.append(f"report: {out / 'report.md'}")
    return "\n".join(lines) + "\n"


# --- compare --------------------------------------------------------------------------------------
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


def compare(run_a: Path, run_b: Path) -> str:
    """Which averages moved between two eval runs, and case by case which scores moved."""
    metrics_a, rows_a = _load_run(run_a)
    metrics_b, rows_b = _load_run(run_b)
    lines = [f"A: {run_a}", f"B: {run_b}", "", "Averages:"]
    steady = []
    for name in (*SCORE_NAMES, *COST_NAMES):
        moved = _delta(getattr(metrics_a, name), getattr(metrics_b, name))
        if moved:
            lines.append(f"  {name:<24} {moved}")
        else:
            steady.append(name)
    if steady:
        lines.append(f"  unchanged: {', '.join(steady)}")
    lines += ["", "Cases:"]
    unchanged = 0
    for cid in [*rows_a, *(c for c in rows_b if c not in rows_a)]:
        a, b = rows_a.get(cid), rows_b.get(cid)
        if a is None or b is None:
            lines.append(f"  {cid}: only in {'B' if a is None else 'A'}")
            continue
        moves = [f"{n} {d}" for n in SCORE_NAMES if (d := _delta(a.values()[n], b.values()[n]))]
        if (a.error is None) != (b.error is None):
            moves.append("now fails: " + (b.error or "") if b.error else "no longer fails")
        if moves:
            lines.append(f"  {cid}:")
            lines += [f"    {m}" for m in moves]
        else:
            unchanged += 1
    lines.append(f"  {unchanged} case(s) unchanged")
    return "\n".join(lines) + "\n"
