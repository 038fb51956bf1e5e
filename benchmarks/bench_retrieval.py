"""Retrieval latency at 1k, 10k and 100k chunks, embedded and through `chroma run`, in one run.

    .venv/bin/python benchmarks/bench_retrieval.py [--sizes 1000,10000,100000] [--queries 200]
                                                   [--modes embedded,server] [--baseline DIR]

Each library is built with synthetic unit vectors (10 chunks per document) through the product's own
write path (`Store.add_many`). Each query is timed three ways, interleaved: the product's search
(`Store.search`, what the chain calls, k=48 as retrieve asks), a raw Chroma query of the same
collection (the floor), and, with `--baseline DIR` (see bench_ingest), the baseline checkout's
`Store.search` over the same client. Percentiles are over the queries of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from bench_ingest import load_baseline

from service.library.embed import DIM
from service.library.store import Store, open_store
from service.models import Chunk, Document, DocumentMeta
from service.settings import Settings

K = 48  # retrieve asks for top_k * OVERFETCH = 12 * 4
PER_DOC = 10
WRITE = 5000  # chunks per add_many call while building
MODES = ("embedded", "server")
BASELINE_MAX = 10_000  # the baseline's search filters on every committed id: seconds per query beyond


@contextlib.contextmanager
def chroma_server(root: Path) -> Iterator[tuple[str, int]]:
    """A `chroma run` on a free loopback port with its data in `root`; stopped on exit."""
    chroma = Path(sys.executable).parent / "chroma"
    exe = str(chroma) if chroma.exists() else shutil.which("chroma")
    if not exe:
        raise SystemExit("the `chroma` CLI (installed by chromadb) is missing")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = (root / "chroma.log").open("wb")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"},
    )  # fmt: skip
    try:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise SystemExit(f"chroma run did not start; see {root / 'chroma.log'}")
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build(store: Store, collection: str, n_chunks: int, rng: np.random.Generator) -> None:
    """`n_chunks` chunks in documents of PER_DOC, written through the product's write path."""
    body = "Officials said the negotiations would resume next week after a pause. " * 11  # ~800 chars
    for first in range(0, n_chunks, WRITE):
        items = []
        for d in range(first // PER_DOC, min(first + WRITE, n_chunks) // PER_DOC):
            text = body * PER_DOC
            step = len(body)
            doc_id = f"doc{d}"
            chunks = [
                Chunk(doc_id=doc_id, index=i, start=i * step, end=(i + 1) * step, text=body)
                for i in range(PER_DOC)
            ]
            meta = DocumentMeta(id=doc_id, title=doc_id, content_hash=f"{d:064x}", n_chunks=PER_DOC)
            items.append((Document(meta=meta, text=text), chunks, unit_vectors(rng, PER_DOC)))
        results = store.add_many(collection, items)
        assert all(getattr(r, "created", False) for r in results), results[:3]


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def time_queries(fns: dict[str, Callable[[list[float]], Any]], queries: np.ndarray) -> dict[str, list[float]]:
    """Milliseconds per query for each function, interleaved (rotating which goes first)."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for q, vector in enumerate(queries):
        order = names[q % len(names) :] + names[: q % len(names)]
        for name in order:
            started = time.perf_counter()
            fns[name](vector.tolist())
            out[name].append((time.perf_counter() - started) * 1000)
    return out


def measure_mode(
    settings: Settings, sizes: list[int], n_queries: int, baseline: Any | None
) -> dict[int, dict[str, tuple[float, float]]]:
    """p50/p95 per size and path, for one store mode."""
    rng = np.random.default_rng(0)
    out: dict[int, dict[str, tuple[float, float]]] = {}
    with open_store(settings) as store:
        for size in sizes:
            collection = f"bench{size}"
            store.drop(collection)
            started = time.perf_counter()
            build(store, collection, size, rng)
            built_s = time.perf_counter() - started
            raw = store._chunks(collection, create=False)  # the floor: Chroma alone, no commit check
            fns: dict[str, Callable[[list[float]], Any]] = {
                "product": lambda v, c=collection: store.search(c, v, K),
                "raw chroma": lambda v, raw=raw: raw.query(
                    query_embeddings=[v], n_results=K, include=["metadatas", "documents", "distances"]
                ),
            }
            if baseline is not None and size <= BASELINE_MAX:
                old = baseline.library.store.Store(store._client)
                fns["baseline"] = lambda v, c=collection, old=old: old.search(c, v, K)
            queries = unit_vectors(rng, n_queries + 10)
            time_queries(fns, queries[:10])  # warm up: the index is loaded on first use
            timings = time_queries(fns, queries[10:])
            out[size] = {name: percentiles(ms) for name, ms in timings.items()}
            out[size]["build_s"] = (built_s, 0.0)
            store.drop(collection)
    return out


def measure(
    sizes: list[int], n_queries: int, baseline: str | None = None, modes: tuple[str, ...] = MODES
) -> dict[str, Any]:
    """Each of `modes`: embedded (a PersistentClient in a temp dir) and a `chroma run` server."""
    old = load_baseline(baseline)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cp-bench-retrieval-") as tmp:
        root = Path(tmp)
        if "embedded" in modes:
            results["embedded"] = measure_mode(
                Settings(data_dir=root / "data", chroma_host=None), sizes, n_queries, old
            )
        if "server" in modes:
            (root / "server").mkdir()
            with chroma_server(root / "server") as (host, port):
                server = Settings(data_dir=root / "unused", chroma_host=host, chroma_port=port)
                results["server"] = measure_mode(server, sizes, n_queries, old)
    return results


def main() -> None:
    """Run and print one line per mode, size and path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="chunk counts (default 1k,10k,100k)")
    parser.add_argument("--queries", type=int, default=200, help="queries per size (default 200)")
    parser.add_argument("--baseline", help="a directory holding another checkout as service_before")
    parser.add_argument("--modes", default=",".join(MODES), help="embedded,server (default both)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = measure(sizes, args.queries, args.baseline, tuple(args.modes.split(",")))
    for mode, by_size in results.items():
        for size, paths in by_size.items():
            built = paths.pop("build_s")[0]
            cells = "  ".join(
                f"{name} p50 {p50:6.2f} p95 {p95:6.2f} ms" for name, (p50, p95) in paths.items()
            )
            print(f"{mode:<8} {size:>7} chunks (built in {built:5.1f} s)  {cells}")


if __name__ == "__main__":
    main()
