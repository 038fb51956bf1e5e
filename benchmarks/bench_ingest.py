"""Ingest throughput next to the raw embedding time of the very same chunks, measured in one run.

    .venv/bin/python benchmarks/bench_ingest.py [--chunks 1000] [--repeats 3] [--profile]

The corpus is built from the seed article (../shared/seed) when present, else generated; every
document is distinct, so none is skipped as already stored. Each repeat ingests into a fresh
temporary data dir. The ratio ingest_time / embed_time shows what the pipeline adds on top of
the model: sentence splitting, chunking, hashing and the Chroma writes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Before chromadb is imported: nothing here may call out.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.library.chunk import chunks as make_chunks
from service.library.embed import Embedder, default_embedder
from service.library.ingest import Loaded, ingest
from service.settings import Settings
from service.library.store import open_store

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


def run_once(
    docs: list[str], texts_per_doc: list[list[str]], embedder: Embedder, flip: int
) -> tuple[float, float]:
    """Seconds to ingest every document into a fresh data dir, and to embed the same chunks alone.

    The two are interleaved document by document (alternating which goes first), so that load from
    other processes on the machine lands on both measurements alike.
    """
    ingest_s = embed_s = 0.0
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), chroma_host=None)
        with open_store(settings, embedder) as store:
            for i, (text, texts) in enumerate(zip(docs, texts_per_doc, strict=True)):
                for step in (0, 1) if (i + flip) % 2 else (1, 0):
                    started = time.perf_counter()
                    if step == 0:
                        result = ingest(store, "bench", Loaded(text=text, source=f"doc{i}"), settings)
                        ingest_s += time.perf_counter() - started
                        assert result.created, "a document was skipped as already stored"
                    else:
                        embedder.embed(texts)  # one call per document, as ingest makes
                        embed_s += time.perf_counter() - started
    return ingest_s, embed_s


def main() -> None:
    """Run the benchmark and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000, help="at least this many chunks (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement (default 3)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one ingest and print the top")
    args = parser.parse_args()

    settings = Settings(chroma_host=None)
    docs = corpus(args.chunks, settings)
    texts_per_doc = [
        [c.text for c in make_chunks(f"d{i}", t, settings.chunk_size, settings.chunk_overlap)]
        for i, t in enumerate(docs)
    ]
    n_chunks = sum(len(t) for t in texts_per_doc)
    embedder = default_embedder()
    run_once(docs[:2], texts_per_doc[:2], embedder, 0)  # warm up: imports, first ONNX run, Chroma start

    runs = [run_once(docs, texts_per_doc, embedder, r) for r in range(args.repeats)]
    ingest_times, embed_times = [i for i, _ in runs], [e for _, e in runs]
    ingest_s, embed_s = statistics.median(ingest_times), statistics.median(embed_times)
    print(f"cpu count      {os.cpu_count()}")
    print(f"documents      {len(docs)} ({'seed article' if SEED.is_file() else 'generated'} variants)")
    print(f"chunks         {n_chunks} (size {settings.chunk_size}, overlap {settings.chunk_overlap})")
    print(f"repeats        {args.repeats} (medians below)")
    print(f"ingest         {ingest_s:8.2f} s {n_chunks / ingest_s:7.1f} chunks/s  runs {_fmt(ingest_times)}")
    print(f"embed only     {embed_s:8.2f} s {n_chunks / embed_s:7.1f} chunks/s  runs {_fmt(embed_times)}")
    ratios = [i / e for i, e in runs]
    print(f"ingest / embed {ingest_s / embed_s:8.2f}   (per run {_fmt(ratios)})")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_once(docs, texts_per_doc, embedder, 0)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
