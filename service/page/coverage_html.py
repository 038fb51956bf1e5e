"""The coverage strip above the columns: per side its outlets as chips with counts, its date span and
flags; a timeline of each side's quotes by their document's date (drawn by matplotlib); key quotes.

The chips only carry `data-outlet`: the page's script (ui.QUOTE_JS) filters the columns in the
browser by comparing that attribute, so nothing from an article is ever turned back into markup.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections import Counter
from collections.abc import Callable
from datetime import date

from ..coverage import coverage_of, iso_date, side_quotes
from ..models import Comparison, Coverage, Quote, SideCoverage
from .common import date_span, esc, share

SIDE_COLOURS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777"]
"""One colour per column, in order: the chips' dot and the timeline's marks."""
TIMELINE_TITLE = "When each side was quoted, by its document's date"
_LABEL_CHARS = 28

QuoteHtml = Callable[[Quote, str, str], str]
"""(quote, element id, side) -> the quote's clickable HTML (render_html.quote_html)."""


def colour(index: int) -> str:
    """The colour of the `index`th column."""
    return SIDE_COLOURS[index % len(SIDE_COLOURS)]


# --- the strip ---------------------------------------------------------------------------------
def _chips(s: SideCoverage) -> str:
    chips = []
    for o in s.outlets:
        docs = f"{len(o.documents)} document{'s' if len(o.documents) != 1 else ''}"
        label = f"{o.quotes} quote{'s' if o.quotes != 1 else ''} from {o.outlet} ({docs})"
        chips.append(
            f'<button type="button" class="cp-chip" data-outlet="{esc(o.outlet)}" aria-pressed="false" '
            f'title="{esc("Show only the quotes from " + o.outlet)}" aria-label="{esc(label)}">'
            f'<span class="cp-chip-name">{esc(o.outlet)}</span>'
            f'<span class="cp-chip-count">{o.quotes}</span></button>'
        )
    return f'<div class="cp-chips">{"".join(chips)}</div>' if chips else ""


def _flags(items: str) -> str:
    return f'<ul class="cp-flags">{items}</ul>' if items else ""


def _side_card(s: SideCoverage, index: int) -> str:
    name = esc(s.side or "(unnamed side)")
    head = f'<p class="cp-cov-side"><span class="cp-dot" style="background:{colour(index)}"></span>{name}</p>'
    if not s.quotes:
        none = '<p class="cp-cov-facts">no quotes</p>'
        return f'<div class="cp-cov-card" data-side="{esc(s.side)}">{head}{none}</div>'
    facts = [
        f"{s.quotes} quote{'s' if s.quotes != 1 else ''}",
        f"{share(s.direct_share)} in own words",
    ]
    span = date_span(s.earliest, s.latest)
    facts.append(span or "no dates")
    flags = "".join(f'<li class="cp-flag" data-flag="{esc(f.kind)}">{esc(f.text)}</li>' for f in s.flags)
    return (
        f'<div class="cp-cov-card{" cp-flagged" if s.flags else ""}" data-side="{esc(s.side)}">{head}'
        f'<p class="cp-cov-facts">{" · ".join(esc(f) for f in facts)}</p>{_chips(s)}'
        f"{_flags(flags)}</div>"
    )


def strip_html(c: Comparison, cov: Coverage | None = None) -> str:
    """The coverage strip: one card per side, the filter's status line, and the timeline when dated."""
    cov = cov or coverage_of(c)
    if not any(s.quotes for s in cov.sides):
        return ""
    cards = "".join(_side_card(s, i) for i, s in enumerate(cov.sides))
    single = ""
    if len(cov.outlets) == 1:
        single = (
            f'<p class="cp-cov-note">Every quote in this answer comes from one outlet: '
            f"{esc(cov.outlets[0])}.</p>"
        )
    status = (
        '<p class="cp-filter" hidden><span class="cp-filter-text" role="status"></span> '
        '<button type="button" class="cp-filter-clear">Show all</button></p>'
    )
    # The cards and the timeline share a row where the answer is wide enough, and stack where not.
    body = f'<div class="cp-cov-body"><div class="cp-cov-cards">{cards}</div>{timeline_html(c, cov)}</div>'
    return (
        f'<section class="cp-coverage" aria-label="Coverage"><p class="cp-cov-title">Who reports each side'
        f"</p>{body}{single}{status}</section>"
    )


def key_quotes_html(c: Comparison, quote_html: QuoteHtml, cov: Coverage | None = None) -> str:
    """Each side's key quotes in a collapsible section (closed at first), each with its outlet."""
    cov = cov or coverage_of(c)
    groups = []
    for j, s in enumerate(cov.sides):
        if not s.key_quotes:
            continue
        items = "".join(
            f"<li>{quote_html(k.quote, f'cp-k-{j}-{n}', s.side)}</li>" for n, k in enumerate(s.key_quotes)
        )
        groups.append(
            f'<div class="cp-key-side"><p class="cp-key-name">{esc(s.side or "(unnamed side)")}</p>'
            f'<ol class="cp-key-list">{items}</ol></div>'
        )
    if not groups:
        return ""
    return (
        '<details class="cp-keyquotes"><summary>Key quotes: what carries most of each side\'s account'
        f'</summary><div class="cp-key-sides">{"".join(groups)}</div></details>'
    )


# --- the timeline ------------------------------------------------------------------------------
def timeline_points(c: Comparison) -> list[tuple[str, str, int]]:
    """(side, YYYY-MM-DD, quotes) for each side and dated document day; undated quotes are left out."""
    out = []
    for side, quotes in side_quotes(c).items():
        days = Counter(d for d in (iso_date(q.date) for q in quotes) if d)
        out += [(side, day, n) for day, n in sorted(days.items())]
    return out


def _label(text: str) -> str:
    text = " ".join(text.split()) or "(unnamed side)"
    cut = text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"
    return cut.replace("$", r"\$")  # matplotlib would read $…$ as mathematics


def timeline_png(c: Comparison) -> bytes | None:
    """A small PNG: one row per side, a mark per dated document day sized by its quotes; None when no
    quote's document carries a date."""
    points = timeline_points(c)
    if not points:
        return None
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in the page's threads

    sides = list(side_quotes(c))
    row = {name: i for i, name in enumerate(sides)}
    days = [date.fromisoformat(d) for _, d, _ in points]
    grey = "#808080"
    fig = Figure(figsize=(5.2, 0.55 + 0.42 * len(sides)), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for name in sides:
        mine = [(date.fromisoformat(d), n) for s, d, n in points if s == name]
        if not mine:
            continue
        x, sizes = [d for d, _ in mine], [n for _, n in mine]
        ax.scatter(x, [row[name]] * len(x), s=[40 + 30 * n for n in sizes], color=colour(row[name]), zorder=3)
        for d, n in mine:
            ax.annotate(str(n), (d, row[name]), xytext=(0, 7), textcoords="offset points", ha="center",
                        fontsize=7, color=grey)  # fmt: skip
    ax.set_yticks(range(len(sides)), [_label(s) for s in sides], fontsize=8, color=grey)
    ax.set_ylim(len(sides) - 0.4, -0.6)
    low, high = min(days), max(days)
    pad = max((high - low).days * 0.08, 2)
    ax.set_xlim(mdates.date2num(low) - pad, mdates.date2num(high) + pad)
    locator = mdates.AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.tick_params(axis="x", labelsize=8, colors=grey)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color=grey, alpha=0.25)
    for edge in ("top", "right", "left"):
        ax.spines[edge].set_visible(False)
    ax.spines["bottom"].set_color(grey)
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a glyph the bundled font lacks (an emoji in a name) is drawn as a box
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format="png", transparent=True)
    return buffer.getvalue()


def timeline_alt(c: Comparison) -> str:
    """The timeline in words, for screen readers and a page that shows no images."""
    parts: dict[str, list[str]] = {}
    for side, day, n in timeline_points(c):
        parts.setdefault(side, []).append(f"{day} ({n})")
    return "Quotes by date. " + "; ".join(f"{side}: {', '.join(days)}" for side, days in parts.items())


def timeline_html(c: Comparison, cov: Coverage | None = None) -> str:
    """The timeline as an inline PNG in a figure, or "" when no document carries a date."""
    cov = cov or coverage_of(c)
    png = timeline_png(c) if cov.dated else None
    if png is None:
        return ""
    undated = sum(s.quotes for s in cov.sides) - sum(n for *_, n in timeline_points(c))
    note = f" ({undated} undated quote{'s' if undated != 1 else ''} left out)" if undated else ""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (
        f'<figure class="cp-timeline"><img src="{src}" alt="{esc(timeline_alt(c))}">'
        f"<figcaption>{esc(TIMELINE_TITLE + note)}</figcaption></figure>"
    )
