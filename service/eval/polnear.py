"""Who said what, scored on PolNeAR: the parser's speaker of each sentence against the annotators'.

PolNeAR (github.com/networkdynamics/PolNeAR) holds 1,008 news articles from the 2016 US election
with every attribution marked by hand as Source, Cue and Content (brat standoff files). Clone it and
point `--data` at its `data` folder; nothing is copied into this project. Tune on `train`, check on
`dev`. The `test` split is how the project's attribution is judged, so this script refuses it.

    .venv/bin/python -m service.eval.polnear --data ../PolNeAR/data --split dev [--limit 100] [--show]

A sentence's gold speaker is the Source of the attribution whose Content covers most of it (at least
a third); a sentence no Content covers is narration, nobody's account. A pronoun Source ("she said")
is resolved through the CoreNLP coreference the dataset ships (any name in its chain); one it
cannot resolve is left out of both scores, and so is a first-person one (the writer's or a quoted
speaker's "I", "we"). Speakers match when they share a name word (the first five letters of a word
of two letters or more, past a short stop list): "Ana Ruse" and "Velora campaign manager Ana Ruse",
"sources" and "a source".

- recall: of sentences with a gold speaker, the share whose parsed speaker matches it;
- precision: of sentences the parser gives a speaker, the share whose gold speaker matches it
  (narration given a speaker counts against it);
- found: of sentences with a gold speaker, the share given any speaker.
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "dev")
COVER = 0.3  # share of a sentence a Content must cover to make it that Source's account (a quote
# with a long "citing ..." tail still is)
_STOP = frozenset(
    "the a an of and to in for on at by with from its his her their our my your this that "
    "mr mrs ms dr said says".split()
)
_PRONOUNS = frozenset("he she they it him her them his their its one who which that".split())
_FIRST_PERSON = frozenset("i me my we us our you".split())  # the writer or the reader: left out
_SKIP = _PRONOUNS | _FIRST_PERSON
_WORD_RE = re.compile(r"[^\W_]{2,}")


@dataclass(frozen=True)
class Attribution:
    """One annotated attribution: its Source's words and character span, and its Content's spans."""

    source: str
    source_span: tuple[int, int] | None
    content: tuple[tuple[int, int], ...]


def read_ann(ann: str) -> list[Attribution]:
    """The attributions of one brat standoff file (`T` spans joined by `E` Attribution events)."""
    spans: dict[str, tuple[tuple[tuple[int, int], ...], str]] = {}
    events: list[dict[str, str]] = []
    for line in ann.splitlines():
        parts = line.split("\t")
        if line.startswith("T") and len(parts) >= 3:
            where = parts[1].partition(" ")[2]  # "Content 10 20;24 30"
            spans[parts[0]] = (tuple(_span(piece) for piece in where.split(";")), parts[2])
        elif line.startswith("E") and len(parts) >= 2:
            events.append(dict(arg.split(":", 1) for arg in parts[1].split() if ":" in arg))
    out = []
    for event in events:
        content = spans.get(event.get("Content", ""))
        if content is None:
            continue
        source = spans.get(event.get("Source", ""))
        out.append(Attribution(source[1] if source else "", source[0][0] if source else None, content[0]))
    return out


def _span(piece: str) -> tuple[int, int]:
    start, end = piece.split()
    return int(start), int(end)


def words(name: str) -> set[str]:
    """The name words of a speaker, as compared (see the module's docstring)."""
    return {w[:5] for w in (m.group(0).casefold() for m in _WORD_RE.finditer(name)) if w not in _STOP}


def same_speaker(ours: str, gold: str) -> bool:
    """Whether two speaker names share a name word."""
    return bool(words(ours) & words(gold))


def coreference(xml: str) -> dict[tuple[int, int], str]:
    """From a CoreNLP xml file: each coreferring mention's character span -> its chain's names (every
    mention that is not a pronoun, joined by " | "): a pronoun's speaker may be named any of them."""
    root = ET.fromstring(xml)
    offsets: dict[tuple[int, int], tuple[int, int]] = {}  # (sentence, token) -> (begin, end)
    for sent in root.iter("sentence"):
        if sent.find("tokens") is None:
            continue
        n = int(sent.get("id", "0"))
        for tok in sent.iter("token"):
            begin, end = tok.findtext("CharacterOffsetBegin"), tok.findtext("CharacterOffsetEnd")
            offsets[(n, int(tok.get("id", "0")))] = (int(begin or 0), int(end or 0))
    out: dict[tuple[int, int], str] = {}
    chains = root.find(".//coreference")
    for chain in chains.findall("coreference") if chains is not None else []:
        mentions = []
        for m in chain.findall("mention"):
            n, start, end = (int(m.findtext(k) or 0) for k in ("sentence", "start", "end"))
            if (n, start) in offsets and (n, end - 1) in offsets:
                span = (offsets[(n, start)][0], offsets[(n, end - 1)][1])
                mentions.append((span, m.findtext("text") or ""))
        named = " | ".join(dict.fromkeys(t for _, t in mentions if not set(t.casefold().split()) & _SKIP))
        if named:
            out.update((span, named) for span, _ in mentions)
    return out


def gold_speakers(
    spans: list[tuple[int, int]], attributions: list[Attribution], chains: dict[tuple[int, int], str]
) -> list[str | None]:
    """Each sentence's gold speaker: "" for narration, None where it is an unresolved pronoun."""
    out: list[str | None] = []
    for a, b in spans:
        best, share = None, 0.0
        for att in attributions:
            covered = sum(max(0, min(b, e) - max(a, s)) for s, e in att.content) / max(b - a, 1)
            if covered > share:
                best, share = att, covered
        if best is None or share < COVER:
            out.append("")
        elif not words(best.source) or set(best.source.casefold().split()) & _FIRST_PERSON:
            out.append(None)
        elif best.source.casefold() in _PRONOUNS:
            out.append(chains.get(best.source_span) if best.source_span else None)
        else:
            out.append(best.source)
    return out


@dataclass
class Tally:
    """Sentence counts for the three scores, and the misses by kind for `--show`."""

    gold: int = 0
    right: int = 0
    found: int = 0
    given: int = 0
    given_right: int = 0
    skipped: int = 0

    def add(self, ours: str, gold: str | None) -> str:
        """Count one sentence; returns what went wrong ("" when nothing did)."""
        if gold is None:
            self.skipped += 1
            return ""
        hit = bool(ours and gold and same_speaker(ours, gold))
        self.gold += bool(gold)
        self.right += hit
        self.found += bool(gold and ours)
        self.given += bool(ours)
        self.given_right += hit
        if gold and not ours:
            return "missed"
        if ours and not gold:
            return "narration given a speaker"
        return "" if hit or not ours else "wrong speaker"

    def scores(self) -> dict[str, float]:
        """Recall, precision and found, as shares."""
        return {
            "recall": self.right / max(self.gold, 1),
            "precision": self.given_right / max(self.given, 1),
            "found": self.found / max(self.gold, 1),
        }


def articles(data: Path, split: str) -> list[tuple[str, Path, Path | None]]:
    """(name, one annotator's attribution file, its CoreNLP xml if any) for each article of a split."""
    if split not in SPLITS:
        raise SystemExit(f"error: --split must be one of {', '.join(SPLITS)} (the test split is never read)")
    folder = data / split
    if not (folder / "attributions").is_dir():
        raise SystemExit(f"error: {folder / 'attributions'} is not a folder: point --data at PolNeAR's data")
    seen: set[str] = set()
    out = []
    for ann in sorted((folder / "attributions").glob("*.ann")):
        name = ann.stem.rsplit("_", 1)[0]  # one annotator per article: the first
        if name in seen or not (folder / "text" / f"{name}.txt").is_file():
            continue
        seen.add(name)
        xml = folder / "corenlp" / f"{name}.txt.xml"
        out.append((name, ann, xml if xml.is_file() else None))
    return out


def score_article(
    text: str, ann: str, xml: str | None, tally: Tally, show: Counter[str] | None = None
) -> None:
    """Add one article's sentences to `tally` (and, with `show`, print each miss)."""
    from ..chain.attribution.statements import number_statements
    from ..library import sentences

    split = sentences(text)
    spans = [(s.start, s.end) for s in split]
    found, _ = number_statements("doc", text, split)
    ours = {(s.start, s.end): s.speaker for s in found}
    chains = coreference(xml) if xml else {}
    for (a, b), gold in zip(spans, gold_speakers(spans, read_ann(ann), chains), strict=True):
        what = tally.add(ours.get((a, b), ""), gold)
        if what and show is not None:
            show[what] += 1
            line = " ".join(text[a:b].split())[:150]
            print(f"{what:26} ours={ours.get((a, b), '')!r:28} gold={gold!r:28} | {line}")


def main(argv: list[str] | None = None) -> int:
    """Score the parser's speakers on a PolNeAR split and print the three shares."""
    about = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m service.eval.polnear", description=about)
    parser.add_argument("--data", type=Path, required=True, help="PolNeAR's data folder")
    parser.add_argument("--split", default="train", help="train or dev (never test)")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N articles")
    parser.add_argument("--show", action="store_true", help="print every sentence scored wrong")
    args = parser.parse_args(argv)
    chosen = articles(args.data, args.split)[: args.limit or None]
    tally, show = Tally(), Counter[str]() if args.show else None
    for name, ann, xml in chosen:
        text = (args.data / args.split / "text" / f"{name}.txt").read_text(encoding="utf-8")
        coref = xml.read_text(encoding="utf-8") if xml else None
        score_article(text, ann.read_text(encoding="utf-8"), coref, tally, show)
    s = tally.scores()
    print(
        f"{args.split}: {len(chosen)} articles, {tally.gold} sentences with a gold speaker "
        f"({tally.skipped} unresolved pronouns left out)\n"
        f"recall {s['recall']:.3f}  precision {s['precision']:.3f}  found {s['found']:.3f}"
    )
    if show:
        print(dict(show))
    return 0


if __name__ == "__main__":
    sys.exit(main())
