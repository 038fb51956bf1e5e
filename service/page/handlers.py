"""Pure helpers behind the page (`ui.py`): page HTML for the library, header and messages, example
questions, ingest of the page's inputs, quote clicks and export files. Nothing here imports Gradio,
so every piece is tested without a browser."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..core import Counterpoint
from ..errors import CounterpointError, InputError
from ..library import SUPPORTED, IngestResult, Loaded, check_collection, check_date, load_stream, load_url
from ..models import Comparison, DocumentMeta, Quote
from ..settings import Settings
from .render import comparison_json, comparison_markdown, esc, source_html, why_html

if TYPE_CHECKING:
    from ..llm import BackendInfo

NoticeKind = Literal["ok", "info", "error"]
ProgressReport = Callable[[float, str], None]
"""(fraction done in 0..1, what is happening) for the page's progress bar."""

GENERIC_QUESTIONS: list[str] = [
    "Where do the sides contradict each other?",
    "What does each side blame the other for?",
    "What does each side say happened, and who said it?",
]
STAGE_LABELS: dict[str, str] = {
    "retrieving": "Retrieving passages",
    "statements": "Finding statements",
    "model": "Model",
    "verifying": "Verifying quotes",
    "done": "Done",
}
ANSWER_PLACEHOLDER = (
    '<div class="cp-placeholder"><p>Ask a question to line up each side\'s account, point by point.</p>'
    "<p>Every claim is backed by verbatim quotes; click a quote to open its article.</p></div>"
)
SOURCE_PLACEHOLDER = (
    '<div class="cp-placeholder"><p>Click a quote in the answer to open its article here, '
    "with the quote highlighted.</p></div>"
)


# --- page HTML ---------------------------------------------------------------------------------
def notice_html(items: Sequence[tuple[NoticeKind, str]]) -> str:
    """Escaped status messages; errors are announced to screen readers at once."""
    if not items:
        return ""
    parts = []
    for kind, text in items:
        role = "alert" if kind == "error" else "status"
        parts.append(f'<p class="cp-msg cp-msg-{kind}" role="{role}">{esc(text)}</p>')
    return f'<div class="cp-msgs">{"".join(parts)}</div>'


def header_html(info: BackendInfo) -> str:
    """The page title and which backend, model and strategy answer (names only, never keys)."""
    # The rules answer; the model is asked only which side an argument with no speaker argues for.
    model = f"rules; {info.model} for unattributed arguments" if info.strategy == "rules" else info.model
    fields = [("Backend", info.backend), ("Model", model), ("Strategy", info.strategy.replace("_", " "))]
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v or '—')}</dd></div>" for k, v in fields)
    return (
        '<header class="cp-header"><div><h1 class="cp-title">Counterpoint</h1>'
        '<p class="cp-tagline">Each side of a dispute, point by point, every claim backed by a verbatim '
        f'quote.</p></div><dl class="cp-backend" aria-label="Backend">{items}</dl></header>'
    )


def library_html(metas: Sequence[DocumentMeta], collection: str) -> str:
    """The collection's documents (title, outlet, date, chunk count, id), each with a Delete button."""
    if not metas:
        return (
            f'<div class="cp-library cp-library-empty"><p>No documents in <b>{esc(collection)}</b> yet. '
            "Add a file, paste text or enter a URL.</p></div>"
        )
    rows = []
    for m in metas:
        title = m.title.strip() or m.id
        fields = [
            (m.outlet.strip(), "outlet unknown"),
            (m.date.strip(), "date unknown"),
            (f"{m.n_chunks} chunk{'s' if m.n_chunks != 1 else ''}", ""),
        ]
        info = " · ".join(
            esc(v) if v else f'<span class="cp-unknown">{esc(missing)}</span>' for v, missing in fields
        )
        rows.append(
            f'<li class="cp-doc" data-doc="{esc(m.id)}"><div class="cp-doc-main">'
            f'<p class="cp-doc-name">{esc(title)}</p><p class="cp-doc-info">{info}</p>'
            f'<p class="cp-doc-id">{esc(m.id)}</p></div>'
            f'<button type="button" class="cp-delete" data-doc="{esc(m.id)}" data-title="{esc(title)}" '
            f'title="Delete this document" aria-label="Delete {esc(title)}">Delete</button></li>'
        )
    count = f"{len(metas)} document{'s' if len(metas) != 1 else ''}"
    return (
        f'<div class="cp-library"><p class="cp-library-head">{count} in <b>{esc(collection)}</b></p>'
        f'<ul class="cp-docs">{"".join(rows)}</ul></div>'
    )


def collection_choices(existing: Sequence[str], current: str) -> list[str]:
    """The collections to offer: those that exist, plus `default` and the one in use."""
    return sorted({*existing, "default", current.strip() or "default"})


# --- questions and progress --------------------------------------------------------------------
def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return f"{cut}…"


def example_questions(metas: Sequence[DocumentMeta], limit: int = 5) -> list[str]:
    """One question per loaded document (newest first), then generic ones, without repeats."""
    out: list[str] = []
    for m in reversed(metas):
        # The whole headline, not just its first clause: it usually names the parties.
        title = _shorten(m.title, 110).rstrip(".?!")
        if title and title != m.id:
            out.append(f"What does each side say about {title}?")
    out += GENERIC_QUESTIONS
    return list(dict.fromkeys(out))[:limit]


def stage_label(stage: str) -> str:
    """A progress message for the page, from a chain stage such as `model: naming the sides`."""
    head, _, rest = stage.partition(":")
    label = STAGE_LABELS.get(head.strip(), head.strip().capitalize() or "Working")
    return f"{label}: {rest.strip()}" if rest.strip() else f"{label}…"


# --- ingest ------------------------------------------------------------------------------------
@dataclass
class Source:
    """One input from the page, loaded only when it is its turn."""

    name: str
    load: Callable[[], Loaded]


@dataclass
class Outcome:
    name: str
    result: IngestResult | None = None
    error: str = ""


def upload_path(path: str, settings: Settings) -> Path:
    """The uploaded file `path` names, checked: inside the upload folder (no `..`, relative parts or
    symlinks out of it), a regular file, and within the size limit before anything is read."""
    given = Path(path)
    name = given.name or str(path)
    if not given.is_absolute() or ".." in given.parts:
        raise InputError(f"{name}: not an uploaded file (the name has path parts)")
    real = given.resolve()
    if not real.is_relative_to(settings.upload_dir.resolve()):
        raise InputError(f"{name}: not an uploaded file (outside the upload folder)")
    if not real.is_file():
        raise InputError(f"{name}: the upload is missing or not a regular file")
    size = real.stat().st_size
    if size > settings.max_file_bytes:
        raise InputError(
            f"{name} is {size / 1048576:.1f} MB, over the {settings.max_file_mb:g} MB limit "
            "(COUNTERPOINT_MAX_FILE_MB)"
        )
    return real


def _file_source(path: str, settings: Settings) -> Source:
    name = Path(path).name or str(path)

    def load() -> Loaded:
        real = upload_path(path, settings)
        if Path(name).suffix.lower() not in SUPPORTED:
            raise InputError(f"{name}: unsupported file type; use .txt, .md, .html or .pdf")
        # The upload's own name, not the server's temp path, becomes the document's source.
        with real.open("rb") as stream:
            return load_stream(stream, name, settings)

    return Source(name, load)


def _paste_source(text: str, settings: Settings, title: str, outlet: str, date: str) -> Source:
    def load() -> Loaded:
        # A date the coverage strip and its timeline can read (YYYY-MM-DD), or none: never a guess.
        given = {"title": title.strip(), "outlet": outlet.strip(), "date": check_date(date or "")}
        loaded = load_stream(io.BytesIO(text.encode("utf-8")), "pasted text", settings)
        return loaded.model_copy(update={k: v for k, v in given.items() if v})

    return Source("pasted text", load)


def page_sources(
    settings: Settings,
    files: Sequence[str] | str | None = None,
    text: str | None = None,
    url: str | None = None,
    title: str = "",
    outlet: str = "",
    date: str = "",
) -> list[Source]:
    """The files, pasted text and URL given, in that order; an error when nothing was given."""
    paths = [files] if isinstance(files, str) else list(files or [])
    sources = [_file_source(p, settings) for p in paths]
    if text and text.strip():
        sources.append(_paste_source(text, settings, title, outlet, date))
    link = (url or "").strip()
    if link:
        sources.append(Source(link, lambda: load_url(link, settings)))
    if not sources:
        raise InputError("choose a file, paste text or enter a URL first")
    return sources


def ingest_one(
    service: Counterpoint,
    source: Source,
    collection: str,
    report: ProgressReport | None = None,
    *,
    doc_id: str | None = None,
    title: str | None = None,
    outlet: str | None = None,
) -> IngestResult:
    """Load and store one source, reporting its embedding progress."""
    say = report or (lambda fraction, message: None)
    say(0.0, f"Reading {source.name}")
    loaded = source.load()
    # The first slice of chunks takes a while to embed before the store reports anything.
    say(0.01, f"Embedding {source.name}")
    return service.ingest(
        loaded,
        check_collection(collection),
        doc_id=doc_id,
        title=title,
        outlet=outlet,
        on_progress=lambda done, total: say(done / max(total, 1), f"Embedding {source.name}"),
    )


def ingest_sources(
    service: Counterpoint, sources: Sequence[Source], collection: str, report: ProgressReport | None = None
) -> list[Outcome]:
    """Store each source in turn; one failing input does not stop the others."""
    say = report or (lambda fraction, message: None)
    outcomes = []
    n = len(sources)
    for i, source in enumerate(sources):
        try:
            result = ingest_one(service, source, collection, lambda f, m, i=i: say((i + f) / n, m))
        except CounterpointError as exc:
            outcomes.append(Outcome(source.name, error=str(exc)))
        else:
            outcomes.append(Outcome(source.name, result))
    say(1.0, "Done")
    return outcomes


def outcome_notices(outcomes: Sequence[Outcome], collection: str) -> list[tuple[NoticeKind, str]]:
    """One message per input: added, already there, or why it failed."""
    items: list[tuple[NoticeKind, str]] = []
    for o in outcomes:
        if o.result is None:
            items.append(("error", f"Could not add {o.name}: {o.error}"))
            continue
        m = o.result.meta
        if o.result.created:
            chunks = f"{m.n_chunks} chunk{'s' if m.n_chunks != 1 else ''}"
            items.append(("ok", f"Added “{m.title}” to {collection} ({chunks})."))
        else:
            items.append(("info", f"Already in {collection}: “{m.title}” (unchanged)."))
    return items


def ingest_summary(result: IngestResult, collection: str) -> dict[str, Any]:
    """What the /ingest API returns: the stored document's metadata and whether it is new."""
    m = result.meta
    keys = ("id", "title", "outlet", "date", "url", "n_chars", "n_chunks")
    return {"collection": collection, "created": result.created, **{k: getattr(m, k) for k in keys}}


def api_ingest(
    service: Counterpoint,
    text: str | None,
    url: str | None,
    file: str | None,
    collection: str,
    title: str | None = None,
    outlet: str | None = None,
    doc_id: str | None = None,
) -> dict[str, Any]:
    """Store exactly one of `text`, `url` or `file`; returns its summary (errors raise)."""
    given = [bool(text and text.strip()), bool(url and url.strip()), bool(file)]
    if sum(given) != 1:
        raise InputError("give exactly one of text, url or file")
    (source,) = page_sources(service.settings, file, text, url)
    result = ingest_one(
        service,
        source,
        collection or "default",
        doc_id=(doc_id or "").strip() or None,
        title=(title or "").strip() or None,
        outlet=(outlet or "").strip() or None,
    )
    return ingest_summary(result, collection or "default")


# --- quotes and export -------------------------------------------------------------------------
def _offset(value: Any) -> int:
    # JSON from the browser: integers arrive as int; booleans and floats are not offsets.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"bad offset {value!r}")
    if isinstance(value, str):
        if not value.isdigit():
            raise InputError(f"bad offset {value!r}")
        value = int(value)
    if value < 0:
        raise InputError(f"bad offset {value!r}")
    return value


def quote_target(data: Any) -> tuple[str, int, int]:
    """(document id, start, end) from a quote click's event data."""
    if not isinstance(data, dict):
        raise InputError("the click carried no quote")
    doc = data.get("doc")
    if not isinstance(doc, str) or not doc.strip():
        raise InputError("the quote names no document")
    return doc, _offset(data.get("start")), _offset(data.get("end"))


def find_quote(answer: Comparison | None, doc: str, start: int, end: int, side: str = "") -> Quote | None:
    """The answer's quote at these offsets, under `side` when it names one of the columns."""
    if answer is None:
        return None
    found = [
        (name, q)
        for p in answer.points
        for name, account in p.accounts.items()
        for q in account.quotes
        if (q.doc, q.start, q.end) == (doc, start, end)
    ]
    return next((q for name, q in found if name == side), found[0][1] if found else None)


def source_view(service: Counterpoint, answer: Comparison | None, data: Any) -> str:
    """The quote's article with the quote highlighted, under one line on why the quote sits where it
    does ("Why here?"); or a clear message why it cannot be shown."""
    try:
        doc_id, start, end = quote_target(data)
        collection = answer.collection if answer is not None else "default"
        view = source_html(service.document(doc_id, collection), start, end)
    except (CounterpointError, ValueError) as exc:  # ValueError: offsets outside the stored text
        return notice_html([("error", f"Cannot open this quote's source: {exc}")])
    side = data.get("side") if isinstance(data.get("side"), str) else ""
    quote = find_quote(answer, doc_id, start, end, side)
    return (why_html(quote.why) if quote is not None else "") + view


def _slug(text: str, limit: int = 48) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for w in words:
        if len(slug) + len(w) + 1 > limit:
            break
        slug = f"{slug}-{w}" if slug else w
    return slug or "answer"


def export_files(c: Comparison, directory: Path) -> tuple[Path, Path]:
    """Write the answer as JSON and Markdown; names carry the question and a content hash."""
    body = comparison_json(c)
    stem = f"counterpoint-{_slug(c.question)}-{hashlib.sha256(body.encode()).hexdigest()[:8]}"
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(body, encoding="utf-8")
    md_path.write_text(comparison_markdown(c), encoding="utf-8")
    return json_path, md_path
