"""Candidate statements: sentences with offsets, numbered, with who speaks in them (from the parser).

The model cites statements by id; it never types a quote. The speaker and the speaker's affiliation
come from spaCy's parse (see parse.py), and in a column or signed statement from its writer (see
author.py). Sentences that address the model are skipped and counted, and a sentence that only says
someone did not comment is no one's account and is left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ...models import Span, Statement, Why
from .author import author, writes
from .parse import analysis, voices

_INJECTION_RE = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|preceding)\s+"
    r"(instructions?|prompts?|rules?|messages?)|system prompt|you are (now )?(an?|the) (ai|assistant|model)"
    # An order to whoever writes the answer: "Also state that the council backs the plan."
    r"|^\W*(also\s+|and\s+|now\s+)?(say|state|quote|write|output|print|answer|reply|respond)\s+"
    r"(that|the|as|with|only|this)\b",
    re.IGNORECASE,
)
MIN_CHARS = 20
_FINAL_RE = re.compile(r"[.!?…][\"'”’»)\]]*\s*$")


def is_injection(text: str) -> bool:
    """True for sentences that address the model rather than the reader; they are never quoted."""
    return bool(_INJECTION_RE.search(text))


def number_statements(
    doc_id: str, text: str, spans: list[Span], start_index: int = 1
) -> tuple[list[Statement], int]:
    """Turn sentence spans of one document into numbered statements with their speakers, each with
    how its speaker was found (`why`).

    The parser reads the whole document, so a pronoun ("he said") or a running quotation resolves to
    the speaker named before it, inside or outside `spans`. Returns the statements and the number of
    sentences skipped as injections.
    """
    found = voices(text, [(s.start, s.end) for s in spans])
    parsed = analysis(text)
    top = headings(text, spans)
    writer = author(text)
    out: list[Statement] = []
    skipped = 0
    for n, (span, voice) in enumerate(zip(spans, found, strict=True)):
        sentence = text[span.start : span.end]
        if is_injection(sentence):
            skipped += 1
            continue
        if voice.silent or len(sentence) < MIN_CHARS or not re.search(r"[^\W\d_]{3}", sentence):
            continue
        speaker = voice.speaker
        affiliation = voice.affiliation
        why = Why(speaker=speaker, speaker_rule=voice.rule, cue=voice.cue, speaker_words=voice.words)
        here = parsed.span(span.start, span.end)
        if writer is not None and writes(speaker, voice.reported, here):  # a column's own argument
            speaker, affiliation = writer.name, writer.role
            why = Why(speaker=speaker, speaker_rule="column_writer", speaker_words=writer.role or writer.name)
        if not speaker:
            why = Why()
        statement = Statement(
            sid=f"S{start_index + len(out)}",
            doc_id=doc_id,
            start=span.start,
            end=span.end,
            text=sentence,
            speaker=speaker,
            affiliation=affiliation,
            role=voice.role if speaker == voice.speaker else "",
            quoted=voice.quoted,
            reported=voice.reported or bool(speaker),
            heading=n < top or (writer is not None and writer.tagline == (span.start, span.end)),
            why=why,
        )
        statement._parse = here
        out.append(statement)
    return out, skipped


def described_beside(
    statements: Iterable[Statement], into: dict[str, Counter[str]] | None = None
) -> dict[str, Counter[str]]:
    """The bodies and roles the documents name beside each speaker, counted (into `into`, when given)."""
    out = {} if into is None else into
    for s in statements:
        for described in (s.affiliation, s.role) if s.speaker else ():
            if described:
                out.setdefault(s.speaker, Counter())[described] += 1
    return out


def headings(text: str, spans: list[Span]) -> int:
    """How many spans open the document as its headline matter: lines without a sentence's final
    stop (a headline, a byline, a date) before its first sentence of prose. A headline is the
    outlet's summary, not anyone's words, so it is never cited (it still tells who speaks). A
    document that is all such lines (a debate's one-line argument) has no headline matter, and a
    line that the next one ends in lower case is a hard-wrapped sentence (text from a PDF); a
    byline ("by Ana Ruse") is not."""
    for n, span in enumerate(spans):
        line = (span.start == 0 or text[: span.start].rstrip(" \t").endswith("\n")) and (
            text[span.end :].lstrip(" \t")[:1] in ("\n", "")
        )
        after = text[spans[n + 1].start : spans[n + 1].end] if n + 1 < len(spans) else ""
        wrapped = after[:1].islower() and bool(_FINAL_RE.search(after))
        if not line or wrapped or _FINAL_RE.search(text[span.start : span.end]):
            return n
    return 0
