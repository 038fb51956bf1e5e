"""Ingest throughput next to the raw embedding time of the very same chunks, measured in one run.

    .venv/bin/python benchmarks/bench_ingest.py [--chunks 1000] [--repeats 3] [--baseline DIR] [--profile]

The corpus is built from the seed article (../shared/seed) when present, else generated; every
document is distinct, so none is skipped as already stored. Each repeat ingests into a fresh
temporary data dir, in the groups `counterpoint ingest` uses. "embed" is the raw model time of the
same chunks, one call per group (the embedder sorts by length inside a call). The ratio
ingest / embed shows what the pipeline adds on top of the model: sentence splitting, chunking,
hashing and the Chroma writes.

`--baseline DIR` also times another checkout's ingest, side by side in the same run: DIR holds that
checkout's `service` package renamed to `service_before`, e.g.
    git archive HEAD service | tar -x -C /tmp/b && mv /tmp/b/service /tmp/b/service_before
It ingests one document at a time, as that code did, and is compared with the raw embedding of each
document's chunks alone (its own denominator then: one call per document).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Before chromadb is imported: nothing here may call out.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.library import IngestItem, Loaded, in_groups, ingest_many
from service.library.chunk import chunks as make_chunks
from service.library.chunk import segments
from service.library.embed import Embedder, default_embedder
from service.library.store import open_store
from service.settings import Settings

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_2d08d98d966ae262.txt"
WORDS = ("talks", "border", "security", "agreement", "delegation", "ceasefire", "envoy", "officials")


def base_text() -> str:
    """The seed article, or a generated one of similar length when the shared folder is absent."""
    if SEED.is_file():
        return SEED.read_text(encoding="utf-8")
    rng = random.Random(0)
    paragraphs = []
    for _ in range(12):
        sentences = [" ".join(rng.choices(WORDS, k=rng.randint(12, 28))).capitalize() + "." for _ in range(3)]
        paragraphs.append(" ".join(sentences))
    return "Generated article\n\n" + "\n\n".join(paragraphs)


def corpus(min_chunks: int, settings: Settings) -> list[str]:
    """Distinct documents, made by rotating the base text's paragraphs and numbering them."""
    paragraphs = [p for p in base_text().split("\n\n") if p.strip()]
    docs: list[str] = []
    total = 0
    while total < min_chunks:
        i = len(docs)
        k = i % len(paragraphs)
        rotated = paragraphs[k:] + paragraphs[:k]
        text = f"Report {i}: round {i // len(paragraphs) + 1} of the coverage.\n\n" + "\n\n".join(rotated)
        docs.append(text)
        total += len(make_chunks(f"d{i}", text, settings.chunk_size, settings.chunk_overlap))
    return docs


class Run:
    """Seconds per measurement in one repeat, each in a fresh data dir."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def time(self, name: str, fn: Callable[[], Any]) -> None:
        started = time.perf_counter()
        fn()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def run_once(docs: list[str], embedder: Embedder, flip: int, baseline: Any | None = None) -> dict[str, float]:
    """One repeat. The measurements are interleaved group by group (rotating which goes first), so
    that load from other processes on the machine lands on all of them alike."""
    run = Run()
    items = [IngestItem(Loaded(text=t, source=f"doc{i}")) for i, t in enumerate(docs)]
    groups = [[g for g in group if isinstance(g, IngestItem)] for group in in_groups(items)]
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "new", chroma_host=None)
        with open_store(settings, embedder) as store, _baseline_store(baseline, Path(tmp), embedder) as old:
            for g, group in enumerate(groups):
                per_doc = [[c.text for c in make_chunks("d", it.loaded.text, 800, 120)] for it in group]
                texts = [t for doc_texts in per_doc for t in doc_texts]
                steps: list[tuple[str, Callable[[], Any]]] = [
                    (
                        "ingest",
                        lambda group=group: _check(ingest_many(store, "bench", _fresh(group), settings)),
                    ),
                    ("embed", lambda texts=texts: embedder.embed(texts)),
                ]
                if old is not None:
                    steps += [
                        ("baseline ingest", lambda group=group: _ingest_old(baseline, old, group)),
                        ("embed per document", lambda per_doc=per_doc: [embedder.embed(t) for t in per_doc]),
                    ]
                turn = (g + flip) % len(steps)
                for name, fn in steps[turn:] + steps[:turn]:
                    run.time(name, fn)
    return run.seconds


def _fresh(group: list[IngestItem]) -> list[IngestItem]:
    """The group, with the sentence splitter's memory cleared: ingest must split as if for the first time
    (the benchmark split these texts already, to count and to embed them alone)."""
    segments.cache_clear()
    return group


def _check(results: list[Any]) -> None:
    assert all(getattr(r, "created", False) for r in results), f"a document was not added: {results}"


class _baseline_store:
    """The baseline checkout's store in its own data dir, or nothing."""

    def __init__(self, baseline: Any | None, root: Path, embedder: Embedder) -> None:
        self.baseline, self.root, self.embedder, self.cm = baseline, root, embedder, None

    def __enter__(self) -> Any:
        if self.baseline is None:
            return None
        settings = self.baseline.settings.Settings(data_dir=self.root / "old", chroma_host=None)
        self.cm = self.baseline.library.store.open_store(settings, self.embedder)
        return (self.cm.__enter__(), settings)

    def __exit__(self, *exc: Any) -> None:
        if self.cm is not None:
            self.cm.__exit__(*exc)


def _ingest_old(baseline: Any, old: tuple[Any, Any], group: list[IngestItem]) -> None:
    store, settings = old
    for item in group:
        loaded = baseline.library.Loaded(text=item.loaded.text, source=item.loaded.source)
        assert baseline.library.ingest(store, "bench", loaded, settings).created


def load_baseline(path: str | None) -> Any | None:
    """The baseline checkout's `service_before` package (see the module docstring)."""
    if not path:
        return None
    sys.path.insert(0, str(Path(path).resolve()))
    package = importlib.import_module("service_before")
    for name in ("settings", "library", "library.store"):
        importlib.import_module(f"service_before.{name}")
    return package


def measure(min_chunks: int = 1000, repeats: int = 3, baseline: str | None = None) -> dict[str, Any]:
    """Medians over `repeats` of every measurement, plus the corpus size."""
    settings = Settings(chroma_host=None)
    docs = corpus(min_chunks, settings)
    n_chunks = sum(len(make_chunks("d", t, settings.chunk_size, settings.chunk_overlap)) for t in docs)
    embedder = default_embedder()
    old = load_baseline(baseline)
    run_once(docs[:4], embedder, 0, old)  # warm up: imports, first ONNX run, Chroma start
    runs = [run_once(docs, embedder, r, old) for r in range(repeats)]
    medians = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    ratios = [r["ingest"] / r["embed"] for r in runs]
    out: dict[str, Any] = {"docs": len(docs), "chunks": n_chunks, "repeats": repeats, "runs": runs}
    out.update(seconds=medians, ratio=statistics.median(ratios), ratios=ratios)
    if old is not None:
        out["baseline_ratios"] = [r["baseline ingest"] / r["embed per document"] for r in runs]
        out["baseline_ratio"] = statistics.median(out["baseline_ratios"])
    return out


def main() -> None:
    """Run the benchmark and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000, help="at least this many chunks (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement (default 3)")
    parser.add_argument("--baseline", help="a directory holding another checkout as service_before")
    parser.add_argument("--profile", action="store_true", help="also cProfile one ingest and print the top")
    args = parser.parse_args()
    result = measure(args.chunks, args.repeats, args.baseline)
    n = result["chunks"]
    print(f"cpu count      {os.cpu_count()}")
    print(f"documents      {result['docs']} ({'seed article' if SEED.is_file() else 'generated'} variants)")
    print(f"chunks         {n} (size 800, overlap 120)")
    print(f"repeats        {args.repeats} (medians below)")
    for name, seconds in result["seconds"].items():
        runs = ", ".join(f"{r[name]:.2f}" for r in result["runs"])
        print(f"{name:<20} {seconds:8.2f} s {n / seconds:7.1f} chunks/s  runs {runs}")
    print(f"ingest / embed       {result['ratio']:8.2f}   (per run {_fmt(result['ratios'])})")
    if "baseline_ratio" in result:
        ratios = _fmt(result["baseline_ratios"])
        print(f"baseline / embed per document {result['baseline_ratio']:.2f} (per run {ratios})")
    if args.profile:
        settings = Settings(chroma_host=None)
        profiler = cProfile.Profile()
        profiler.enable()
        run_once(corpus(args.chunks, settings), default_embedder(), 0)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
