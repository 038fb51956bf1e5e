"""The speaker finder on spaCy's parse: each rule on invented sentences, then the seed article."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from service.chain.attribution import coref, parse
from service.chain.attribution.parse import Voice, analysis, voices
from service.chain.attribution.quotes import is_quoted
from service.errors import SetupError

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"


def _sentences(text: str) -> list[tuple[int, int]]:
    """Test texts are written one sentence per line or after ". ", so a plain splitter will do."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\s].*?(?:[.!?][”’\"']?(?=\s|$)|$)", text, re.M)]


def _all(text: str) -> list[Voice]:
    return voices(text, _sentences(text))


def _one(text: str) -> Voice:
    (voice,) = voices(text, [(0, len(text))])
    return voice


# --- one sentence ---------------------------------------------------------------------------------
def test_subject_of_a_reporting_verb_is_the_full_name() -> None:
    v = _one("Dorin Petrescu said the budget would not hold.")
    assert (v.speaker, v.reported, v.quoted) == ("Dorin Petrescu", True, False)


def test_possessive_title_gives_the_affiliation() -> None:
    v = _one("Ardovia's Finance Minister Dorin Petrescu told reporters that taxes would rise.")
    assert (v.speaker, v.affiliation) == ("Dorin Petrescu", "Ardovia")


def test_apposition_after_the_name_gives_the_affiliation() -> None:
    v = _one("Dorin Petrescu, Ardovia's finance minister, warned that the budget would not hold.")
    assert (v.speaker, v.affiliation) == ("Dorin Petrescu", "Ardovia")


def test_title_with_the_name_in_apposition_takes_the_person() -> None:
    v = _one("On Monday the union's general secretary, Ilinca Lupescu, said the strike would go ahead.")
    assert (v.speaker, v.affiliation) == ("Ilinca Lupescu", "the union")


def test_its_title_speaks_for_what_the_sentence_before_was_about() -> None:
    text = (
        "Norvik Paper Mills, the paper maker based outside Dunholt, employs 300 people.\n"
        "Its chief executive, Lena Vogt, said the mill had halved its water use.\n"
        "The weather was dry.\n"
        "Its chairman, Odo Quenby, said the river was low."
    )
    found = {v.speaker: v.affiliation for v in _all(text) if v.speaker}
    assert found == {"Lena Vogt": "Norvik Paper Mills", "Odo Quenby": ""}  # the weather is no one


def test_its_title_after_a_name_described_as_a_thing() -> None:
    # The recogniser takes "Pell Orchards" for a person; the apposition says it is a business.
    text = (
        "Pell Orchards, the cider maker near Dunholt, employs 60 people.\n"
        "Its founder, Ivo Renk, said the river was low."
    )
    found = {v.speaker: v.affiliation for v in _all(text) if v.speaker}
    assert found == {"Ivo Renk": "Pell Orchards"}


def test_someone_introduced_without_speaking_is_remembered() -> None:
    text = (
        "The Harbour Board's chair, Karl Ode, visited the quay on Monday.\n"
        "Ode said the fees would rise.\n"
        "Greta Holm walked along the pier."
    )
    assert [v.affiliation for v in _all(text) if v.speaker] == [""]  # not in the sentence he speaks in
    assert parse.introductions(text) == [("Karl Ode", "The Harbour Board")]  # but in the one before


def test_a_verb_sharing_a_passive_subject_is_not_said_by_the_agent() -> None:
    v = _one("The harbour master was angered by Karl Ode's remarks and said the quay was safe.")
    assert v.speaker == "The harbour master" and v.reported
    assert _one("The report was denied by Karl Ode on Monday.").speaker == "Karl Ode"  # the agent speaks


def test_a_bare_quotation_right_after_reported_speech_is_the_same_voice() -> None:
    text = (
        "Mayor Ana Ruse says the ferry plan has failed.\n\n"
        "“It was a very costly mistake. Nobody asked the islanders.”\n\n"
        "The ferry carries 900 people a day.\n\n"
        "“We will not pay twice.”"
    )
    speakers = [v.speaker for v in _all(text)]
    assert speakers[0].endswith("Ana Ruse") and speakers[1:3] == [speakers[0]] * 2
    assert speakers[3:] == ["", ""]  # narration between: a later bare quotation is no one's


def test_spokesman_for_an_organisation() -> None:
    v = _one("A spokesman for the Harbour Authority denied the report on Tuesday.")
    assert v.affiliation == "the Harbour Authority"
    assert v.speaker.startswith("A spokesman") and v.reported


def test_possessor_of_a_common_noun_speaker() -> None:
    v = _one("The ministry's spokeswoman rejected the report, and added that no decision had been made.")
    assert (v.speaker, v.affiliation) == ("The ministry's spokeswoman", "The ministry")


def test_inverted_subject_after_a_quotation() -> None:
    v = _one("“The bridge will stay shut until spring,” said Greta Halvorsen, the town's chief engineer.")
    assert (v.speaker, v.affiliation, v.quoted) == ("Greta Halvorsen", "the town", True)


def test_inverted_common_noun_subject() -> None:
    assert _one("“We will not move an inch,” said the minister.").speaker == "the minister"


def test_according_to() -> None:
    v = _one("According to the Harbour Authority, the ferry will stop running in May.")
    assert (v.speaker, v.reported) == ("the Harbour Authority", True)


def test_organisation_speaker_is_its_own_affiliation() -> None:
    v = _one("The Harbour Authority warned that fares would rise next year.")
    assert (v.speaker, v.affiliation) == ("The Harbour Authority", "The Harbour Authority")


def test_participle_takes_the_subject_of_its_clause() -> None:
    v = _one("Dorin Petrescu delivered a speech on Friday, stating that the plan was dead.")
    assert v.speaker == "Dorin Petrescu"


def test_speech_noun_from_someone() -> None:
    v = _one("The protest drew a sharp warning from the city's police chief, Oana Dragomir.")
    assert (v.speaker, v.affiliation) == ("Oana Dragomir", "the city")


def test_reporting_verb_inside_a_quotation_is_not_the_attribution() -> None:
    assert _one("“They said no to everything,” Ilinca Lupescu said.").speaker == "Ilinca Lupescu"


def test_narration_has_no_speaker() -> None:
    assert _one("The ferry leaves the harbour at noon every day.") == Voice()


def test_speaker_span_points_at_the_name() -> None:
    sentence = "In a short statement on Monday, Ilinca Lupescu accused the board of stalling."
    v = _one(sentence)
    assert v.speaker_span is not None
    assert sentence[slice(*v.speaker_span)] == "Ilinca Lupescu"


def test_quoted_marks_and_apostrophes() -> None:
    assert not is_quoted("The union’s members voted and the workers’ pay rose.")
    assert is_quoted("‘We will fight on,’ she said.")
    assert is_quoted('He called the plan "a disgrace".')
    assert _one("The union’s members voted on Monday.").quoted is False


# --- across sentences -----------------------------------------------------------------------------
def test_he_takes_the_last_person_speaker() -> None:
    text = "Dorin Petrescu said the plan was dead. He added that talks would resume in June."
    assert [v.speaker for v in _all(text)] == ["Dorin Petrescu", "Dorin Petrescu"]


def test_she_skips_an_organisation_for_the_last_person() -> None:
    text = (
        "Ilinca Lupescu said the strike would go ahead. The Harbour Authority denied that any deal was near. "
        "She insisted that the workers had waited long enough."
    )
    assert _all(text)[2].speaker == "Ilinca Lupescu"


def test_she_takes_a_name_the_recogniser_read_as_a_body_when_no_person_is_near() -> None:
    # The recogniser sometimes tags a titled name as an organisation ("Councillor Ana Ruse"); with
    # no person speaking or named nearby, "she said" still takes the last speaker.
    council = coref.Said(10, 0, 0, "Councillor Ana Ruse", "", (0, 19), "group", False)
    assert coref.resolve("he", 1, 80, [council], [])[0] == "Councillor Ana Ruse"
    person = coref.Said(40, 0, 0, "Edda Marr", "", (30, 39), "person", False)
    assert coref.resolve("he", 1, 80, [person, council], [])[0] == "Edda Marr"


def test_they_takes_the_last_organisation() -> None:
    text = (
        "The Harbour Authority said fares would rise. Ilinca Lupescu called that a disgrace. "
        "They argued that fuel costs had doubled."
    )
    assert _all(text)[2].speaker == "The Harbour Authority"


def test_pronoun_looks_back_only_a_few_sentences() -> None:
    text = (
        "Dorin Petrescu said the plan was dead. The port was quiet. Ships waited outside. "
        "Gulls circled the cranes. The sun set early. He added that talks would resume."
    )
    assert _all(text)[-1].speaker == ""
    assert _all(text)[-1].reported is True


def test_the_role_noun_takes_the_speaker_it_described() -> None:
    text = (
        "The Harbour Authority's spokeswoman, Ilinca Lupescu, said fares would rise. "
        "Dorin Petrescu called that a disgrace. "
        "The spokeswoman said that fuel costs had doubled."
    )
    v = _all(text)[2]
    assert (v.speaker, v.affiliation) == ("Ilinca Lupescu", "The Harbour Authority")


def test_the_statement_takes_whoever_made_it() -> None:
    text = (
        "In a statement, the Harbour Authority said fares would rise in May. "
        "The statement said that fuel costs had doubled."
    )
    assert [v.speaker for v in _all(text)] == ["the Harbour Authority", "the Harbour Authority"]


def test_a_role_noun_only_in_what_was_said_refers_to_no_one() -> None:
    text = "Dorin Petrescu said the minister had lied. The minister said that the figures were right."
    assert _all(text)[1].speaker == "The minister"


def test_surname_expands_to_the_full_name_seen_earlier() -> None:
    text = "Ilinca Lupescu leads the dockers' union. Lupescu said the strike would go ahead."
    v = _all(text)[1]
    assert v.speaker == "Ilinca Lupescu"
    assert text[_sentences(text)[1][0] :][slice(*v.speaker_span)] == "Lupescu"


def test_open_quotation_carries_the_speaker() -> None:
    text = (
        "“We will not give up,” Ilinca Lupescu said. “The workers have waited long enough. "
        "They deserve better than this.”"
    )
    got = _all(text)
    assert [v.speaker for v in got] == ["Ilinca Lupescu"] * 3
    assert [v.reported for v in got] == [True, False, False]


def test_quotation_running_over_paragraphs_carries_the_speaker() -> None:
    text = (
        "The mayor of Brevik, Tomas Holm, spoke after the vote. “We never wanted this closure.\n\n"
        "“The school has served the valley for a century.”\n\n"
        "The ferry leaves at noon."
    )
    got = _all(text)
    assert got[2].speaker == "Tomas Holm"
    assert got[-1].speaker == ""


def test_coordinated_subjects_are_named_together() -> None:
    assert _one("Ardovia and Belmora urged the council to act quickly.").speaker == "Ardovia and Belmora"


def test_spans_are_offsets_into_the_whole_text_and_order_is_kept() -> None:
    text = "The ferry leaves at noon. Dorin Petrescu said fares would rise. The port is quiet."
    spans = _sentences(text)
    got = voices(text, list(reversed(spans)))
    assert [v.speaker for v in got] == ["", "Dorin Petrescu", ""]
    assert voices(text, []) == []


# --- loading and caching --------------------------------------------------------------------------
def test_document_is_parsed_once_and_cached() -> None:
    text = "Dorin Petrescu said the plan was dead. He added that talks would resume."
    assert analysis(text) is analysis(text)
    assert voices(text, _sentences(text)) == voices(text, _sentences(text))


def test_import_loads_nothing() -> None:
    code = "import sys, service.chain.attribution.parse; print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pipeline_loads_without_the_network() -> None:
    # conftest blocks every non-loopback socket: a fresh load that tried to download would fail here.
    pipeline = parse.nlp.__wrapped__()
    assert {"parser", "ner", "lemmatizer"} <= set(pipeline.pipe_names)


def test_missing_pipeline_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse, "PIPELINE", "no_such_pipeline_package")
    with pytest.raises(SetupError, match=r"requirements/nlp\.txt"):
        parse.nlp.__wrapped__()


# --- the seed article ---------------------------------------------------------------------------
def test_seed_article_speakers_and_affiliations() -> None:
    files = sorted(SEED.glob("*.txt")) if SEED.is_dir() else []
    if not files:
        pytest.skip(f"no seed article at {SEED} (the project's shared folder sits next to the repo)")
    from service.library.chunk import sentences

    text = files[0].read_text(encoding="utf-8")
    got = voices(text, [(s.start, s.end) for s in sentences(text)])
    speakers = {v.speaker for v in got}
    assert {"Khawaja Asif", "Zabihullah Mujahid", "Attaullah Tarar", "Noorullah Noori"} <= speakers
    affiliations = {v.speaker: v.affiliation for v in got if v.affiliation and v.speaker != v.affiliation}
    assert affiliations["Khawaja Asif"] == "Pakistan"
    assert affiliations["Attaullah Tarar"] == "Pakistani"
    assert affiliations["Noorullah Noori"] == "Afghanistan"
    # "he emphasized" and "He further characterized" carry the last person who spoke.
    said = {text[s.start : s.end]: v.speaker for s, v in zip(sentences(text), got, strict=True)}
    assert next(v for k, v in said.items() if k.startswith("Pakistan, he emphasized")) == "Khawaja Asif"
    assert (
        next(v for k, v in said.items() if k.startswith("He further characterized")) == "Zabihullah Mujahid"
    )
