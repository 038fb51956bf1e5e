"""Every benchmark in one run, printed as one markdown table the README can paste (`make bench`).

    .venv/bin/python benchmarks/bench.py [--skip-llm] [--chunks 1000] [--repeats 3]
                                         [--sizes 1000,10000,100000] [--queries 200] [--baseline DIR]

- ingest: chunks/s, and ingest time over the raw embedding time of the same chunks (bench_ingest);
- retrieval: p50/p95 of the product's search at each size, embedded and through `chroma run`, with
  raw Chroma beside it (bench_retrieval);
- the seed answer, cold / warm / cached, and quote-first vs written-out quotes (bench_answer, in a
  fresh process; `--skip-llm` leaves it out).
Numbers are medians over repeats (ingest) or percentiles over queries (retrieval), all from this run.
Each section runs guarded: one that fails is a row saying why, the table still prints, and the exit
status is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest
import bench_retrieval

HERE = Path(__file__).resolve().parent
Row = tuple[str, str, str]


def rows_ingest(result: dict[str, Any]) -> list[Row]:
    n, s = result["chunks"], result["seconds"]
    where = f"{n:,} chunks, {result['docs']} documents, median of {result['repeats']}"
    rows = [
        (
            "ingest: split, chunk, embed, write",
            where,
            f"{n / s['ingest']:.1f} chunks/s ({s['ingest']:.1f} s)",
        ),
        ("raw embedding of the same chunks", where, f"{n / s['embed']:.1f} chunks/s ({s['embed']:.1f} s)"),
        ("**ingest / raw embedding**", "same run, interleaved", f"**{result['ratio']:.2f}**"),
    ]
    if "baseline_ratio" in result:
        old = s["baseline ingest"]
        rows.append(
            ("baseline ingest (one document at a time)", where, f"{n / old:.1f} chunks/s ({old:.1f} s)")
        )
        rows.append(
            ("baseline ingest / embedding per document", "same run", f"{result['baseline_ratio']:.2f}")
        )
    return rows


def rows_retrieval(result: dict[str, Any]) -> list[Row]:
    rows = []
    for mode, by_size in result.items():
        label = "embedded" if mode == "embedded" else "`chroma run` (HttpClient)"
        for size, paths in by_size.items():
            cells = [
                f"{name} {p50:.1f} / {p95:.1f}" for name, (p50, p95) in paths.items() if name != "build_s"
            ]
            rows.append((f"retrieval, {label}", f"{size:,} chunks, k={bench_retrieval.K}", " · ".join(cells)))
    return rows


def rows_answer(result: dict[str, Any]) -> list[Row]:
    rows = []
    for run in result["runs"]:
        cached = run["cached_prompt_tokens"]
        prompt = f"{run['prompt_tokens']:,} prompt" + (
            f" ({cached:,} from llama.cpp's cache)" if cached else ""
        )
        rss = f"peak RSS {run['peak_rss_mb'] / 1024:.2f} GB"
        wall = f"{run['wall_s']:.1f} s" if run["wall_s"] >= 1 else f"{run['wall_s'] * 1000:.0f} ms"
        cells = [
            wall,
            f"{run['calls']} calls",
            prompt,
            f"{run['completion_tokens']:,} completion",
            rss,
        ]
        what = {
            "default, first": f"`{result.get('default_strategy', 'rules')}`, first question of the process",
            "default, again": "the same, answer cache off",
            "default, cached": "the same, from the answer cache",
            "model, cold": "`per_statement`, model server not running",
            "model, warm": "`per_statement`, server warm, cache off",
            "model, cached": "`per_statement`, from the answer cache",
        }
        rows.append((f"seed answer, {run['label']}", what[run["label"]], ", ".join(cells)))
    parts = {
        "default": "the default strategy's answers",
        "model": "`per_statement` on the model",
        "quotes": "quotes cited by id vs written out, one call each",
    }
    for part, why in (result.get("failed") or {}).items():
        rows.append((f"seed answer, {part}", parts.get(part, part), f"failed: {cell(why)}"))
    quotes = result.get("quotes")
    if quotes:
        cited, written = quotes["cited"], quotes["written"]
        where = f"one call each, the same {quotes['statements']} statements, question and model"
        cells = [
            f"{x['completion_tokens']:,} tokens ({x['points']} points, {x['quotes']} quotes)"
            for x in (cited, written)
        ]
        rows.append(("completion tokens: quotes cited by id / written out", where, " / ".join(cells)))
        ratio = written["completion_tokens"] / max(cited["completion_tokens"], 1)
        rows.append(
            ("written out / quote-first, one call", "the model picks the answer's size", f"{ratio:.2f}×")
        )
        chain = quotes["chain"]
        if "quote_tokens" in chain:
            total = chain["completion_tokens"] + chain["quote_tokens"]
            what = f"the chain's answer ({chain['quotes']} quotes) with its quotes written out"
            ratio = total / max(chain["completion_tokens"], 1)
            shown = f"{chain['completion_tokens']:,} / {total:,} (**{ratio:.2f}×**)"
            rows.append(
                (f"completion tokens: quote-first chain / {what}", "quotes by the model's tokenizer", shown)
            )
    return rows


def run_answer(skip_written: bool) -> dict[str, Any]:
    """bench_answer in a fresh process, as `counterpoint ask` would start."""
    args = [sys.executable, str(HERE / "bench_answer.py"), "--json"] + (
        ["--skip-written"] if skip_written else []
    )
    done = subprocess.run(args, capture_output=True, text=True, check=False, env=os.environ.copy())
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        last = [line for line in done.stderr.splitlines() if line.strip()][-1:] or [f"exit {done.returncode}"]
        raise RuntimeError(f"bench_answer: {last[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cell(text: str) -> str:
    """`text` on one short line that a markdown table cell can hold."""
    text = " ".join(text.split())
    return (text[:297] + "…" if len(text) > 300 else text).replace("|", "\\|")


def reason(exc: BaseException) -> str:
    """Why a section failed, for its row."""
    return cell(f"{type(exc).__name__}: {exc}")


def section(name: str, setting: str, run: Callable[[], list[Row]]) -> list[Row]:
    """A section's rows, or one row saying why it failed: one failure must not lose the whole table."""
    print(f"{name}…", file=sys.stderr)
    try:
        return run()
    except Exception as exc:  # any failure of one section is that section's row, and the run goes on
        traceback.print_exc(file=sys.stderr)
        return [(name, setting, f"failed: {reason(exc)}")]


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def table(rows: list[Row]) -> str:
    """The markdown table of every row."""
    lines = ["| benchmark | setting | result |", "|---|---|---|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def main() -> None:
    """Run every section, each guarded, and print the table of all that finished."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-llm", action="store_true", help="only ingest and retrieval (no model)")
    parser.add_argument("--chunks", type=int, default=1000, help="ingest corpus size (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="ingest repeats (default 3)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="retrieval sizes")
    parser.add_argument("--queries", type=int, default=200, help="queries per retrieval size")
    parser.add_argument("--baseline", help="also time another checkout (see bench_ingest)")
    args = parser.parse_args()

    sizes = [int(s) for s in args.sizes.split(",")]

    def ingest() -> list[Row]:
        return rows_ingest(bench_ingest.measure(args.chunks, args.repeats, args.baseline))

    def retrieval(mode: str) -> Callable[[], list[Row]]:
        return lambda: rows_retrieval(bench_retrieval.measure(sizes, args.queries, args.baseline, (mode,)))

    retrieved = f"{args.sizes} chunks, {args.queries} queries"
    sections = [("ingest", f"{args.chunks:,} chunks, {args.repeats} repeats", ingest)]
    # Each mode apart: a `chroma run` that fails to start keeps the embedded rows.
    sections += [(f"retrieval, {mode}", retrieved, retrieval(mode)) for mode in bench_retrieval.MODES]
    if not args.skip_llm:
        sections.append(("seed answer", "the local model", lambda: rows_answer(run_answer(False))))
    # A `timeout` or a kill still gets the table of what finished, as Ctrl+C does.
    previous = signal.signal(signal.SIGTERM, _interrupted)
    rows: list[Row] = []
    try:
        for name, setting, run in sections:
            try:
                rows += section(name, setting, run)
            except KeyboardInterrupt:
                rows.append((name, setting, "failed: interrupted (the sections after it did not run)"))
                break
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"\n{os.cpu_count()} cores; retrieval cells are p50 / p95 in ms (product = Store.search)\n")
    print(table(rows))
    failed = [row[0] for row in rows if row[2].startswith("failed: ")]
    if failed:  # the table is out; the exit status still tells a script that something is missing
        raise SystemExit(f"failed: {', '.join(failed)} (see the rows above)")


if __name__ == "__main__":
    main()
