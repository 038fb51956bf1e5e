"""Paragraphs and quotation marks: where a quotation opens and closes in a paragraph, whether it runs
on at a point of the text, and whether a sentence holds one. A single quote inside or closing a word
is an apostrophe ("Velora's", "the drivers' union")."""

from __future__ import annotations

import bisect
import re

_OPENERS, _CLOSERS = "“«„", "”»"
PIECE = 20_000
"""Longest piece of text parsed at once (characters); longer lines are cut after a sentence."""


def quote_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Quotations in one paragraph as [open, close) spans, and whether the last is left open."""
    out, start, single = [], -1, False
    for i, ch in enumerate(text):
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if start < 0:
            if ch in _OPENERS or ch == '"' or (ch in "‘'" and not before.isalnum() and after.isalnum()):
                start, single = i, ch in "‘'"
        elif ((ch in _CLOSERS or ch == '"') and not single) or (
            single and ch in "’'" and not after.isalpha()
        ):
            out.append((start, i + 1))
            start = -1
    if start >= 0:
        out.append((start, len(text)))
    return out, start >= 0


def is_quoted(sentence: str) -> bool:
    """Whether a sentence holds a quotation mark (’ inside or closing a word is an apostrophe)."""
    return bool(re.search(r"[\"“”«»„]|(?<![\w])[‘'](?=\w)", sentence))


def outside_quotes(sentence: str) -> str:
    """The sentence with its quotations left out: the words of whoever reports them."""
    spans, _ = quote_spans(sentence)
    edges = [0, *(x for span in spans for x in span), len(sentence)]
    return " ".join(sentence[edges[i] : edges[i + 1]] for i in range(0, len(edges), 2))


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Non-blank lines of the text as (start, end) spans, cut after a sentence when over PIECE long."""
    out = []
    for m in re.finditer(r"[^\n]*\S[^\n]*", text):
        start, end = m.span()
        while end - start > PIECE:
            cut = text.rfind(". ", start, start + PIECE)
            cut = cut + 2 if cut > start else start + PIECE
            out.append((start, cut))
            start = cut
        out.append((start, end))
    return out


def continues(
    paragraphs: list[tuple[int, int]], quotes: list[list[tuple[int, int]]], open_end: list[bool], start: int
) -> bool:
    """Whether a quotation opened before `start` is still open there (also across paragraphs)."""
    k = bisect.bisect_right([p for p, _ in paragraphs], start) - 1
    if k < 0:
        return False
    if any(q < start < e for q, e in quotes[k]):
        return True
    # News style: a quotation running over paragraphs opens each one again and closes only at its end.
    opens_here = any(q == paragraphs[k][0] == start for q, _ in quotes[k])
    return opens_here and k > 0 and open_end[k - 1]
