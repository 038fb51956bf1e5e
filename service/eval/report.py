"""The eval report (Markdown), the per-case score plot (PNG) and the summary for the terminal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cases import Case
from .scores import LOSSES, SCORE_NAMES, STAGE_NAMES, CaseScores, Metrics

PLOT = "scores.png"
WORST = 3
SHOWN = 8  # missed quotes / misattributions listed per worst case
EXCERPT = 160

LABELS = {
    "side_f1": "side F1",
    "evidence_recall": "evidence recall",
    "attribution": "attribution",
    "quote_precision": "quote precision",
    "grounding": "grounding",
    "point_alignment": "point alignment",
    "claim_own_quotes": "claim own-quotes",
    "claim_fidelity": "claim fidelity",
    "topic_fidelity": "topic fidelity",
    "abstention": "abstention",
    "stage_retrieved": "retrieved",
    "stage_placed": "placed",
    "stage_attributed": "attributed",
    "stage_lined_up": "lined up",
}
STAGE_LOSS = dict(zip(STAGE_NAMES, LOSSES, strict=True))  # each stage and the loss counted there
DEFINITIONS = """\
**Claim own-quotes** and **claim fidelity** are the claim scores of FORMAT.md: a claim reads closer to its
own side (its quotes in the point, or its labelled claim) than to every other side's, by the share of its
content-word stems found there (a tie counts 0.5). With two labelled points making up half a predicted
point each, a claim's fidelity is its mean over the two. **Topic fidelity** asks the same of a point's
topic against the labelled topics of the case: closer to the topic of the labelled point that makes up
half of it than to any other labelled topic (cases with one labelled point have none).

**Where evidence was lost.** Each labelled evidence quote is checked in order, and counted lost at the
first check it fails:
1. *retrieved*: a candidate statement of the chain (the prediction's `candidates`) or a predicted quote
   overlaps it (same document, spans intersect). A case whose prediction has no `candidates` (an older
   run, a failure, an abstention before retrieval) is left out of this stage; its evidence goes on to
   the next check;
2. *placed*: some predicted quote overlaps it, under any side (else: *placed under no side*);
3. *attributed*: a predicted quote under the matched side overlaps it, as evidence recall counts (else:
   *under the wrong side*);
4. *lined up*: for evidence of a labelled point with two or more sides, a predicted point holds it under
   the matched side together with a matched quote of another side of that labelled point, and that
   labelled point makes up at least half of the predicted point, as in point alignment (else: *not lined
   up*). Evidence of a one-sided point passes once attributed.

A stage's recall is the share of a case's evidence that passed that check and every check before it,
averaged over the cases where it is defined, so *attributed* equals evidence recall. An answerable case
that abstained placed nothing. The losses are counts of evidence quotes, summed over cases."""


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
        state = "error" if r.error else ("yes" if r.abstained else "no") + (", partial" if r.partial else "")
        cells = " | ".join(_num(v, 2) for v in r.values().values())
        lines.append(f"| {_cell(r.id)} | {'yes' if r.answerable else 'no'} | {state} | {cells} |")
    return lines


def _stages(rows: Sequence[CaseScores], metrics: Metrics) -> list[str]:
    lines = [
        f"Of {metrics.evidence} labelled evidence quotes: the share that survives each stage (cumulative, "
        "averaged over cases) and how many were lost there. Definitions at the end.",
        "",
        "| stage | recall | cases counted | lost here | lost as |",
        "|---|---:|---:|---:|---|",
    ]
    for name, loss in STAGE_LOSS.items():
        counted = sum(1 for r in rows if r.stages()[name] is not None)
        recall, lost = _num(getattr(metrics, name)), metrics.lost.get(loss, 0)
        lines.append(f"| {LABELS[name]} | {recall} | {counted} | {lost} | {LOSSES[loss]} |")
    lines += [
        "",
        "| case | evidence | " + " | ".join(LABELS[n] for n in STAGE_NAMES) + " |",
        "|---|---:|" + "---:|" * len(STAGE_NAMES),
    ]
    for r in rows:
        if r.evidence:
            cells = " | ".join(_num(v, 2) for v in r.stages().values())
            lines.append(f"| {_cell(r.id)} | {r.evidence} | {cells} |")
    return lines


def _misplaced(rows: Sequence[CaseScores]) -> list[str]:
    """Labelled evidence under the wrong side or under no side, counted by the rule that put it there
    (side rule ← speaker rule) or by why no rule placed it: the rule that misfires most is on top."""
    wrong, none = Counter[str](), Counter[str]()
    for row in rows:
        for m in row.missed:
            if m.stage == "wrong_side":
                wrong[m.rule or "no trace"] += 1
            elif m.stage == "no_side":
                none[m.rule or "no trace"] += 1
    if not wrong and not none:
        return ["No labelled evidence is under the wrong side or under no side."]
    lines = [
        "Each labelled quote under the wrong side is counted by the rule that chose that side and, after",
        "the arrow, the rule that found the speaker; each under no side, by why no rule placed it.",
        "",
        "| rule | under the wrong side | under no side |",
        "|---|---:|---:|",
    ]
    for rule in sorted(wrong.keys() | none.keys(), key=lambda r: (-(wrong[r] + none[r]), r)):
        lines.append(f"| {_cell(rule)} | {wrong[rule] or ''} | {none[rule] or ''} |")
    return lines


def _cost(rows: Sequence[CaseScores], metrics: Metrics) -> list[str]:
    m = metrics
    lines = [
        "Over the cases that did not fail; latency is the wall-clock time of the question. A retry is",
        f"a failed try that was repeated (a timed-out call counts here, not as a call): {m.retries} in all.",
        "",
        "| | latency (s) | LLM calls | prompt tokens | completion tokens |",
        "|---|---:|---:|---:|---:|",
        f"| median | {_num(m.latency_s_median, 2)} | {_num(m.llm_calls_median, 1)} "
        f"| {_num(m.prompt_tokens_median, 0)} | {_num(m.completion_tokens_median, 0)} |",
        f"| mean | | {_num(m.llm_calls_mean, 1)} | {_num(m.prompt_tokens_mean, 0)} "
        f"| {_num(m.completion_tokens_mean, 0)} |",
        "",
        "| case | latency (s) | LLM calls | retries | prompt tokens | completion tokens |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = f"{r.latency_s:.2f} | {r.llm_calls} | {r.retries} | {r.prompt_tokens} | {r.completion_tokens}"
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
        if r.partial:
            why = "; ".join(r.notes) or "the answer lost part of its model work"
            lines += [f"**Partial:** {_cell(why)}", ""]
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
                lost = f", {LOSSES[m.stage]}" if m.stage in LOSSES else ""
                lines.append(f"- under **{m.side}** ({m.topic}; `{m.doc}`{lost}): “{_excerpt(m.quote)}”")
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
    setup += f", strategy `{run['strategy']}`" if run.get("strategy") else ""
    workers = run.get("workers", 1)
    lines = [
        "# Counterpoint eval",
        "",
        f"{metrics.cases} cases from `{run.get('source') or '?'}`, {setup}, "
        + ("one shared library" if run.get("shared_library") else "one collection per case")
        + (f", {workers} workers (latencies include waiting for the server)" if workers > 1 else "")
        + f"; {metrics.errors} failed, {metrics.partial} partial. Started {run.get('started', '?')}.",
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
        "## Where evidence was lost",
        "",
        *_stages(rows, metrics),
        "",
        "## Misplaced evidence, by rule",
        "",
        *_misplaced(rows),
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
    lines += ["## Definitions", "", DEFINITIONS, ""]
    path = out / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def summary(metrics: Metrics, out: Path) -> str:
    """A few lines for the terminal after a run: each average and where the report is."""
    width = max(len(LABELS[n]) for n in SCORE_NAMES)
    lines = [f"{LABELS[n]:<{width}}  {_num(getattr(metrics, n))}" for n in SCORE_NAMES]
    m = metrics
    kept = " > ".join(f"{LABELS[n]} {_num(getattr(m, n))}" for n in STAGE_NAMES)
    lines.append(f"evidence kept: {kept}")
    lines.append(
        f"{m.cases} cases, {m.errors} failed, {m.partial} partial"
        + (f" (strategy {m.strategy})" if m.strategy else "")
        + f"; median latency {_num(m.latency_s_median, 2)} s, median LLM calls {_num(m.llm_calls_median, 1)}"
        + (f", {m.retries} retries" if m.retries else "")
    )
    lines.append(f"report: {out / 'report.md'}")
    return "\n".join(lines) + "\n"
