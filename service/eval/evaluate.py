"""The eval runner: labelled cases in; predictions, scores, metrics, a report and a plot out.

Eval never touches the user's library: with the embedded store it works in `OUT/store`; with a
Chroma server it uses collections named `eval-...` and drops them when done.

With `workers` > 1 the cases run on that many threads over one service: each case has its own
collection (the shared library is stored before any case starts), and the lines are written in case
order whatever order the cases finish in. Only backends whose server takes parallel requests may
use more than one worker (see `check_workers`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from ..errors import InputError
from ..models import Comparison, Why
from ..settings import BackendName, Settings, Strategy
from .cases import Case, Prediction, PredStats, default_cases_path, load_cases, read_predictions
from .scores import CaseScores, Metrics, aggregate, score_case
from .store import (
    SHARED,
    EvalService,
    Library,
    OpenService,
    collection_name,
    describe_error,
    ingest_planned,
    plan_library,
)

PREDICTIONS, SCORES, METRICS, RUN = "predictions.jsonl", "scores.jsonl", "metrics.json", "run.json"
RESUME_KEYS = ("backend", "model", "shared_library", "strategy")
Update = Callable[[str, bool], None]


# --- predictions --------------------------------------------------------------------------------
def prediction_line(case: Case, comparison: Comparison, lib: Library, latency_s: float) -> dict[str, Any]:
    """A FORMAT.md prediction from a Comparison, with doc ids mapped back to the case's own."""
    line: dict[str, Any] = {"id": case.id, "abstained": comparison.abstained}
    if comparison.reason:
        line["reason"] = comparison.reason
    line["sides"] = [{"name": s.name, "speakers": list(s.speakers)} for s in comparison.sides]
    line["points"] = [
        {
            "topic": p.topic,
            "kind": p.kind,
            "accounts": {
                side: {
                    "claim": a.claim,
                    "quotes": [
                        {
                            "doc": lib.name_for(case, q.doc),
                            "start": q.start,
                            "end": q.end,
                            "text": q.text,
                            **{k: v for k in ("title", "outlet", "date", "url") if (v := getattr(q, k))},
                            **_why(q.why),
                        }
                        for q in a.quotes
                    ],
                }
                for side, a in p.accounts.items()
            },
        }
        for p in comparison.points
    ]
    st = comparison.stats
    line["stats"] = PredStats(
        latency_s=round(latency_s, 3), llm_calls=st.llm_calls, prompt_tokens=st.prompt_tokens,
        completion_tokens=st.completion_tokens, retries=st.retries,
    ).model_dump()  # fmt: skip
    if comparison.partial:
        line["partial"] = True
    if notes := [*lib.notes.get(case.id, []), *comparison.notes]:
        line["notes"] = notes
    if comparison.candidates:  # none reported: retrieval is unknown to the stage diagnostics
        line["candidates"] = [
            {"doc": lib.name_for(case, c.doc), "start": c.start, "end": c.end, **_why(c.why)}
            for c in comparison.candidates
        ]
    return line


def _why(why: Why | None) -> dict[str, Any]:
    """The trace's filled fields, under "why" (nothing when there is none)."""
    found = why.model_dump(exclude_defaults=True) if why is not None else {}
    return {"why": found} if found else {}


def failed_line(case: Case, error: str, latency_s: float) -> dict[str, Any]:
    """A case that raised: not abstained, no sides, the error recorded (FORMAT.md)."""
    stats = PredStats(latency_s=round(latency_s, 3)).model_dump()
    return {"id": case.id, "abstained": False, "error": error, "sides": [], "points": [], "stats": stats}


# --- output directory ---------------------------------------------------------------------------
def _write_text(path: Path, text: str) -> None:
    """Replace a file in one step, so an interruption leaves the old or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _start(out: Path, run: dict[str, Any], resume: bool) -> dict[str, Prediction]:
    """Check the output dir; on resume keep the finished cases (dropping failed ones, to run again)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / PREDICTIONS
    if not resume:
        if path.exists():
            raise InputError(f"{path} exists: pass --resume to continue that run, or choose another --out")
        return {}
    if (out / RUN).exists():
        before = json.loads((out / RUN).read_text(encoding="utf-8"))
        for key in RESUME_KEYS:
            if key in before and before[key] != run[key]:
                raise InputError(
                    f"cannot resume {out}: it ran with {key}={before.get(key)!r}, this run has {run[key]!r}"
                )
    kept = {k: v for k, v in read_predictions(path).items() if v[1].error is None}
    _write_text(path, "".join(line + "\n" for line, _ in kept.values()))
    return {k: pred for k, (_, pred) in kept.items()}


@contextmanager
def _bar(enabled: bool, total: int) -> Iterator[Update]:
    """A rich progress bar on stderr; yields `update(description, advance)`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not enabled) as progress:
        task = progress.add_task("eval", total=total)

        def update(description: str, advance: bool = False) -> None:
            progress.update(task, description=description[:70], advance=1 if advance else 0)

        yield update


# --- the run ------------------------------------------------------------------------------------
def check_workers(workers: int, backend: str) -> None:
    """Refuse a worker count the backend cannot serve: the embedded model takes one request at a time."""
    if workers < 1:
        raise InputError("--workers must be at least 1")
    if workers > 1 and backend == "local":
        raise InputError(
            f"--workers {workers} needs a model server that answers requests in parallel (backend openai "
            "or compatible); the embedded model answers one request at a time on this machine's cores, "
            "so more workers would only queue behind it and inflate every case's latency. "
            "Use --workers 1 (the default) with the local backend."
        )


def _run_case(
    service: EvalService,
    case: Case,
    shared: Library | None,
    remote: bool,
    update: Update,
) -> dict[str, Any]:
    started = time.perf_counter()
    collection = SHARED if shared is not None else collection_name(case.id)
    try:
        if shared is None:
            lib = plan_library([case])
            update(f"{case.id}: storing documents", False)
            service.drop_collection(collection)
            ingest_planned(service, lib, [case], collection)
        else:
            lib = shared
        if case.id in lib.errors:
            return failed_line(case, lib.errors[case.id], time.perf_counter() - started)
        asked = time.perf_counter()
        comparison = service.ask(
            case.question,
            collection,
            on_progress=lambda message, _fraction: update(f"{case.id}: {message}", False),
            use_cache=False,  # eval measures the model, not the answer cache
        )
        return prediction_line(case, comparison, lib, time.perf_counter() - asked)
    except Exception as exc:  # one failing case must not stop the run; the error goes in its line
        return failed_line(case, describe_error(exc), time.perf_counter() - started)
    finally:
        if remote and shared is None:
            service.drop_collection(collection)


def _run_cases(
    todo: Sequence[Case],
    run_one: Callable[[Case], dict[str, Any]],
    write: Callable[[Case, dict[str, Any]], None],
    workers: int,
) -> None:
    """Run every case, `workers` at a time; `write` gets the lines in case order, in this thread.

    On an interruption the cases not started are cancelled, the running ones finish (the service
    stays open under them) and every finished line is written, so --resume skips them."""
    if workers == 1:
        for case in todo:
            write(case, run_one(case))
        return
    stop = threading.Event()  # set by the first failure, in its own thread, so no new case starts

    def guarded(case: Case) -> dict[str, Any]:
        if stop.is_set():
            raise CancelledError  # too late to start: like a case the main thread cancelled
        try:
            return run_one(case)
        except BaseException:
            stop.set()
            raise

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval")
    futures = [pool.submit(guarded, case) for case in todo]
    written = 0
    try:
        for case, future in zip(todo, futures, strict=True):
            write(case, future.result())
            written += 1
    except BaseException:
        stop.set()
        for future in futures:
            future.cancel()
        try:
            pool.shutdown(wait=True)
        finally:
            for case, future in zip(todo[written:], futures[written:], strict=True):
                if future.done() and not future.cancelled() and future.exception() is None:
                    write(case, future.result())
        raise
    pool.shutdown()


def run_eval(
    cases: Sequence[Case],
    out: Path,
    open_service: OpenService,
    settings: Settings,
    *,
    limit: int | None = None,
    shared_library: bool = False,
    resume: bool = False,
    progress: bool = True,
    source: str = "",
    workers: int = 1,
) -> Metrics:
    """Ask every case's question over its documents, write the results to `out`, return the metrics."""
    if limit is not None and limit < 1:
        raise InputError("--limit must be at least 1")
    backend = settings.resolved_backend
    check_workers(workers, backend)
    selected = list(cases[:limit] if limit is not None else cases)
    remote = bool(settings.chroma_host)
    run = {
        "source": source,
        "backend": backend,
        "model": settings.model or (settings.local_model if backend == "local" else ""),
        "strategy": settings.resolved_strategy,
        "workers": workers,
        "shared_library": shared_library,
        "store": f"chroma server {settings.chroma_host}" if remote else str(out / "store"),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    done = _start(out, run, resume)
    _write_text(out / RUN, json.dumps(run, indent=2) + "\n")  # so an interrupted run can be resumed
    todo = [c for c in selected if c.id not in done]
    library = plan_library(selected) if shared_library else None
    if not remote:
        settings = settings.model_copy(update={"data_dir": out / "store"})
    if todo:
        with (
            open_service(settings) as service,
            _bar(progress, len(todo)) as update,
            (out / PREDICTIONS).open("a", encoding="utf-8") as sink,
        ):

            def run_one(case: Case) -> dict[str, Any]:
                line = _run_case(service, case, library, remote, update)
                update(case.id, True)
                return line

            def write(case: Case, line: dict[str, Any]) -> None:
                sink.write(json.dumps(line, ensure_ascii=False) + "\n")
                sink.flush()  # a line per finished case survives an interruption
                done[case.id] = Prediction.model_validate(line)

            if library is not None:
                update("storing the shared library", False)
                service.drop_collection(SHARED)
                ingest_planned(service, library, selected, SHARED)
            try:
                _run_cases(todo, run_one, write, workers)
                update("done", False)
            finally:
                if remote and library is not None:
                    service.drop_collection(SHARED)
    return finish(out, selected, done, library, {**run, "finished": datetime.now(UTC).isoformat()})


def finish(
    out: Path,
    cases: Sequence[Case],
    predictions: dict[str, Prediction],
    library: Library | None,
    run: dict[str, Any],
) -> Metrics:
    """Score the predictions and write scores.jsonl, metrics.json, run.json, report.md and the plot."""
    from .report import write_report

    scored = [c for c in cases if c.id in predictions]
    rows: list[CaseScores] = [
        score_case(c, predictions[c.id], library.extra_texts(c) if library else None) for c in scored
    ]
    metrics = aggregate(rows).model_copy(update={"strategy": run.get("strategy", "")})
    _write_text(out / SCORES, _jsonl([r.model_dump() for r in rows]))
    _write_text(out / METRICS, json.dumps(metrics.model_dump(), indent=2) + "\n")
    unscored = sorted(set(predictions) - {c.id for c in cases})
    _write_text(out / RUN, json.dumps({**run, "unscored": unscored}, indent=2) + "\n")
    write_report(out, scored, rows, metrics, run, unscored)
    return metrics


def eval_command(
    cases: Path | None,
    out: Path,
    settings: Settings,
    *,
    backend: str | None = None,
    strategy: str | None = None,
    limit: int | None = None,
    shared_library: bool = False,
    resume: bool = False,
    workers: int = 1,
    progress: bool = True,
    open_service: OpenService | None = None,
) -> Metrics:
    """`counterpoint eval`: load the cases (default: the project's own), apply the options, run."""
    path = cases or default_cases_path()
    loaded = load_cases(path)
    if backend is not None and backend not in get_args(BackendName):
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(get_args(BackendName))}")
    if strategy is not None and strategy not in get_args(Strategy):
        raise InputError(f"unknown strategy {strategy!r}; use one of {', '.join(get_args(Strategy))}")
    update = {"backend": backend, "strategy": strategy}
    settings = settings.model_copy(update={k: v for k, v in update.items() if v is not None})
    if open_service is None:
        from ..core import open_service as real

        open_service = real
    return run_eval(
        loaded,
        out,
        open_service,
        settings,
        limit=limit,
        shared_library=shared_library,
        resume=resume,
        progress=progress,
        source=str(path),
        workers=workers,
    )
