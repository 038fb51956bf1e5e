"""Every benchmark in one run, printed as one markdown table the README can paste (`make bench`).

    .venv/bin/python benchmarks/bench.py [--skip-llm] [--chunks 1000] [--repeats 3]
                                         [--sizes 1000,10000,100000] [--queries 200] [--baseline DIR]

- ingest: chunks/s, and ingest time over the raw embedding time of the same chunks (bench_ingest);
- retrieval: p50/p95 of the product's search at each size, embedded and through `chroma run`, with
  raw Chroma beside it (bench_retrieval);
- the seed answer, cold / warm / cached, and quote-first vs written-out quotes (bench_answer, in a
  fresh process; `--skip-llm` leaves it out).
Numbers are medians over repeats (ingest) or percentiles over queries (retrieval), all from this run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest
import bench_retrieval

HERE = Path(__file__).resolve().parent


def rows_ingest(result: dict[str, Any]) -> list[tuple[str, str, str]]:
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


def rows_retrieval(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for mode, by_size in result.items():
        label = "embedded" if mode == "embedded" else "`chroma run` (HttpClient)"
        for size, paths in by_size.items():
            cells = [
                f"{name} {p50:.1f} / {p95:.1f}" for name, (p50, p95) in paths.items() if name != "build_s"
            ]
            rows.append((f"retrieval, {label}", f"{size:,} chunks, k={bench_retrieval.K}", " · ".join(cells)))
    return rows


def rows_answer(result: dict[str, Any]) -> list[tuple[str, str, str]]:
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
            cell = f"{chain['completion_tokens']:,} / {total:,} (**{ratio:.2f}×**)"
            rows.append(
                (f"completion tokens: quote-first chain / {what}", "quotes by the model's tokenizer", cell)
            )
    return rows


def run_answer(skip_written: bool) -> dict[str, Any]:
    """bench_answer in a fresh process, as `counterpoint ask` would start."""
    args = [sys.executable, str(HERE / "bench_answer.py"), "--json"] + (
        ["--skip-written"] if skip_written else []
    )
    done = subprocess.run(args, capture_output=True, text=True, check=False, env=os.environ.copy())
    if done.returncode != 0:
        raise SystemExit(f"bench_answer failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run everything and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-llm", action="store_true", help="only ingest and retrieval (no model)")
    parser.add_argument("--chunks", type=int, default=1000, help="ingest corpus size (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="ingest repeats (default 3)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="retrieval sizes")
    parser.add_argument("--queries", type=int, default=200, help="queries per retrieval size")
    parser.add_argument("--baseline", help="also time another checkout (see bench_ingest)")
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    print("ingest…", file=sys.stderr)
    rows += rows_ingest(bench_ingest.measure(args.chunks, args.repeats, args.baseline))
    print("retrieval…", file=sys.stderr)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows += rows_retrieval(bench_retrieval.measure(sizes, args.queries, args.baseline))
    if not args.skip_llm:
        print("seed answer (the local model)…", file=sys.stderr)
        rows += rows_answer(run_answer(skip_written=False))
    print(f"\n{os.cpu_count()} cores; retrieval cells are p50 / p95 in ms (product = Store.search)\n")
    print("| benchmark | setting | result |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
