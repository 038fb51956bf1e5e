"""Questions at once through the page's HTTP API, with an ingest in the middle: throughput, latency
(as the caller sees it, queueing included, and as the service measured it) and whether every answer
came back whole and to its own question.

    .venv/bin/python benchmarks/bench_load.py [--backend fake|local|openai|compatible] [--questions 20]

The page runs in this process on a free loopback port with its usual queue (one answer at a time,
an ingest beside it), over a fresh temporary data dir. The articles are the seed article
(../shared/seed) when present, else an invented one; each question differs, so none is cached.
The embedded model (`--backend local`) takes minutes per handful of questions on two cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# Before chromadb and gradio are imported: nothing here may call out.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_2d08d98d966ae262.txt"
INVENTED = (
    "Ferry timetable row in Ottervale\n\n"
    "The Ottervale ferry company and the Island Residents' Association clashed on Monday over the winter "
    "timetable. Company director Lise Holm said the late sailing had to go because too few people used "
    "it. “The last boat runs empty most nights,” Holm said. Association chair Per Vang said the company "
    "had never counted the passengers properly. “Nurses take that boat home after their shifts,” Vang "
    "said. According to Vang, the company wants to sell one of its two ferries."
)
ANGLES = ("say", "claim", "blame each other for", "dispute", "argue about")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100)."""
    ranked = sorted(values)
    return ranked[max(math.ceil(p / 100 * len(ranked)) - 1, 0)] if ranked else float("nan")


def call(url: str, api: str, data: list[Any]) -> tuple[str, Any, float]:
    """(event, payload, seconds) of one named-endpoint call over plain HTTP."""
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=3600) as client:
        event_id = client.post(f"gradio_api/call/{api}", json={"data": data}).json()["event_id"]
        event, payload = "", None
        with client.stream("GET", f"gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ").strip()
                elif line.startswith("data: ") and event in ("complete", "error"):
                    payload = json.loads(line.removeprefix("data: "))
                    break
    return event, payload, time.monotonic() - started


def questions(title: str, n: int) -> list[str]:
    """n distinct questions about the article (distinct, so the answer cache never serves one)."""
    subject = title.rstrip(".?!")[:100]
    return [
        f"What do the sides {ANGLES[i % len(ANGLES)]} in “{subject}” (reading {i + 1})?" for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="fake", choices=["fake", "local", "openai", "compatible"])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--no-ingest", action="store_true", help="questions only")
    args = parser.parse_args()
    # A SIGTERM (from `timeout`, say) becomes an exit, so that the embedded model server is stopped
    # on the way out instead of being left running without its parent.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    data_dir = Path(tempfile.mkdtemp(prefix="counterpoint-bench-load-"))
    os.environ["COUNTERPOINT_DATA_DIR"] = str(data_dir)
    os.environ["COUNTERPOINT_BACKEND"] = args.backend

    from service.core import open_service
    from service.library import Loaded
    from service.models import Comparison
    from service.page.ui import Page, launch_options
    from service.settings import Settings

    text = SEED.read_text(encoding="utf-8") if SEED.is_file() else INVENTED
    title = text.strip().splitlines()[0]
    second = "\n\n".join(reversed(text.split("\n\n")))  # a distinct document of the same size
    settings = Settings()
    asked = questions(title, args.questions)
    with open_service(settings) as service:
        service.ingest(Loaded(text=text, source="bench.txt", title=title))
        demo = Page(service, export_dir=data_dir / "exports").build()
        opts = {
            **launch_options(settings),
            "server_port": free_port(),
            "prevent_thread_lock": True,
            "quiet": True,
        }
        _, url, _ = demo.queue(default_concurrency_limit=1).launch(**opts)
        # Not `with`: on an early exit the pool must not wait for calls to a page that is closing.
        pool = ThreadPoolExecutor(max_workers=args.questions + 1)
        try:
            if args.backend == "local":
                service.backend()  # start the model server before the clock does
            started = time.monotonic()
            asks = [pool.submit(call, url, "ask", [q, "default"]) for q in asked]
            ingest = None
            if not args.no_ingest:
                time.sleep(0.2)
                ingest = pool.submit(call, url, "ingest", [second, "", None, "default", "Second", "", ""])
            results = []
            for i, f in enumerate(asks, 1):  # progress as answers arrive: a long run is not silent
                results.append(f.result())
                print(f"answered {i}/{len(asks)} after {time.monotonic() - started:.0f} s", flush=True)
            added = ingest.result() if ingest else None
            wall = time.monotonic() - started
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            demo.close()
        docs = len(service.documents())

    latencies, service_s, calls, failed, mixed = [], [], [], 0, 0
    for question, (event, payload, seconds) in zip(asked, results, strict=True):
        if event != "complete":
            failed += 1
            continue
        answer = Comparison.model_validate(payload[0])
        mixed += answer.question != question
        latencies.append(seconds)
        service_s.append(answer.stats.latency_s)
        calls.append(answer.stats.llm_calls)
    print(f"backend            {args.backend} ({settings.resolved_strategy})")
    answered = f"{len(latencies)} answered, {failed} failed, {mixed} mixed up"
    print(f"questions          {args.questions} at once: {answered}")
    print(f"wall time          {wall:.1f} s")
    print(f"throughput         {len(latencies) / wall * 60:.1f} answers/min")
    if latencies:
        p50, p95 = statistics.median(latencies), percentile(latencies, 95)
        worst = max(latencies)
        print(f"latency (caller)   p50 {p50:.1f} s, p95 {p95:.1f} s, max {worst:.1f} s (queueing included)")
        s50, s95 = statistics.median(service_s), percentile(service_s, 95)
        print(f"latency (service)  p50 {s50:.2f} s, p95 {s95:.2f} s per answer")
        print(f"LLM calls          {statistics.mean(calls):.1f} per answer")
    if added is not None:
        event, payload, seconds = added
        whole = event == "complete" and payload[0]["n_chars"] == len(second)
        print(
            f"ingest meanwhile   {'whole' if whole else 'FAILED'} in {seconds:.1f} s; {docs} documents stored"
        )


if __name__ == "__main__":
    main()
