"""The PolNeAR speaker score (service/eval/polnear.py) on an invented article in PolNeAR's formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.eval.polnear import (
    Attribution,
    Tally,
    articles,
    coreference,
    gold_speakers,
    main,
    read_ann,
    same_speaker,
    score_article,
)

TEXT = (
    "Ana Ruse said the ferry fee was fair. "
    "She added that the harbour would stay open. "
    "The ferry left at noon. "
    "The board said it would review the fee."
)
# Ruse's two sentences, a pronoun Source ("She"), narration, and the board's sentence given to Ruse
# by a careless annotator (so the parser's "The board" scores wrong).
ANN = (
    "T1\tSource 0 8\tAna Ruse\n"
    "T2\tCue 9 13\tsaid\n"
    "T3\tContent 14 36\tthe ferry fee was fair\n"
    "E1\tAttribution:T2 Content:T3 Cue:T2 Source:T1\n"
    "T4\tSource 38 41\tShe\n"
    "T5\tContent 48 81;81 82\tthat the harbour would stay open.\n"
    "E2\tAttribution:T4 Content:T5 Source:T4\n"
    "T6\tSource 0 8\tAna Ruse\n"
    "T7\tContent 117 145\tit would review the fee\n"
    "E3\tAttribution:T6 Content:T7 Source:T6\n"
)


def _token(n: int, begin: int, end: int) -> str:
    offsets = (
        f"<CharacterOffsetBegin>{begin}</CharacterOffsetBegin><CharacterOffsetEnd>{end}</CharacterOffsetEnd>"
    )
    return f'<token id="{n}">{offsets}</token>'


def _mention(sentence: int, start: int, end: int, text: str, representative: bool = False) -> str:
    where = f"<sentence>{sentence}</sentence><start>{start}</start><end>{end}</end><text>{text}</text>"
    attribute = ' representative="true"' if representative else ""
    return f"<mention{attribute}>{where}</mention>"


XML = (
    "<root><document><sentences>"
    f'<sentence id="1"><tokens>{_token(1, 0, 3)}{_token(2, 4, 8)}</tokens></sentence>'
    f'<sentence id="2"><tokens>{_token(1, 38, 41)}</tokens></sentence>'
    "</sentences><coreference><coreference>"
    f"{_mention(1, 1, 3, 'Ana Ruse', representative=True)}{_mention(2, 1, 2, 'She')}"
    "</coreference></coreference></document></root>"
)


def test_read_ann_joins_sources_and_contents_and_keeps_discontinuous_spans() -> None:
    found = read_ann(ANN)
    assert found[0] == Attribution("Ana Ruse", (0, 8), ((14, 36),))
    assert found[1].content == ((48, 81), (81, 82))
    assert found[1].source == "She"


def test_coreference_names_a_pronoun_by_its_chain() -> None:
    assert coreference(XML) == {(0, 8): "Ana Ruse", (38, 41): "Ana Ruse"}


def test_gold_speakers_narration_pronouns_and_the_first_person() -> None:
    spans = [(0, 37), (38, 82), (83, 106), (107, 146)]
    found = read_ann(ANN)
    assert gold_speakers(spans, found, coreference(XML)) == ["Ana Ruse", "Ana Ruse", "", "Ana Ruse"]
    assert gold_speakers(spans[1:2], found, {}) == [None]  # an unresolved pronoun is left out
    mine = [Attribution("our", (0, 3), ((0, 37),))]
    assert gold_speakers(spans[:1], mine, {}) == [None]  # the writer's "our" is left out


@pytest.mark.parametrize(
    ("ours", "gold", "same"),
    [
        ("Ana Ruse", "harbour spokeswoman Ana Ruse", True),
        ("sources", "a source", True),
        ("Velora Board", "the board", True),
        ("Ana Ruse", "the board", False),
        ("the council", "the", False),
    ],
)
def test_same_speaker_is_a_shared_name_word(ours: str, gold: str, same: bool) -> None:
    assert same_speaker(ours, gold) is same


def test_tally_counts_each_kind_of_miss() -> None:
    tally = Tally()
    kinds = [
        tally.add("Ana Ruse", "Ana Ruse"),
        tally.add("", "Ana Ruse"),
        tally.add("The board", ""),
        tally.add("The board", "Ana Ruse"),
        tally.add("Ana Ruse", None),
    ]
    assert kinds == ["", "missed", "narration given a speaker", "wrong speaker", ""]
    assert tally.scores() == {"recall": 1 / 3, "precision": 1 / 3, "found": 2 / 3}
    assert tally.skipped == 1


def test_score_article_reads_the_parsers_speakers() -> None:
    tally = Tally()
    score_article(TEXT, ANN, XML, tally)
    # Ruse twice (the pronoun resolved by the chain), the board's sentence scored wrong, narration silent
    assert (tally.gold, tally.right, tally.given, tally.given_right) == (3, 2, 3, 2)


def test_the_test_split_is_never_read(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="never read"):
        articles(tmp_path, "test")
    with pytest.raises(SystemExit, match="not a folder"):
        articles(tmp_path, "dev")


def test_main_scores_a_split_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for sub in ("attributions", "text", "corenlp"):
        (tmp_path / "dev" / sub).mkdir(parents=True)
    (tmp_path / "dev" / "text" / "wire_ferry-fee.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "dev" / "attributions" / "wire_ferry-fee_a1b2.ann").write_text(ANN, encoding="utf-8")
    (tmp_path / "dev" / "corenlp" / "wire_ferry-fee.txt.xml").write_text(XML, encoding="utf-8")
    assert main(["--data", str(tmp_path), "--split", "dev"]) == 0
    out = capsys.readouterr().out
    assert "dev: 1 articles, 3 sentences with a gold speaker" in out
    assert "recall 0.667  precision 0.667  found 1.000" in out
