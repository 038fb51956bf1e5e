"""Pydantic models: the contract between pipeline stages."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentMeta(Strict):
    """Everything known about a stored document except its text."""

    id: str
    title: str = ""
    outlet: str = ""
    date: str = ""
    url: str = ""
    content_hash: str
    n_chars: int = 0
    n_chunks: int = 0
    source: str = ""
    ingested_at: str = ""
    encoding: str = ""  # the codec its file was read with ("" for PDFs and documents stored before)


class Document(Strict):
    """A document and its full text, the one source of truth for offsets."""

    meta: DocumentMeta
    text: str


class Span(Strict):
    """A half-open character span `[start, end)` in a document's text (string indices, in code points)."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError("end before start")
        return self


class Chunk(Span):
    """A retrieval unit: `text == document.text[start:end]`."""

    doc_id: str
    index: int
    text: str


class RetrievedChunk(Chunk):
    score: float


class Why(Strict):
    """How a statement's speaker and side were found: the rule that decided each, its cue and the
    words that decided it; for a statement no side took, why (see service/chain/trace.py)."""

    speaker: str = ""
    speaker_rule: str = ""  # a rule of attribution/patterns.RULES; empty: no speaker found
    cue: str = ""  # the cue's words: "said", "according to", "warning"
    speaker_words: str = ""  # the words of the sentence that named the speaker ("she", "the minister")
    side: str = ""
    side_rule: str = ""  # a rule of sides/placement.SIDE_RULES; empty: under no side
    side_words: str = ""  # the words that decided the side (a title, an affiliation, a name)
    unplaced: str = ""  # why no side took it


class Statement(Span):
    """A numbered candidate statement (one sentence) the model can cite by id."""

    sid: str
    doc_id: str
    text: str
    speaker: str = ""
    affiliation: str = ""
    role: str = ""  # what the attribution calls the speaker ("chief negotiator", "visiting tourist")
    quoted: bool = False
    reported: bool = False
    heading: bool = False  # headline matter: read for who speaks, never cited (see statements.py)
    why: Why = Field(default_factory=Why)  # how its speaker was found
    # Its sentence in the document's parse (a spaCy Span), set by the chain: read, never re-parsed.
    _parse: Any = PrivateAttr(default=None)

    @property
    def parse(self) -> Any:
        """The parsed sentence (a spaCy Span) the chain attached; it is never parsed again."""
        if self._parse is None:
            raise ValueError(f"statement {self.sid} has no parse attached")
        return self._parse


class Quote(Strict):
    """A verbatim quote: `text == document.text[start:end]`."""

    doc: str
    start: int
    end: int
    text: str
    title: str = ""
    outlet: str = ""
    date: str = ""
    url: str = ""
    why: Why | None = None  # how its speaker and side were found


class Account(Strict):
    claim: str
    quotes: list[Quote] = Field(default_factory=list)


class Side(Strict):
    name: str
    speakers: list[str] = Field(default_factory=list)


PointKind = Literal["contradiction", "different_emphasis", "one_side_only"]


class Point(Strict):
    topic: str
    kind: PointKind
    accounts: dict[str, Account]


class Stats(Strict):
    latency_s: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    backend: str = ""
    strategy: str = ""
    prompt_version: str = ""
    statements: int = 0
    dropped_ids: int = 0
    injections_skipped: int = 0
    retries: int = 0
    cached: bool = False


class Candidate(Strict):
    """A sentence the chain considered as a statement (for the eval's stage diagnostics)."""

    doc: str
    start: int
    end: int
    why: Why | None = None  # its speaker, and its side or why it has none


class CoverageFlag(Strict):
    """A sign of one-sided coverage, stated in one plain sentence (see service/coverage.py)."""

    kind: Literal["single_outlet", "reported_only", "outlets_favour_other"]
    text: str


class OutletCount(Strict):
    """One outlet that carries a side's account: how many of the side's quotes it gives, from which
    documents. `outlet` is the document's outlet, or its title when it names none."""

    outlet: str
    quotes: int = 0
    documents: list[str] = Field(default_factory=list)


class DocumentCount(Strict):
    """One document that carries a side's account, and how many of the side's quotes it gives."""

    doc: str
    title: str = ""
    outlet: str = ""  # as in OutletCount: the outlet, or the title when it names none
    date: str = ""
    url: str = ""
    quotes: int = 0


class KeyQuote(Strict):
    """One of the 1-3 quotes that carry most of a side's account, with its outlet."""

    quote: Quote
    outlet: str
    score: float = 0.0  # how much of the side's other quotes' content it shares (service/coverage.py)


class SideCoverage(Strict):
    """Who reports one side, and when: its documents and outlets, its dates, how much of it is in its
    own words (a quote holding quotation marks) rather than reported speech, flags, key quotes."""

    side: str
    quotes: int = 0
    direct: int = 0
    direct_share: float = 0.0  # direct / quotes; 0 when the side has no quote
    documents: list[DocumentCount] = Field(default_factory=list)
    outlets: list[OutletCount] = Field(default_factory=list)
    earliest: str = ""  # the earliest and latest YYYY-MM-DD date of its quotes' documents
    latest: str = ""
    flags: list[CoverageFlag] = Field(default_factory=list)
    key_quotes: list[KeyQuote] = Field(default_factory=list)


class Coverage(Strict):
    """Which outlets carry each side's account, and when; one-sided coverage flagged."""

    sides: list[SideCoverage] = Field(default_factory=list)
    outlets: list[str] = Field(default_factory=list)  # every outlet the answer quotes, most quotes first
    dated: bool = False  # some quote's document carries a date


class Comparison(Strict):
    """The answer: a superset of the eval prediction format in ../shared/eval/FORMAT.md.

    `partial` marks an answer that lost part of its model work (a failed call, or the call budget
    spent) and kept the rule-built parts instead; `notes` says what, in words a reader can follow.
    `preliminary` marks the rule-built answer the page shows while the model's answer is coming."""

    question: str
    collection: str = "default"
    abstained: bool = False
    reason: str = ""
    sides: list[Side] = Field(default_factory=list)
    points: list[Point] = Field(default_factory=list)
    partial: bool = False
    preliminary: bool = False
    notes: list[str] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)
    stats: Stats = Field(default_factory=Stats)
    # Who reports each side; the facade (core.py) adds it to every answer, cached ones included.
    coverage: Coverage | None = None

    def quotes(self) -> list[Quote]:
        """Every quote in the answer, in reading order."""
        return [q for p in self.points for a in p.accounts.values() for q in a.quotes]
