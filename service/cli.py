"""The `counterpoint` command line. Errors become one line on stderr and a non-zero exit, here only."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from .errors import CounterpointError, InputError
from .settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Line up each side's competing account of a dispute, point by point, quoted verbatim.",
)

Collection = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]
T = TypeVar("T")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        _fail(f"bad setting {where}: {first['msg']}", 2)
        raise  # unreachable; keeps type checkers happy


def _run(fn: Callable[[], T]) -> T:
    """Run a command body; typed errors become one clear line and exit status 1."""
    try:
        return fn()
    except CounterpointError as exc:
        _fail(str(exc))
        raise
    except KeyboardInterrupt:
        _fail("interrupted", 130)
        raise


@app.command()
def ingest(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories, http(s) URLs, or - for stdin.")],
    collection: Collection = "default",
    doc_id: Annotated[
        str | None, typer.Option("--id", help="Document id (default: from the content hash).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: from the document).")] = None,
    outlet: Annotated[str | None, typer.Option(help="Outlet or publisher.")] = None,
    date: Annotated[
        str | None,
        typer.Option(help="Publication date, YYYY-MM-DD (default: from the page's metadata, else none)."),
    ] = None,
) -> None:
    """Add documents to a collection. Re-ingesting the same text is a no-op."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from . import library as ing
    from .core import open_service

    settings = _settings()
    if doc_id and len(inputs) != 1:
        _fail("--id needs exactly one input")

    def sources() -> list[tuple[str, Callable[[], ing.Loaded]]]:
        items: list[tuple[str, Callable[[], ing.Loaded]]] = []
        for raw in inputs:
            if raw == "-":
                items.append(("stdin", lambda: ing.load_stream(sys.stdin.buffer, "stdin", settings)))
            elif raw.startswith(("http://", "https://")):
                items.append((raw, lambda u=raw: ing.load_url(u, settings)))
            else:
                for p in ing.expand_paths([Path(raw)]):
                    items.append((str(p), lambda p=p: ing.load_file(p, settings)))
        return items

    def body() -> int:
        given_date = ing.check_date(date) if date is not None else None
        items = sources()
        if doc_id and len(items) != 1:
            raise InputError("--id needs exactly one document")

        def loaded() -> Iterator[ing.IngestItem | CounterpointError]:
            for _, load in items:
                try:
                    yield ing.IngestItem(load(), doc_id, title, outlet, given_date)
                except CounterpointError as exc:  # reported in its place, after the group
                    yield exc

        failures = 0
        with (
            open_service(settings) as service,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=_stderr_console(),
                transient=True,
                disable=not sys.stderr.isatty(),
            ) as progress,
        ):
            # Documents go in groups: one embedding pass and a few Chroma writes for many files.
            for group in ing.in_groups(loaded()):
                good = [g for g in group if isinstance(g, ing.IngestItem)]
                names = good[0].loaded.source[-40:] if len(good) == 1 else f"{len(good)} documents"
                task = progress.add_task(f"embedding {names}", total=None)
                try:
                    outcomes = iter(
                        service.ingest_many(
                            good,
                            collection,
                            on_progress=lambda done, total, t=task: progress.update(
                                t, completed=done, total=total
                            ),
                        )
                    )
                finally:
                    progress.remove_task(task)
                for entry in group:
                    outcome = entry if isinstance(entry, CounterpointError) else next(outcomes)
                    if isinstance(outcome, CounterpointError):
                        failures += 1
                        # soft_wrap: rich would otherwise break a long message over several lines.
                        progress.console.print(
                            f"error: {outcome}", markup=False, highlight=False, soft_wrap=True
                        )
                        continue
                    m = outcome.meta
                    verb = "added" if outcome.created else "unchanged (already stored)"
                    typer.echo(f"{m.id}\t{verb}\t{m.n_chunks} chunks\t{m.title}")
        return failures

    if _run(body):
        raise typer.Exit(1)


@app.command("list")
def list_(collection: Collection = "default") -> None:
    """List the documents in a collection."""
    from .core import open_service

    settings = _settings()

    def body() -> None:
        with open_service(settings) as service:
            docs = service.documents(collection)
        if not docs:
            typer.echo(f"collection {collection!r} is empty", err=True)
        for m in docs:
            typer.echo(f"{m.id}\t{m.n_chunks} chunks\t{m.n_chars} chars\t{m.outlet}\t{m.date}\t{m.title}")

    _run(body)


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(help="Document id.")],
    collection: Collection = "default",
    text: Annotated[
        bool, typer.Option("--text", help="Print exactly the stored text, nothing else.")
    ] = False,
) -> None:
    """Show a document's metadata and text."""
    from .core import open_service

    settings = _settings()

    def body() -> None:
        with open_service(settings) as service:
            doc = service.document(doc_id, collection)
        if text:
            sys.stdout.buffer.write(doc.text.encode("utf-8"))
            sys.stdout.buffer.flush()
            return
        for key, value in doc.meta.model_dump().items():
            typer.echo(f"{key}: {value}")
        typer.echo("")
        typer.echo(doc.text)

    _run(body)


@app.command()
def delete(
    doc_id: Annotated[str, typer.Argument(help="Document id.")], collection: Collection = "default"
) -> None:
    """Delete a document and its chunks."""
    from .core import open_service

    settings = _settings()

    def body() -> None:
        with open_service(settings) as service:
            meta = service.delete(doc_id, collection)
        typer.echo(f"{meta.id}\tdeleted\t{meta.title}")

    _run(body)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question about the dispute.")],
    collection: Collection = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print the Comparison as JSON.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore a cached answer.")] = False,
) -> None:
    """Line up each side's account of QUESTION, point by point, with verbatim quotes."""
    from .core import open_service
    from .page import comparison_json, print_comparison

    settings = _settings()

    def body() -> None:
        with open_service(settings) as service:
            answer = service.ask(question, collection, on_progress=StageLines(), use_cache=not no_cache)
        if as_json:
            typer.echo(comparison_json(answer))
        else:
            from rich.console import Console

            print_comparison(answer, Console())

    _run(body)


class StageLines:
    """Progress for `ask`: one line on stderr per new stage (retrieving, statements, model: …,
    verifying, done) with the seconds since the start; stdout stays the answer alone."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = ""

    def __call__(self, stage: str, fraction: float) -> None:
        if stage != self.last:
            self.last = stage
            typer.echo(f"[{time.monotonic() - self.started:6.1f}s] {stage}", err=True)


@app.command("eval")
def eval_(
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for predictions, metrics and report.")
    ] = None,
    cases: Annotated[
        Path | None, typer.Option("--cases", help="Cases .jsonl (default: eval/cases/).")
    ] = None,
    backend: Annotated[str | None, typer.Option(help="local, openai, compatible or fake.")] = None,
    strategy: Annotated[
        str | None, typer.Option(help="rules, refine, per_statement or batch (default: the backend's).")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Cases at once (more than 1 needs an openai or compatible backend).")
    ] = 1,
    limit: Annotated[int | None, typer.Option(help="Only the first N cases.")] = None,
    shared_library: Annotated[
        bool, typer.Option("--shared-library", help="All cases' documents in one collection.")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run in --out.")] = False,
    compare: Annotated[
        tuple[Path, Path] | None, typer.Option("--compare", help="Compare two runs: RUN_A RUN_B.")
    ] = None,
) -> None:
    """Score answers against labelled cases; or compare two runs."""
    from .eval import compare as compare_runs
    from .eval import eval_command, summary

    if compare is not None:
        _run(lambda: typer.echo(compare_runs(*compare)))
        return
    if out is None:
        _fail("--out DIR is required (or --compare RUN_A RUN_B)")
        return
    settings = _settings()

    def body() -> None:
        metrics = eval_command(
            cases,
            out,
            settings,
            backend=backend,
            strategy=strategy,
            limit=limit,
            shared_library=shared_library,
            resume=resume,
            workers=workers,
            progress=sys.stderr.isatty(),
        )
        typer.echo(summary(metrics, out))

    _run(body)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default: COUNTERPOINT_HOST, else 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: COUNTERPOINT_PORT, else 7860).")
    ] = None,
) -> None:
    """Start the page (the same as `python app.py`); Ctrl+C stops it."""
    import os

    # Before Gradio's first import, which reads them: nothing here may call out (no analytics,
    # no Hugging Face Hub lookups; Counterpoint's models ship in packages).
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    settings = _settings()
    overrides = {"host": host, "port": port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})

    def body() -> None:
        from .page import serve as serve_page

        serve_page(settings)

    _run(body)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def main() -> None:
    """Console-script entry point."""
    app()
