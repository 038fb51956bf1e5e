"""A Comparison as an escaped HTML fragment for the page, and a document with one quote highlighted."""

from __future__ import annotations

from urllib.parse import urlsplit

from ..coverage import coverage_of, outlet_label
from ..models import Account, Comparison, Document, Quote, Stats, Why
from ..why import explain
from .common import (
    KIND_LABELS,
    STATUS,
    addressed,
    column_names,
    esc,
    kind_label,
    own_marks,
    safe_url,
    source_bits,
    speakers,
    stats_items,
    status_notices,
)
from .coverage_html import key_quotes_html, strip_html
from .css import ANSWER_CSS, COVERAGE_CSS, GRID_CSS, SOURCE_CSS, WHY_CSS


def _grid_css(n: int) -> str:
    # Stack once a column would get narrower than about 9rem, next to a 10rem topic column.
    css = GRID_CSS.replace("{g}", f".cp-answer .cp-sides-{n}")
    return css.replace("{n}", str(n)).replace("{w}", str(10 + 9 * n))


def quote_html(q: Quote, qid: str, side: str = "") -> str:
    """One clickable quote with its source line; `data-outlet` is what the coverage chips filter on."""
    where = f"{q.title.strip() or q.doc}, characters {q.start}–{q.end}"
    outlet = outlet_label(q)
    button = (
        f'<button type="button" class="cp-quote" id="{esc(qid)}" data-doc="{esc(q.doc)}" '
        f'data-start="{esc(q.start)}" data-end="{esc(q.end)}" data-side="{esc(side)}" '
        f'title="{esc("Open " + where)}">'
        f'<q class="cp-quote-text{" cp-own-marks" if own_marks(q.text) else ""}">{esc(q.text)}</q></button>'
    )
    bits = [esc(b) for b in source_bits(q.title, q.outlet, q.date)] or [esc(q.doc)]
    url = safe_url(q.url)
    if url:
        host = urlsplit(url).hostname or url
        bits.append(f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(host)}</a>')
    source = f'<figcaption class="cp-src">{" · ".join(bits)}</figcaption>'
    return f'<figure class="cp-quote-block" data-outlet="{esc(outlet)}">{button}{source}</figure>'


def _cell_html(side: str, account: Account | None, ids: str) -> str:
    label = f'<p class="cp-cell-side">{esc(side or "(unnamed side)")}</p>'
    if account is None or not addressed(account):
        missing = '<p class="cp-missing-text">not addressed</p>'
        return f'<div class="cp-cell cp-missing" role="cell" data-side="{esc(side)}">{label}{missing}</div>'
    parts = [label]
    if account.claim.strip():
        parts.append(f'<p class="cp-claim">{esc(account.claim.strip())}</p>')
    parts += [quote_html(q, f"{ids}-{k}", side) for k, q in enumerate(account.quotes)]
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
        parts.append(f'<div class="cp-notice {STATUS[title][0]}" role="status">{head}{listed}</div>')
    return "".join(parts)


def comparison_html(c: Comparison) -> str:
    """A self-contained, escaped HTML fragment: the coverage strip, then one column per side and one
    row per point, then the key quotes and the stats."""
    question = f'<p class="cp-question">{esc(c.question)}</p>' if c.question.strip() else ""
    question += _status_html(c)  # right under the question: read before the answer, not after
    footer = _stats_html(c.stats)
    if c.abstained:
        reason = c.reason.strip() or "No reason was given."
        body = _notice_html("No comparison: the documents do not hold this dispute.", reason, "cp-abstain")
        return (
            f'<div class="cp-answer cp-abstained"><style>{ANSWER_CSS}</style>{question}{body}{footer}</div>'
        )
    names = column_names(c)
    if not c.points or not names:
        body = _notice_html("No points to compare.", c.reason.strip() or "The answer holds no points.")
        return f'<div class="cp-answer cp-empty"><style>{ANSWER_CSS}</style>{question}{body}{footer}</div>'
    n = len(names)
    heads = []
    for name in names:
        items = "".join(f"<li>{esc(s)}</li>" for s in speakers(c, name))
        listed = f'<ul class="cp-speakers">{items}</ul>' if items else ""
        heads.append(
            f'<div class="cp-side-head" role="columnheader">'
            f'<p class="cp-side-name">{esc(name or "(unnamed side)")}</p>{listed}</div>'
        )
    rows = [
        f'<div class="cp-row cp-row-head" role="row"><div class="cp-corner">Point</div>{"".join(heads)}</div>'
    ]
    for i, p in enumerate(c.points):
        kind = p.kind if p.kind in KIND_LABELS else "other"
        topic = (
            f'<div class="cp-topic" role="rowheader">'
            f'<p class="cp-topic-text">{esc(p.topic or "(no topic)")}</p>'
            f'<span class="cp-kind cp-kind-{kind}">{esc(kind_label(p.kind))}</span></div>'
        )
        cells = "".join(
            _cell_html(name, p.accounts.get(name), f"cp-q-{i}-{j}") for j, name in enumerate(names)
        )
        rows.append(f'<div class="cp-row" role="row" data-kind="{esc(p.kind)}">{topic}{cells}</div>')
    grid = f'<div class="cp-grid cp-sides-{n}" role="table" data-sides="{n}">{"".join(rows)}</div>'
    cov = coverage_of(c)
    strip, keys = strip_html(c, cov), key_quotes_html(c, quote_html, cov)
    style = f"<style>{ANSWER_CSS}{COVERAGE_CSS}{_grid_css(n)}</style>"
    return f'<div class="cp-answer">{style}{question}{strip}{grid}{keys}{footer}</div>'


def source_html(doc: Document, start: int, end: int) -> str:
    """The article with `text[start:end]` in `<mark id="cp-highlight">`; bad offsets raise ValueError."""
    text = doc.text
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise ValueError(f"offsets must be integers, got {start!r} and {end!r}")
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"offsets {start}..{end} outside the text (0..{len(text)})")
    m = doc.meta
    bits = [esc(b) for b in source_bits(m.outlet, m.date)]
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


def why_html(why: Why | None) -> str:
    """ "Why here?": one line on how the quote's speaker and side were found, from its trace."""
    line = explain(why) if why is not None else "No trace was recorded for this quote."
    return (
        f'<p class="cp-why" role="note"><style>{WHY_CSS}</style><span class="cp-why-label">'
        f'Why here?</span> <span class="cp-why-text">{esc(line)}</span></p>'
    )
