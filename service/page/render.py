"""Render a Comparison as HTML (for the page), Markdown and JSON (for export) and a rich table (CLI)."""

from __future__ import annotations

import math
import re
import unicodedata
from html import escape
from urllib.parse import urlsplit

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..models import Account, Comparison, Document, Quote, Stats
from .css import ANSWER_CSS, GRID_CSS, SOURCE_CSS

KIND_LABELS: dict[str, str] = {
    "contradiction": "contradiction",
    "different_emphasis": "different emphasis",
    "one_side_only": "one side only",
}

_DASH = "—"
PARTIAL_TITLE = "Partial answer: part of the model's work failed, so some of this comes from rules alone."
PRELIMINARY_TITLE = "Preliminary answer from rules; the model's answer is coming."
NOTES_TITLE = "About this answer"
_STATUS = {PARTIAL_TITLE: ("cp-partial", "Partial answer", "red"),
           PRELIMINARY_TITLE: ("cp-preliminary", "Preliminary answer", "yellow"),
           NOTES_TITLE: ("cp-notes-only", "About this answer", "blue")}  # fmt: skip
_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


# --- shared helpers ----------------------------------------------------------------------------
def esc(value: object) -> str:
    """Escape anything for HTML text or a double-quoted attribute."""
    return escape(str(value), quote=True)


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL, else None (no `javascript:`, `data:` or relative links)."""
    url = (url or "").strip()
    # The regex rejects whitespace and control characters anywhere, which browsers would
    # otherwise strip before parsing the scheme ("java\tscript:").
    if not _HTTP_URL.fullmatch(url):
        return None
    try:
        return url if urlsplit(url).hostname else None
    except ValueError:
        return None


def _kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, str(kind).replace("_", " ") or "unknown")


def _side_names(c: Comparison) -> list[str]:
    """Column order: the declared sides, then any side a point names that was not declared."""
    names: list[str] = []
    for name in [s.name for s in c.sides] + [n for p in c.points for n in p.accounts]:
        if name not in names:
            names.append(name)
    return names


def _speakers(c: Comparison, name: str) -> list[str]:
    return next(([x for x in s.speakers if x.strip()] for s in c.sides if s.name == name), [])


def _addressed(account: Account | None) -> bool:
    return account is not None and (bool(account.claim.strip()) or bool(account.quotes))


def _int(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else _DASH


def _latency(value: object) -> str:
    ok = isinstance(value, int | float) and math.isfinite(value) and value >= 0
    return f"{value:.2f} s" if ok else _DASH


def stats_items(s: Stats) -> list[tuple[str, str]]:
    """The stats as (label, value) pairs, the same on every surface."""
    return [
        ("Backend", s.backend or _DASH),
        ("Model", s.model or _DASH),
        ("Strategy", s.strategy or _DASH),
        ("Latency", _latency(s.latency_s)),
        ("LLM calls", _int(s.llm_calls)),
        ("Prompt tokens", _int(s.prompt_tokens)),
        ("Completion tokens", _int(s.completion_tokens)),
        ("Statements", _int(s.statements)),
        ("Dropped ids", _int(s.dropped_ids)),
        ("Injections skipped", _int(s.injections_skipped)),
        ("Retries", _int(s.retries)),
        ("Cached", "yes" if s.cached else "no"),
    ]


def status_notices(c: Comparison) -> list[tuple[str, list[str]]]:
    """What a reader must know before trusting the answer: (title, notes) for a preliminary or partial
    answer, or for notes alone; the same on every surface."""
    notes = [" ".join(n.split()) for n in c.notes if n.strip()]
    out: list[tuple[str, list[str]]] = []
    if c.preliminary:
        out.append((PRELIMINARY_TITLE, [] if c.partial else notes))
    if c.partial:
        out.append((PARTIAL_TITLE, notes))
    if notes and not out:
        out.append((NOTES_TITLE, notes))
    return out


def _source_bits(*values: str) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


# --- HTML --------------------------------------------------------------------------------------
def _grid_css(n: int) -> str:
    # Stack once a column would get narrower than about 9rem, next to a 10rem topic column.
    css = GRID_CSS.replace("{g}", f".cp-answer .cp-sides-{n}")
    return css.replace("{n}", str(n)).replace("{w}", str(10 + 9 * n))


def _own_marks(text: str) -> bool:
    """A quote that opens with a quotation mark of its own gets no added marks (no ““…”)."""
    return text[:1] in "“\"‘'«„"


def _quote_html(q: Quote, qid: str) -> str:
    where = f"{q.title.strip() or q.doc}, characters {q.start}–{q.end}"
    button = (
        f'<button type="button" class="cp-quote" id="{esc(qid)}" data-doc="{esc(q.doc)}" '
        f'data-start="{esc(q.start)}" data-end="{esc(q.end)}" title="{esc("Open " + where)}">'
        f'<q class="cp-quote-text{" cp-own-marks" if _own_marks(q.text) else ""}">{esc(q.text)}</q></button>'
    )
    bits = [esc(b) for b in _source_bits(q.title, q.outlet, q.date)] or [esc(q.doc)]
    url = safe_url(q.url)
    if url:
        host = urlsplit(url).hostname or url
        bits.append(f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(host)}</a>')
    source = f'<figcaption class="cp-src">{" · ".join(bits)}</figcaption>'
    return f'<figure class="cp-quote-block">{button}{source}</figure>'


def _cell_html(side: str, account: Account | None, ids: str) -> str:
    label = f'<p class="cp-cell-side">{esc(side or "(unnamed side)")}</p>'
    if account is None or not _addressed(account):
        missing = '<p class="cp-missing-text">not addressed</p>'
        return f'<div class="cp-cell cp-missing" role="cell" data-side="{esc(side)}">{label}{missing}</div>'
    parts = [label]
    if account.claim.strip():
        parts.append(f'<p class="cp-claim">{esc(account.claim.strip())}</p>')
    parts += [_quote_html(q, f"{ids}-{k}") for k, q in enumerate(account.quotes)]
    return f'<div class="cp-cell" role="cell" data-side="{esc(side)}">{"".join(parts)}</div>'


def _stats_html(s: Stats) -> str:
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in stats_items(s))
    return f'<dl class="cp-stats">{items}</dl>'


def _notice_html(title: str, text: str, extra_class: str = "") -> str:
    return (
        f'<div class="cp-notice {extra_class}" role="status"><p class="cp-notice-title">{esc(title)}</p>'
        f'<p class="cp-notice-text">{esc(text)}</p></div>'
    )


def _status_html(c: Comparison) -> str:
    parts = []
    for title, notes in status_notices(c):
        items = "".join(f"<li>{esc(n)}</li>" for n in notes)
        listed = f'<ul class="cp-notes">{items}</ul>' if items else ""
        head = f'<p class="cp-notice-title">{esc(title)}</p>'
        parts.append(f'<div class="cp-notice {_STATUS[title][0]}" role="status">{head}{listed}</div>')
    return "".join(parts)


def comparison_html(c: Comparison) -> str:
    """A self-contained, escaped HTML fragment: one column per side, one row per point, stats below."""
    question = f'<p class="cp-question">{esc(c.question)}</p>' if c.question.strip() else ""
    question += _status_html(c)  # right under the question: read before the answer, not after
    footer = _stats_html(c.stats)
    if c.abstained:
        reason = c.reason.strip() or "No reason was given."
        body = _notice_html("No comparison: the documents do not hold this dispute.", reason, "cp-abstain")
        return (
            f'<div class="cp-answer cp-abstained"><style>{ANSWER_CSS}</style>{question}{body}{footer}</div>'
        )
    names = _side_names(c)
    if not c.points or not names:
        body = _notice_html("No points to compare.", c.reason.strip() or "The answer holds no points.")
        return f'<div class="cp-answer cp-empty"><style>{ANSWER_CSS}</style>{question}{body}{footer}</div>'
    n = len(names)
    heads = []
    for name in names:
        items = "".join(f"<li>{esc(s)}</li>" for s in _speakers(c, name))
        speakers = f'<ul class="cp-speakers">{items}</ul>' if items else ""
        heads.append(
            f'<div class="cp-side-head" role="columnheader">'
            f'<p class="cp-side-name">{esc(name or "(unnamed side)")}</p>{speakers}</div>'
        )
    rows = [
        f'<div class="cp-row cp-row-head" role="row"><div class="cp-corner">Point</div>{"".join(heads)}</div>'
    ]
    for i, p in enumerate(c.points):
        kind = p.kind if p.kind in KIND_LABELS else "other"
        topic = (
            f'<div class="cp-topic" role="rowheader">'
            f'<p class="cp-topic-text">{esc(p.topic or "(no topic)")}</p>'
            f'<span class="cp-kind cp-kind-{kind}">{esc(_kind_label(p.kind))}</span></div>'
        )
        cells = "".join(
            _cell_html(name, p.accounts.get(name), f"cp-q-{i}-{j}") for j, name in enumerate(names)
        )
        rows.append(f'<div class="cp-row" role="row" data-kind="{esc(p.kind)}">{topic}{cells}</div>')
    grid = f'<div class="cp-grid cp-sides-{n}" role="table" data-sides="{n}">{"".join(rows)}</div>'
    style = f"<style>{ANSWER_CSS}{_grid_css(n)}</style>"
    return f'<div class="cp-answer">{style}{question}{grid}{footer}</div>'


def source_html(doc: Document, start: int, end: int) -> str:
    """The article with `text[start:end]` in `<mark id="cp-highlight">`; bad offsets raise ValueError."""
    text = doc.text
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise ValueError(f"offsets must be integers, got {start!r} and {end!r}")
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"offsets {start}..{end} outside the text (0..{len(text)})")
    m = doc.meta
    bits = [esc(b) for b in _source_bits(m.outlet, m.date)]
    url = safe_url(m.url)
    if url:
        bits.append(f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(url)}</a>')
    elif m.url.strip():
        bits.append(esc(m.url.strip()))  # shown as text only: not a scheme we link to
    meta = f'<p class="cp-doc-meta">{" · ".join(bits)}</p>' if bits else ""
    # Slice here, on the server: offsets count code points, while JavaScript strings count UTF-16
    # units, so a client-side slice would drift after every emoji or other astral character.
    body = (
        f'{esc(text[:start])}<mark id="cp-highlight" data-start="{start}" data-end="{end}">'
        f"{esc(text[start:end])}</mark>{esc(text[end:])}"
    )
    return (
        f'<article class="cp-source-view" data-doc="{esc(m.id)}"><style>{SOURCE_CSS}</style>'
        f'<h3 class="cp-doc-title">{esc(m.title.strip() or m.id)}</h3>{meta}'
        f'<div class="cp-doc-text">{body}</div></article>'
    )


_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~$#])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
# List markers and setext underlines only matter at the start of a line (quotes start lines).
_MD_LINE_START = re.compile(r"^(\d*)((?<=\d)[.)](?=\s|$)|(?<!\d)[+=-])")


def _md(text: str) -> str:
    """Inline text on one line, with anything that could start markup or HTML escaped."""
    text = " ".join(str(text).split())
    return _MD_LINE_START.sub(r"\1\\\2", _MD_ENTITY.sub(r"\\&", _MD_INLINE.sub(r"\\\1", text)))


def _md_code(text: str) -> str:
    """A code span that survives backticks in the text."""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _md_quote(q: Quote) -> list[str]:
    # Every line of the quote stays in the blockquote; each is escaped as if it began a block.
    lines = [f"> {_md(line)}" if line.strip() else ">" for line in q.text.splitlines() or [""]]
    source = [_md(b) for b in _source_bits(q.title, q.outlet, q.date)]
    url = safe_url(q.url)
    if url:
        source.append(f"<{url.replace('>', '%3E')}>")
    elif q.url.strip():
        source.append(_md(q.url))
    source.append(f"doc {_md_code(q.doc)} chars {q.start}–{q.end}")
    return [*lines, ">", f"> — {' · '.join(source)}", ""]


def comparison_markdown(c: Comparison) -> str:
    """The answer as Markdown for export: question, sides, points with quotes, stats."""
    out = [f"# {_md(c.question) or 'Comparison'}", ""]
    for title, notes in status_notices(c):
        out += [f"**{_md(title)}**", "", *(f"- {_md(n)}" for n in notes), *([""] if notes else [])]
    if c.abstained:
        out += [f"**Abstained:** {_md(c.reason) or 'no reason was given.'}", ""]
    else:
        names = _side_names(c)
        out += ["## Sides", ""]
        for name in names:
            speakers = ", ".join(_md(s) for s in _speakers(c, name))
            out.append(f"- **{_md(name) or '(unnamed side)'}**" + (f" — {speakers}" if speakers else ""))
        out += ["", "## Points", ""] if c.points else ["", "*No points to compare.*", ""]
        for i, p in enumerate(c.points, 1):
            out += [f"### {i}. {_md(p.topic) or '(no topic)'}", "", f"*Kind: {_kind_label(p.kind)}*", ""]
            for name in names:
                account = p.accounts.get(name)
                label = f"**{_md(name) or '(unnamed side)'}:**"
                if account is None or not _addressed(account):
                    out += [f"{label} *not addressed*", ""]
                    continue
                out += [f"{label} {_md(account.claim)}".rstrip(), ""]
                for q in account.quotes:
                    out += _md_quote(q)
    out += ["## Stats", ""] + [f"- {k}: {_md(v)}" for k, v in stats_items(c.stats)]
    return "\n".join(out) + "\n"


def comparison_json(c: Comparison) -> str:
    """The answer as indented JSON, non-ASCII kept as is; the one serialisation every surface uses."""
    return c.model_dump_json(indent=2)


# --- terminal ----------------------------------------------------------------------------------
_KIND_STYLES = {
    "contradiction": "bold red",
    "different_emphasis": "bold yellow",
    "one_side_only": "bold blue",
}


# Bidi embeddings, overrides and isolates: in a terminal they would reorder the rest of the line.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _t(text: str) -> str:
    """Drop control characters: an article could otherwise carry terminal escape sequences."""
    return "".join(
        ch for ch in str(text) if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI)
    )


def _cell_text(account: Account | None) -> Text:
    if account is None or not _addressed(account):
        return Text("not addressed", style="dim italic")
    cell = Text(_t(account.claim.strip()), style="bold")
    for q in account.quotes:
        if cell:
            cell.append("\n")
        cell.append(_t(q.text) if _own_marks(q.text) else f"“{_t(q.text)}”", style="italic")
        cell.append(f" [{_t(q.doc)}]", style="cyan")
        source = " · ".join(_t(b) for b in _source_bits(q.title, q.outlet, q.date))
        if source:
            cell.append(f"\n  {source}", style="dim")
    return cell


def _stats_text(s: Stats) -> Text:
    return Text(" · ".join(f"{k}: {_t(v)}" for k, v in stats_items(s)), style="dim")


def comparison_table(c: Comparison) -> RenderableType:
    """A side-by-side rich table for the CLI, a panel with the reason when the answer abstained, and
    a notice above either when the answer is preliminary or partial."""
    panels: list[RenderableType] = []
    for title, notes in status_notices(c):
        _, label, style = _STATUS[title]
        lines = ([title] if title != NOTES_TITLE else []) + [f"• {_t(n)}" for n in notes]
        panels.append(Panel(Text("\n".join(lines)), title=label, title_align="left", border_style=style))
    return Group(*panels, _comparison_table(c)) if panels else _comparison_table(c)


def _comparison_table(c: Comparison) -> RenderableType:
    if c.abstained:
        panel = Panel(
            Text(_t(c.reason.strip() or "No reason was given.")),
            title="Abstained",
            title_align="left",
            border_style="yellow",
        )
        return Group(Text(_t(c.question), style="bold"), panel, _stats_text(c.stats))
    names = _side_names(c)
    table = Table(
        title=Text(_t(c.question), style="bold"),
        caption=_stats_text(c.stats),
        show_lines=True,
        expand=True,
    )
    table.add_column("Point", ratio=1, overflow="fold")
    for name in names:
        header = Text(_t(name) or "(unnamed side)", style="bold")
        speakers = ", ".join(_t(s) for s in _speakers(c, name))
        if speakers:
            header.append(f"\n{speakers}", style="dim")
        table.add_column(header, ratio=2, overflow="fold")
    for p in c.points:
        topic = Text(_t(p.topic) or "(no topic)", style="bold")
        topic.append(f"\n{_kind_label(p.kind)}", style=_KIND_STYLES.get(p.kind, "dim"))
        table.add_row(topic, *(_cell_text(p.accounts.get(name)) for name in names))
    if not c.points:
        return Group(table, Text("No points to compare.", style="italic"))
    return table


def print_comparison(c: Comparison, console: Console) -> None:
    """Print the comparison table (or abstention panel) to a rich console."""
    console.print(comparison_table(c))
