"""Quotation marks: where a quotation opens and closes in a paragraph, and whether a sentence holds
one. A single quote inside or closing a word is an apostrophe ("Velora's", "the drivers' union")."""

from __future__ import annotations

import re

_OPENERS, _CLOSERS = "“«„", "”»"


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
