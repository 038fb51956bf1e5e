"""The eval runner: labelled cases in; predictions, scores, metrics, a report and a plot out.

Eval never touches the user's library: with the embedded store it works in `OUT/store`; with a
Chroma server it uses collections named `eval-...` and drops them when done.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, get_args

from ..errors import InputError
from ..library import IngestResult, Loaded, content_hash
from ..models import Comparison
from ..settings import BackendName, Settings
from .cases import Case, Prediction, default_cases_path, load_cases, read_predictions
from .scores import CaseScores, Metrics, aggregate, score_case

PREDICTIONS, SCORES, METRICS, RUN = "predictions.jsonl", "scores.jsonl", "metrics.json", "run.json"
PREFIX = "eval-"
SHARED = "eval-shared"
ProgressFn = Callable[[str, float], None]


class EvalService(Protocol):
    """What the runner needs from `Counterpoint` (tests pass fakes)."""

    def ingest(self, loaded: Loaded, collection: str = ..., doc_id: str | None = ...) -> IngestResult: ...

    def ask(
        self,
        question: str,
        collection: str = ...,
        on_progress: ProgressFn | None = ...,
        use_cache: bool = ...,
    ) -> Comparison: ...

    def drop_collection(self, collection: str) -> None: ...


OpenService = Callable[[Settings], AbstractContextManager[EvalService]]


# --- cases --------------------------------------------------------------------------------------
def collection_name(case_id: str) -> str:
    """`eval-<case id>`, made a valid collection name; altered ids get a hash so they stay distinct."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", case_id)
    if clean == case_id and len(PREFIX) + len(clean) <= 63:
        return PREFIX + clean
    return f"{PREFIX}{clean[:48]}-{content_hash(case_id)[:8]}"


# --- where each document is stored --------------------------------------------------------------
@dataclass
class Library:
    """The planned store ids of the cases' documents, mirroring the store's dedup by content hash."""

    texts: dict[str, str] = field(default_factory=dict)  # store id -> text
    owners: dict[str, dict[str, str]] = field(default_factory=dict)  # case id -> {store id: doc id}
    notes: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # case id -> why its documents failed

    def name_for(self, case: Case, store_id: str) -> str:
        """The id a prediction uses: the case's own doc id, else the library id (prefixed on a clash)."""
        own = self.owners.get(case.id, {})
        if store_id in own:
            return own[store_id]
        return f"shared:{store_id}" if store_id in case.texts() else store_id

    def extra_texts(self, case: Case) -> dict[str, str]:
        """Texts of the library documents that are not the case's own, under their prediction ids."""
        own = self.owners.get(case.id, {})
        return {self.name_for(case, sid): t for sid, t in self.texts.items() if sid not in own}


def plan_library(cases: Sequence[Case]) -> Library:
    """Store ids for every document: its own id, the first copy's id for repeated text, or a derived id
    when another document already holds that id with other text."""
    lib = Library()
    by_hash: dict[str, str] = {}
    for case in cases:
        own = lib.owners.setdefault(case.id, {})
        for doc in case.documents:
            digest = content_hash(doc.text)
            sid = by_hash.get(digest)
            if sid is None:
                sid = doc.id if doc.id not in lib.texts else f"{doc.id}.{digest[:8]}"
                by_hash[digest] = sid
                lib.texts[sid] = doc.text
            if sid in own:
                lib.notes.setdefault(case.id, []).append(
                    f"document {doc.id!r} has the same text as {own[sid]!r}: quotes cite {own[sid]!r}"
                )
                continue
            own[sid] = doc.id
    return lib


def _ingest(service: EvalService, lib: Library, cases: Sequence[Case], collection: str) -> None:
    """Store each planned document once; a failure marks every case that owns the document."""
    stored: set[str] = set()
    for case in cases:
        by_doc = {d.id: d for d in case.documents}
        for sid, doc_id in list(lib.owners[case.id].items()):
            if sid in stored or case.id in lib.errors:
                continue
            doc = by_doc[doc_id]
            try:
                got = service.ingest(
                    Loaded(text=doc.text, source=doc.source, title=doc.title), collection, doc_id=sid
                )
            except Exception as exc:  # recorded on the cases that need the document; the run goes on
                for cid, own in lib.owners.items():
                    if sid in own:
                        lib.errors.setdefault(cid, f"ingest of {own[sid]!r} failed: {_describe(exc)}")
                continue
            stored.add(sid)
            if got.meta.id != sid:  # the store deduplicated against something the plan did not know
                for cid, own in lib.owners.items():
                    if sid in own:
                        own[got.meta.id] = own.pop(sid)
                        lib.notes.setdefault(cid, []).append(
                            f"document {own[got.meta.id]!r} was stored as {got.meta.id!r} (same text)"
                        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


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
    line["stats"] = {
        "latency_s": round(latency_s, 3),
        "llm_calls": st.llm_calls,
        "prompt_tokens": st.prompt_tokens,
        "completion_tokens": st.completion_tokens,
    }
    if lib.notes.get(case.id):
        line["notes"] = lib.notes[case.id]
    return line


def failed_line(case: Case, error: str, latency_s: float) -> dict[str, Any]:
    """A case that raised: not abstained, no sides, the error recorded (FORMAT.md)."""
    stats = {"latency_s": round(latency_s, 3), "llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
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
        for key in ("backend", "model", "shared_library"):
            if before.get(key) != run[key]:
                raise InputError(
                    f"cannot resume {out}: it ran with {key}={before.get(key)!r}, this run has {run[key]!r}"
                )
    kept = {k: v for k, v in read_predictions(path).items() if v[1].error is None}
    _write_text(path, "".join(line + "\n" for line, _ in kept.values()))
    return {k: pred for k, (_, pred) in kept.items()}


@contextmanager
def _bar(enabled: bool, total: int) -> Iterator[Callable[[str, bool], None]]:
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
def _run_case(
    service: EvalService,
    case: Case,
    shared: Library | None,
    remote: bool,
    update: Callable[[str, bool], None],
) -> dict[str, Any]:
    started = time.perf_counter()
    collection = SHARED if shared is not None else collection_name(case.id)
    try:
        if shared is None:
            lib = plan_library([case])
            update(f"{case.id}: storing documents", False)
            service.drop_collection(collection)
            _ingest(service, lib, [case], collection)
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
        return failed_line(case, _describe(exc), time.perf_counter() - started)
    finally:
        if remote and shared is None:
            service.drop_collection(collection)


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
) -> Metrics:
    """Ask every case's question over its documents, write the results to `out`, return the metrics."""
    if limit is not None and limit < 1:
        raise InputError("--limit must be at least 1")
    selected = list(cases[:limit] if limit is not None else cases)
    remote = bool(settings.chroma_host)
    backend = settings.resolved_backend
    run = {
        "source": source,
        "backend": backend,
        "model": settings.model or (settings.local_model if backend == "local" else ""),
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
            if library is not None:
                update("storing the shared library", False)
                service.drop_collection(SHARED)
                _ingest(service, library, selected, SHARED)
            try:
                for case in todo:
                    line = _run_case(service, case, library, remote, update)
                    sink.write(json.dumps(line, ensure_ascii=False) + "\n")
                    sink.flush()  # a line per finished case survives an interruption
                    done[case.id] = Prediction.model_validate(line)
                    update(case.id, True)
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
    metrics = aggregate(rows)
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
    limit: int | None = None,
    shared_library: bool = False,
    resume: bool = False,
    progress: bool = True,
    open_service: OpenService | None = None,
) -> Metrics:
    """`counterpoint eval`: load the cases (default: the project's own), apply --backend, run."""
    path = cases or default_cases_path()
    loaded = load_cases(path)
    if backend is not None and backend not in get_args(BackendName):
        raise InputError(f"unknown backend {backend!r}; use one of {', '.join(get_args(BackendName))}")
    if backend is not None:
        settings = settings.model_copy(update={"backend": backend})
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
    )
