"""What every rendering of a Comparison shares: escaping, safe links, labels, stats and notices."""

from __future__ import annotations

import math
import re
from html import escape
from urllib.parse import urlsplit

from ..coverage import side_names
from ..models import Account, Comparison, Stats

KIND_LABELS: dict[str, str] = {
    "contradiction": "contradiction",
    "different_emphasis": "different emphasis",
    "one_side_only": "one side only",
}

DASH = "—"
PARTIAL_TITLE = "Partial answer: part of the model's work failed, so some of this comes from rules alone."
PRELIMINARY_TITLE = "Preliminary answer from rules; the model's answer is coming."
NOTES_TITLE = "About this answer"
STATUS = {PARTIAL_TITLE: ("cp-partial", "Partial answer", "red"),
          PRELIMINARY_TITLE: ("cp-preliminary", "Preliminary answer", "yellow"),
          NOTES_TITLE: ("cp-notes-only", "About this answer", "blue")}  # fmt: skip
"""A notice's title -> (its HTML class, its short label, its terminal colour)."""
_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)


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


def kind_label(kind: str) -> str:
    """A point's kind as words ("different emphasis")."""
    return KIND_LABELS.get(kind, str(kind).replace("_", " ") or "unknown")


def column_names(c: Comparison) -> list[str]:
    """Column order: the declared sides, then any side a point names that was not declared."""
    return side_names(c)


def speakers(c: Comparison, name: str) -> list[str]:
    """The named speakers of side `name`, blanks left out."""
    return next(([x for x in s.speakers if x.strip()] for s in c.sides if s.name == name), [])


def addressed(account: Account | None) -> bool:
    """Whether a side said anything on a point: a claim or a quote."""
    return account is not None and (bool(account.claim.strip()) or bool(account.quotes))


def own_marks(text: str) -> bool:
    """A quote that opens with a quotation mark of its own gets no added marks (no ““…”)."""
    return text[:1] in "“\"‘'«„"


def source_bits(*values: str) -> list[str]:
    """The non-blank values, stripped: the parts of a source line."""
    return [v.strip() for v in values if v and v.strip()]


def _int(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else DASH


def _latency(value: object) -> str:
    ok = isinstance(value, int | float) and math.isfinite(value) and value >= 0
    return f"{value:.2f} s" if ok else DASH


def stats_items(s: Stats) -> list[tuple[str, str]]:
    """The stats as (label, value) pairs, the same on every surface."""
    return [
        ("Backend", s.backend or DASH),
        ("Model", s.model or DASH),
        ("Strategy", s.strategy or DASH),
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


def date_span(earliest: str, latest: str) -> str:
    """ "2025-03-04 – 2025-03-18", one date when they are the same, "" when there is none."""
    if not earliest:
        return ""
    return earliest if earliest == latest else f"{earliest} – {latest}"


def share(value: float) -> str:
    """A share as a whole percentage: 0.667 -> "67%"."""
    return f"{round(100 * value)}%"
