"""A Comparison as Markdown and JSON for export: key quotes first, then coverage, sides and points."""

from __future__ import annotations

import re

from ..coverage import coverage_of
from ..models import Comparison, Coverage, Quote
from .common import (
    addressed,
    column_names,
    date_span,
    kind_label,
    safe_url,
    share,
    source_bits,
    speakers,
    stats_items,
    status_notices,
)

_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~$#])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
# List markers and setext underlines only matter at the start of a line (quotes start lines).
_MD_LINE_START = re.compile(r"^(\d*)((?<=\d)[.)](?=\s|$)|(?<!\d)[+=-])")


def md(text: str) -> str:
    """Inline text on one line, with anything that could start markup or HTML escaped."""
    text = " ".join(str(text).split())
    return _MD_LINE_START.sub(r"\1\\\2", _MD_ENTITY.sub(r"\\&", _MD_INLINE.sub(r"\\\1", text)))


def _md_code(text: str) -> str:
    """A code span that survives backticks in the text."""
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _md_quote(q: Quote) -> list[str]:
    # Every line of the quote stays in the blockquote; each is escaped as if it began a block.
    lines = [f"> {md(line)}" if line.strip() else ">" for line in q.text.splitlines() or [""]]
    source = [md(b) for b in source_bits(q.title, q.outlet, q.date)]
    url = safe_url(q.url)
    if url:
        source.append(f"<{url.replace('>', '%3E')}>")
    elif q.url.strip():
        source.append(md(q.url))
    source.append(f"doc {_md_code(q.doc)} chars {q.start}–{q.end}")
    return [*lines, ">", f"> — {' · '.join(source)}", ""]


def _key_quotes(cov: Coverage) -> list[str]:
    out = ["## Key quotes", ""]
    for s in cov.sides:
        if not s.key_quotes:
            continue
        out += [f"**{md(s.side) or '(unnamed side)'}**", ""]
        for k in s.key_quotes:
            out += _md_quote(k.quote)
    return out


def _coverage(cov: Coverage) -> list[str]:
    out = ["## Coverage", ""]
    for s in cov.sides:
        name = f"**{md(s.side) or '(unnamed side)'}**"
        if not s.quotes:
            out.append(f"- {name}: no quotes")
            continue
        outlets = ", ".join(f"{md(o.outlet)} ({o.quotes})" for o in s.outlets)
        span = date_span(s.earliest, s.latest) or "no dates"
        quotes = f"{s.quotes} quote{'s' if s.quotes != 1 else ''}"
        out.append(f"- {name}: {quotes} from {outlets}; {span}; {share(s.direct_share)} in own words")
        out += [f"  - ⚠ {md(f.text)}" for f in s.flags]
    return [*out, ""]


def comparison_markdown(c: Comparison) -> str:
    """The answer as Markdown for export: question, each side's key quotes, coverage, sides, points
    with quotes, stats."""
    out = [f"# {md(c.question) or 'Comparison'}", ""]
    for title, notes in status_notices(c):
        out += [f"**{md(title)}**", "", *(f"- {md(n)}" for n in notes), *([""] if notes else [])]
    if c.abstained:
        out += [f"**Abstained:** {md(c.reason) or 'no reason was given.'}", ""]
    else:
        names = column_names(c)
        cov = coverage_of(c)
        if any(s.key_quotes for s in cov.sides):
            out += _key_quotes(cov) + _coverage(cov)
        out += ["## Sides", ""]
        for name in names:
            listed = ", ".join(md(s) for s in speakers(c, name))
            out.append(f"- **{md(name) or '(unnamed side)'}**" + (f" — {listed}" if listed else ""))
        out += ["", "## Points", ""] if c.points else ["", "*No points to compare.*", ""]
        for i, p in enumerate(c.points, 1):
            out += [f"### {i}. {md(p.topic) or '(no topic)'}", "", f"*Kind: {kind_label(p.kind)}*", ""]
            for name in names:
                account = p.accounts.get(name)
                label = f"**{md(name) or '(unnamed side)'}:**"
                if account is None or not addressed(account):
                    out += [f"{label} *not addressed*", ""]
                    continue
                out += [f"{label} {md(account.claim)}".rstrip(), ""]
                for q in account.quotes:
                    out += _md_quote(q)
    out += ["## Stats", ""] + [f"- {k}: {md(v)}" for k, v in stats_items(c.stats)]
    return "\n".join(out) + "\n"


def comparison_json(c: Comparison) -> str:
    """The answer as indented JSON, non-ASCII kept as is, its coverage included; the one serialisation
    every surface uses."""
    if c.coverage is None:
        c = c.model_copy(update={"coverage": coverage_of(c)})
    return c.model_dump_json(indent=2)
