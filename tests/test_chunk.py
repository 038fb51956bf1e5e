"""Sentences and chunks: exact offsets on awkward text, size and overlap limits, nothing lost."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from service.library.chunk import chunks, rejoined, rejoined_in_place, sentences
from service.models import Chunk, Span

_WS = re.compile(r"\s+")

LONG_WORDS = " ".join(f"word{i}" for i in range(1200))[:5000]
LONG_SOLID = "x" * 5000

CASES = {
    "emoji": "Talks failed 😀 today. Both sides 🇵🇰🇦🇫 blamed each other! Is peace over? 👍🏽",
    "nbsp": "The minister\u00a0said\u00a0no. Talks\u00a0ended. Officials met at 10\u00a0a.m. on Friday.",
    "curly_quotes": "“The Afghans wanted verbal guarantees,” Asif said. ‘No,’ said Mujahid. It’s over.",
    "crlf": "Headline Here\r\n\r\nFirst sentence. Second one.\r\nThird line here.\r\n\r\nNew paragraph.\r\n",
    "headlines": "News\n\nPeace Talks Collapse\n\nIstanbul – Talks failed. Both sides blamed them.\n\nMore",
    "single_newline_headline": "Headline Without Period\nBody sentence one. Body two.",
    "tabs_and_spaces": "A\tb  c.   D e.\n\n\n  \n\t F g h  ",
    "abbreviations": 'Mr. Smith went to Northport D.C. yesterday. Really?! Yes… He said "no." Then left.',
    "long_words": LONG_WORDS,
    "long_solid": LONG_SOLID,
    "long_inside_paragraphs": f"Intro line.\n\n{LONG_WORDS}\n\nOutro. The end.",
    "mixed_scripts": "Kabul (کابل) said talks failed. Islamabad disagreed. 北京 stayed quiet.",
}


def squash(text: str) -> str:
    """The text without whitespace: what must survive sentence splitting and chunking."""
    return _WS.sub("", text)


def check_sentences(text: str, spans: list[Span], max_len: int) -> None:
    """Tight, ordered, disjoint, bounded, and together they hold every non-space character."""
    previous_end = 0
    for s in spans:
        piece = text[s.start : s.end]
        assert piece, f"empty sentence at {s}"
        assert piece == piece.strip(), f"sentence not tight: {piece!r}"
        assert len(piece) <= max_len
        assert s.start >= previous_end, "sentences overlap or go backwards"
        previous_end = s.end
    assert squash("".join(text[s.start : s.end] for s in spans)) == squash(text)


def check_chunks(text: str, got: list[Chunk], size: int, overlap: int) -> None:
    """Exact offsets, bounded size and overlap, steady progress, and no sentence left out."""
    assert [c.index for c in got] == list(range(len(got)))
    for c in got:
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
        assert 0 < len(c.text) <= size
    for prev, cur in pairwise(got):
        # Each chunk must add new text; a chunk inside its predecessor is wasted work.
        assert cur.start > prev.start and cur.end > prev.end, (prev, cur)
        assert prev.end - cur.start <= overlap, "overlap larger than the setting"
    for s in sentences(text, max_len=size):
        assert any(c.start <= s.start and s.end <= c.end for c in got), f"sentence {s} in no chunk"


@pytest.mark.parametrize("name", sorted(CASES))
def test_sentences_exact_on_awkward_text(name: str) -> None:
    text = CASES[name]
    check_sentences(text, sentences(text), max_len=2000)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize(("size", "overlap"), [(800, 120), (100, 0), (300, 150), (2000, 400)])
def test_chunks_exact_on_awkward_text(name: str, size: int, overlap: int) -> None:
    text = CASES[name]
    check_chunks(text, chunks("d", text, size, overlap), size, overlap)


def test_seed_sentences_and_chunks(seed_path: Path) -> None:
    text = seed_path.read_text(encoding="utf-8")
    spans = sentences(text)
    check_sentences(text, spans, max_len=2000)
    assert len(spans) > 20
    for size, overlap in [(800, 120), (200, 50), (5000, 0)]:
        got = chunks("seed", text, size, overlap)
        check_chunks(text, got, size, overlap)
        assert {c.doc_id for c in got} == {"seed"}


def test_seed_chunks_do_overlap(seed_path: Path) -> None:
    text = seed_path.read_text(encoding="utf-8")
    got = chunks("seed", text, 800, 120)
    assert len(got) > 3
    assert any(prev.end > cur.start for prev, cur in pairwise(got))
    no_overlap = chunks("seed", text, 800, 0)
    assert all(prev.end <= cur.start for prev, cur in pairwise(no_overlap))


def test_headlines_stay_their_own_sentences() -> None:
    text = CASES["headlines"]
    got = [text[s.start : s.end] for s in sentences(text)]
    assert got[:2] == ["News", "Peace Talks Collapse"]
    assert got[-1] == "More"
    for s in sentences(text):
        assert "\n\n" not in text[s.start : s.end]


def test_single_newline_headline_is_split() -> None:
    text = CASES["single_newline_headline"]
    first = sentences(text)[0]
    assert text[first.start : first.end] == "Headline Without Period"


WRAPPED = (
    "The ferry company argued that the toll was a fee for a service and not a\n"
    "  tax, so that the harbour board could set it without a vote of the coun-\n"
    "  cil. The board disagreed. It held that a charge every traveller must pay\n"
    "  to cross is a tax, whatever its name, and that only the council may levy\n"
    "  it."
)


def test_a_hard_wrapped_paragraph_is_read_in_whole_sentences() -> None:
    """Text from a PDF (a court opinion) breaks its lines at one width, inside sentences."""
    got = [" ".join(WRAPPED[s.start : s.end].split()) for s in sentences(WRAPPED)]
    assert got == [
        "The ferry company argued that the toll was a fee for a service and not a tax, so that the "
        "harbour board could set it without a vote of the coun- cil.",
        "The board disagreed.",
        "It held that a charge every traveller must pay to cross is a tax, whatever its name, and "
        "that only the council may levy it.",
    ]


def test_words_broken_at_line_ends_are_made_whole_in_place() -> None:
    """For the parser: the same length, and every word after a broken one where it was."""
    text = "the ferry company ar-\n  gued that the coun-\ncil may not levy it"
    mended = rejoined_in_place(text)
    assert mended == "the ferry company argued     that the council   may not levy it"
    assert mended.index("that") == text.index("that") and mended.index("may") == text.index("may")
    assert "".join(rejoined_in_place(WRAPPED).split()) == "".join(rejoined(WRAPPED).split())


def test_a_line_that_goes_on_in_lower_case_continues_its_sentence() -> None:
    text = "Headline Over The Story\nThe board met on Monday and\nvoted for the toll. It meets again soon."
    got = [text[s.start : s.end] for s in sentences(text)]
    assert got[0] == "Headline Over The Story"
    assert got[1] == "The board met on Monday and\nvoted for the toll."


def test_crlf_paragraphs_never_merge() -> None:
    text = CASES["crlf"]
    got = [text[s.start : s.end] for s in sentences(text)]
    assert got[0] == "Headline Here"
    assert got[-1] == "New paragraph."
    assert not any("\r\n\r\n" in g for g in got)


def test_long_sentence_is_cut_at_spaces() -> None:
    spans = sentences(LONG_WORDS, max_len=800)
    assert len(spans) >= 7
    for s in spans:
        # A cut between two words: never inside `wordNNN`.
        assert s.start == 0 or LONG_WORDS[s.start - 1] == " "
        assert s.end == len(LONG_WORDS) or LONG_WORDS[s.end] == " "


def test_overlap_never_makes_a_redundant_chunk() -> None:
    # A short sentence that fits the overlap, followed by one too long to join it: the short one
    # must not become a chunk of its own that repeats the previous chunk's tail.
    a = "A" + " a" * 340 + "."  # 683 chars
    b = "Short one here."
    c = "C" + " c" * 394 + "."  # 790 chars: with b it is over 800
    text = f"{a} {b} {c}"
    got = chunks("d", text, 800, 120)
    check_chunks(text, got, 800, 120)
    assert [c.text for c in got] == [f"{a} {b}", c]


def test_overlap_is_whole_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    got = chunks("d", text, 200, 60)
    check_chunks(text, got, 200, 60)
    starts = {s.start for s in sentences(text)}
    assert all(c.start in starts for c in got)
    assert any(prev.end > cur.start for prev, cur in pairwise(got))


@pytest.mark.parametrize("text", ["", "   ", "\n\n\r\n\t", "\u00a0"])
def test_blank_text_has_no_sentences_or_chunks(text: str) -> None:
    assert sentences(text) == []
    assert chunks("d", text, 800, 120) == []
