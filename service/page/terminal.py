"""A Comparison as a rich table for the terminal: each quote with a short source tag, the full sources
listed once under the table, then who reports each side."""

from __future__ import annotations

import unicodedata

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..coverage import coverage_of
from ..models import Account, Comparison, Stats
from .common import (
    NOTES_TITLE,
    STATUS,
    addressed,
    column_names,
    date_span,
    kind_label,
    own_marks,
    safe_url,
    share,
    source_bits,
    speakers,
    stats_items,
    status_notices,
)

_KIND_STYLES = {
    "contradiction": "bold red",
    "different_emphasis": "bold yellow",
    "one_side_only": "bold blue",
}
TAG_CHARS = 30
"""A source tag is the outlet, or the title cut to about this many characters."""

# Bidi embeddings, overrides and isolates: in a terminal they would reorder the rest of the line.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _t(text: str) -> str:
    """Drop control characters: an article could otherwise carry terminal escape sequences."""
    return "".join(
        ch for ch in str(text) if ch in "\n\t" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI)
    )


def _cut(text: str, limit: int = TAG_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    word = head.rsplit(" ", 1)[0] if " " in head[limit // 2 :] else head
    return word.rstrip(" ,;:–—-") + "…"


def source_tags(c: Comparison) -> dict[str, str]:
    """Document id -> a short tag for its quotes: the outlet, else the title cut to ~30 characters,
    else the id; a tag two documents would share gets " (2)", " (3)" on the later ones."""
    tags: dict[str, str] = {}
    used: dict[str, int] = {}
    for q in c.quotes():
        if q.doc in tags:
            continue
        tag = _cut(_t(q.outlet)) or _cut(_t(q.title)) or _cut(_t(q.doc))
        used[tag] = used.get(tag, 0) + 1
        tags[q.doc] = tag if used[tag] == 1 else f"{tag} ({used[tag]})"
    return tags


def _cell_text(account: Account | None, tags: dict[str, str]) -> Text:
    if account is None or not addressed(account):
        return Text("not addressed", style="dim italic")
    cell = Text(_t(account.claim.strip()), style="bold")
    for q in account.quotes:
        if cell:
            cell.append("\n")
        cell.append(_t(q.text) if own_marks(q.text) else f"“{_t(q.text)}”", style="italic")
        cell.append(f" [{tags.get(q.doc, _t(q.doc))}]", style="cyan")
    return cell


def _sources_text(c: Comparison, tags: dict[str, str]) -> Text:
    """Each document once: its tag, then title · outlet · date · URL · id."""
    out = Text("Sources", style="bold")
    first = {}
    for q in c.quotes():
        first.setdefault(q.doc, q)
    for doc, tag in tags.items():
        q = first[doc]
        url = safe_url(q.url) or ""
        bits = " · ".join(_t(b) for b in source_bits(q.title, q.outlet, q.date, url, q.doc))
        out.append(f"\n[{tag}]", style="cyan")
        out.append(f" {bits}")
    return out


def _coverage_text(c: Comparison) -> Text:
    """Per side: its quotes by outlet, its date span, its share in own words, and any flag."""
    out = Text("Who reports each side", style="bold")
    for s in coverage_of(c).sides:
        out.append(f"\n{_t(s.side) or '(unnamed side)'}: ", style="bold")
        if not s.quotes:
            out.append("no quotes", style="dim")
            continue
        outlets = ", ".join(f"{_t(o.outlet)} ({o.quotes})" for o in s.outlets)
        span = date_span(s.earliest, s.latest) or "no dates"
        quotes = f"{s.quotes} quote{'s' if s.quotes != 1 else ''}"
        out.append(f"{quotes} from {outlets}; {span}; {share(s.direct_share)} in own words")
        for f in s.flags:
            out.append(f"\n  ⚠ {_t(f.text)}", style="yellow")
    return out


def _stats_text(s: Stats) -> Text:
    return Text(" · ".join(f"{k}: {_t(v)}" for k, v in stats_items(s)), style="dim")


def comparison_table(c: Comparison) -> RenderableType:
    """A side-by-side rich table for the CLI, a panel with the reason when the answer abstained, and
    a notice above either when the answer is preliminary or partial."""
    panels: list[RenderableType] = []
    for title, notes in status_notices(c):
        _, label, style = STATUS[title]
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
    names = column_names(c)
    tags = source_tags(c)
    table = Table(
        title=Text(_t(c.question), style="bold"),
        caption=_stats_text(c.stats),
        show_lines=True,
        expand=True,
    )
    table.add_column("Point", ratio=1, overflow="fold")
    for name in names:
        header = Text(_t(name) or "(unnamed side)", style="bold")
        listed = ", ".join(_t(s) for s in speakers(c, name))
        if listed:
            header.append(f"\n{listed}", style="dim")
        table.add_column(header, ratio=2, overflow="fold")
    for p in c.points:
        topic = Text(_t(p.topic) or "(no topic)", style="bold")
        topic.append(f"\n{kind_label(p.kind)}", style=_KIND_STYLES.get(p.kind, "dim"))
        table.add_row(topic, *(_cell_text(p.accounts.get(name), tags) for name in names))
    if not c.points:
        return Group(table, Text("No points to compare.", style="italic"))
    return Group(table, _sources_text(c, tags), Text(""), _coverage_text(c))


def print_comparison(c: Comparison, console: Console) -> None:
    """Print the comparison table (or abstention panel) to a rich console."""
    console.print(comparison_table(c))
