"""Split a document into sentences and sentence-aligned chunks, with exact character offsets."""

from __future__ import annotations

import itertools
import re
import threading
from functools import lru_cache

import pysbd

from ..models import Chunk, Span

_PARAGRAPH = re.compile(r"\n\s*\n")
_SPACE = re.compile(r"\s")
_BYLINE = re.compile(r"by\s+[A-Z]")
_BROKEN_WORD = re.compile(r"(?<=\w)(-[ \t]*\n\s*)(\w+)")  # the break, and the rest of the word
WRAPPED_LINES = 3  # breaks before a paragraph's last line that make it a wrapped block, at the least


_LOCAL = threading.local()


def _segmenter() -> pysbd.Segmenter:
    """One segmenter per thread: pysbd keeps per-call state on it, and the page and the eval's
    workers split sentences from several threads at once."""
    if not hasattr(_LOCAL, "segmenter"):
        _LOCAL.segmenter = pysbd.Segmenter(language="en", clean=False)
    return _LOCAL.segmenter


def _tight(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink `[start, end)` so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraphs of `text` (split at blank lines) as tight spans: sentences never cross them."""
    spans, cursor = [], 0
    for m in _PARAGRAPH.finditer(text):
        spans.append((cursor, m.start()))
        cursor = m.end()
    spans.append((cursor, len(text)))
    return [s for s in (_tight(text, a, b) for a, b in spans) if s[1] > s[0]]


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long span at whitespace into pieces of at most `limit` characters."""
    pieces = []
    while end - start > limit:
        cut = start + limit
        space = text.rfind(" ", start + limit // 2, cut)
        if space > start:
            cut = space
        a, b = _tight(text, start, cut)
        if b > a:
            pieces.append((a, b))
        start = cut
    a, b = _tight(text, start, end)
    if b > a:
        pieces.append((a, b))
    return pieces


def sentences(text: str, max_len: int = 2000) -> list[Span]:
    """Sentences of `text` as tight spans; paragraphs never merge, over-long sentences are cut."""
    return [Span(start=s, end=e) for a, b in segments(text) for s, e in _split_long(text, a, b, max_len)]


@lru_cache(maxsize=64)
def segments(text: str) -> tuple[tuple[int, int], ...]:
    """pysbd's sentences of `text`, tight, before over-long ones are cut. Remembered: a text is split at
    ingest (chunks) and again per question (statements), and pysbd costs ~5 ms per paragraph."""
    out: list[tuple[int, int]] = []
    for p_start, p_end in paragraphs(text):
        par = unwrapped(text[p_start:p_end])  # the same length: its offsets are the text's
        cursor = 0
        for piece in _segmenter().segment(par):
            found = par.find(piece, cursor)
            if found < 0:  # pysbd changed the text: fall back to the rest of the paragraph
                found, piece = cursor, par[cursor:]
            a, b = found, found + len(piece)
            cursor = b
            out.append(_tight(text, p_start + a, p_start + b))
        if cursor < len(par):  # anything pysbd left behind at the end of the paragraph
            out.append(_tight(text, p_start + cursor, p_end))
    return tuple((a, b) for a, b in out if b > a)


def rejoined(text: str) -> str:
    """`text` with the words a hard-wrapped text broke at its line ends made whole ("de-\nfendant"
    -> "defendant"): for reading, never for quoting (offsets change)."""
    return _BROKEN_WORD.sub(r"\2", text)


def rejoined_in_place(text: str) -> str:
    """`text` with the words a hard-wrapped text broke at its line ends made whole and followed by
    the spaces the break took ("ar-\ngued that" -> "argued   that"), so that everything outside those
    words keeps its offset: for parsing, where "ar-" and "gued" are no verb of speech."""
    return _BROKEN_WORD.sub(lambda m: m.group(2) + " " * len(m.group(1)), text)


def unwrapped(paragraph: str) -> str:
    """The paragraph with the line breaks inside its sentences made spaces (the same length), so
    that the segmenter, which ends a sentence at a line break, reads a hard-wrapped sentence whole
    (text from a PDF: a court opinion, a filing). A break is inside a sentence where the next line
    opens in lower case or the line ends in a hyphen or comma, and every break is where most lines
    run to about one width (a wrapped block); a headline over its first sentence stays apart."""
    lines = paragraph.split("\n")
    if len(lines) < 2:
        return paragraph
    widths = [len(line.rstrip()) for line in lines[:-1]]
    wide = max(widths)
    block = (
        len(widths) >= WRAPPED_LINES
        and wide >= 40
        and sum(w >= 0.7 * wide for w in widths) >= 0.75 * len(widths)
    )
    out = []
    for line, after in itertools.pairwise(lines):
        lower = after.lstrip()[:1].islower() and not _BYLINE.match(after.lstrip())  # "by Ana Ruse" is a line
        inside = block or lower or line.rstrip().endswith(("-", ","))
        out.append(line + (" " if inside else "\n"))
    return "".join(out) + lines[-1]


def chunks(doc_id: str, text: str, size: int, overlap: int) -> list[Chunk]:
    """Group consecutive sentences into chunks of at most `size` characters, overlapping by up to
    `overlap` characters of whole sentences; `text[chunk.start:chunk.end] == chunk.text`."""
    units: list[tuple[int, int]] = []
    for s in sentences(text, max_len=size):
        units.append((s.start, s.end))
    out: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= size:
            j += 1
        start, end = units[i][0], units[j][1]
        out.append(Chunk(doc_id=doc_id, index=len(out), start=start, end=end, text=text[start:end]))
        if j + 1 >= len(units):
            break
        nxt = j + 1
        # Step back over whole sentences for the overlap, but only as far as still leaves room for the
        # next new sentence; otherwise the next chunk would be a copy of this one's tail.
        while (
            nxt - 1 > i and end - units[nxt - 1][0] <= overlap and units[j + 1][1] - units[nxt - 1][0] <= size
        ):
            nxt -= 1
        i = nxt
    return out
