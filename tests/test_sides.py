"""Sides as a reader names them: the parties a question lists (by name or by role), the words an
attribution gives a speaker, and how a speaker is matched to a side. Pure unit tests on invented
sentences: the parser and the rules only, no model."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from service.chain.attribution.statements import described_beside, number_statements
from service.chain.points import lineup
from service.chain.sides.backbone import Backbone, backbone
from service.chain.sides.placement import keys, match_side
from service.chain.sides.question import Question, question_parties, unmentioned
from service.library import sentences
from service.models import Statement


def _statements(text: str) -> tuple[list[Statement], dict[str, Counter[str]]]:
    found, _ = number_statements("doc", text, sentences(text))
    return found, described_beside(found)


def _backbone(text: str, question: str) -> tuple[list[Statement], Backbone]:
    """The statements of `text` and the rules' backbone for `question` over them."""
    statements, affiliations = _statements(text)
    return statements, backbone(Question.parse(question), statements, affiliations)


def _vectors(statements: list[Statement]) -> np.ndarray:
    """Stand-in embeddings: a statement is most like itself (pairing is tested elsewhere)."""
    return np.eye(len(statements), dtype=np.float32) + 0.1


@pytest.mark.parametrize(
    ("question", "parties"),
    [
        ("How do the café owners and the council differ on the lease?", ["café owners", "council"]),
        ("What do the growers, the water company and the regulator each say about the wells?",
         ["growers", "water company", "regulator"]),
        ("What did the ministry argue, and how did the dockworkers' union respond?",
         ["ministry", "dockworkers' union"]),
        ("What are Velora's and Castamir's positions on the dam?", ["Velora", "Castamir"]),
        ("What are Velora's and Castamir's competing claims over the dam?", ["Velora", "Castamir"]),
        ("What is the row between the club and the league over the fine?", ["club", "league"]),
        ("What do hauliers and other road users, the council and the port say about the toll?",
         ["hauliers and other road users", "council", "port"]),
        ("What do the critics quoted by the Velora Courier and the mayor say?", ["critics", "mayor"]),
        ("How do Velora farmers like Ana Ruse and the ministry differ on water?",
         ["Velora farmers", "ministry"]),
        ("Ana Ruse wants a new lease. What do she and the council each say?", ["Ana Ruse", "council"]),
        ("The police say the trial worked and a residents' group says it failed. Who is right?",
         ["police", "residents' group"]),
        ("Set out what the airline, the harbour council and the ferry company say.",
         ["airline", "harbour council", "ferry company"]),
        ("How are the port and the fishing fleet at odds over dredging?", ["port", "fishing fleet"]),
        ("What arguments do the ferry company and the harbour board make about the toll?",
         ["ferry company", "harbour board"]),
        ("How do the police, a passer-by and the accused cyclist each account for the collision?",
         ["police", "passer-by", "accused cyclist"]),
        ("How do the council, the mayor himself and the tenants each stand on the rent freeze?",
         ["council", "mayor", "tenants"]),
        ("What did the ferry company, the lawyer hired to argue for the town and the harbour board say?",
         ["ferry company", "lawyer", "harbour board"]),
        ("What do the guard and the driver each say happened at the gate?", ["guard", "driver"]),
        # A deciding party answers too.
        ("What did the tenant and the landlord argue, and how did the tribunal rule?",
         ["tenant", "landlord", "tribunal"]),
        ("What did the growers ask for, and what did the water board decide?", ["growers", "water board"]),
        # A place naming an event sets the scene; two names joined on it are its parties.
        ("Who is to blame for the collapse of the Geneva talks?", []),
        ("Why did the France–Germany talks in Geneva fail, and how does each side tell it?",
         ["France", "Germany"]),
    ],
)  # fmt: skip
def test_the_parties_a_question_lists_by_name_or_by_role(question: str, parties: list[str]) -> None:
    assert question_parties(Question.parse(question)) == parties


def test_a_question_that_lists_no_one_falls_back_to_its_names() -> None:
    # "each side" names no one: the names the question carries stand in.
    parties = question_parties(
        Question.parse("Why did the Velora talks with Castamir fail, and how does each side tell it?")
    )
    assert "side" not in parties and "Castamir" in parties


def test_the_cafe_owners_and_the_council_both_answer() -> None:
    """The issue's three-sentence example: every sentence is a plain "X said"."""
    text = (
        "The café owners said the council lied. "
        "“We were promised a written lease,” said Zoë Brun, the owners' spokeswoman. "
        "The council said no lease was ever promised."
    )
    statements, bone = _backbone(text, "How do the café owners and the council differ on the lease?")
    draft = lineup.draft(bone, statements, _vectors(statements))
    assert draft.answerable and {s.name for s in draft.sides} == {"café owners", "council"}
    placed = {s.text[:12]: bone.labels.get(s.sid) for s in statements}
    assert placed == {"The café own": "café owners", "“We were pro": "café owners", "The council ": "council"}


def test_an_attribution_names_the_role_of_a_person() -> None:
    text = (
        "Fares row\n\n"
        "Ana Ruse, the ministry's chief negotiator, said the offer stood. "
        "Student protester Tomas Vell said the fares were unfair."
    )
    statements, _ = _statements(text)
    assert {s.speaker: s.role for s in statements} == {
        "Ana Ruse": "chief negotiator",
        "Tomas Vell": "Student protester",
    }


def test_a_party_named_only_by_role_is_the_voice_no_name_placed() -> None:
    """No attribution calls Mia Lund "the tenant"; she is the one voice left when the landlord is heard."""
    text = (
        "Rent row\n\n"
        "Mia Lund said the flat had been cold all winter. "
        "“I paid every month and nobody came,” Lund said. "
        "The landlord said the boiler had been fixed in March. "
        "She said she would take the case to the housing court."
    )
    statements, bone = _backbone(text, "What do the tenant and the landlord each say about the heating?")
    lund = [s for s in statements if s.speaker == "Mia Lund"]
    assert lund and all(bone.labels.get(s.sid) == "tenant" for s in lund)
    assert {bone.why[s.sid].rule for s in lund} == {"remaining_voice"}


@pytest.mark.parametrize(("near", "placed"), [(0.4, True), (0.1, False)])
def test_a_voice_heard_once_stands_for_the_unheard_party_only_on_the_question(
    near: float, placed: bool
) -> None:
    """Mia Lund speaks once. On what the question asks she is the tenant's voice; a single remark on
    something else (a passer-by quoted in another story) is too little to stand for a party."""
    text = (
        "Rent row\n\n"
        "The landlord said the boiler had been fixed in March. "
        "The landlord said the rent was fair. "
        "Mia Lund said the flat had been cold all winter."
    )
    statements, affiliations = _statements(text)
    on_subject = {s.sid: near if s.speaker == "Mia Lund" else 0.5 for s in statements}
    question = Question.parse("What do the tenant and the landlord each say about the heating?")
    bone = backbone(question, statements, affiliations, on_subject)
    lund = [s.sid for s in statements if s.speaker == "Mia Lund"]
    assert lund and (bone.labels.get(lund[0]) == "tenant") is placed
    assert bool(bone.reason) is not placed


def test_the_remaining_voice_is_weighed_before_the_question_check() -> None:
    """The landlord speaks only of the rent, off what the question asks; Mia Lund, the tenant's one
    voice, speaks on it. The comparison stands on her statements: it is not refused as if no side
    spoke on the heating."""
    text = (
        "Rent row\n\n"
        "The landlord said the rent was fair. "
        "Mia Lund said the flat had been cold all winter. "
        "Mia Lund said the boiler had never been fixed."
    )
    statements, affiliations = _statements(text)
    on_subject = {s.sid: 0.5 if s.speaker == "Mia Lund" else 0.1 for s in statements}
    question = Question.parse("What do the tenant and the landlord each say about the heating?")
    bone = backbone(question, statements, affiliations, on_subject)
    assert not bone.reason
    assert {bone.labels.get(s.sid) for s in statements} == {"tenant", "landlord"}


def test_a_question_naming_capitals_hears_the_countries_speakers() -> None:
    text = (
        "Tea tariff row\n\n"
        "Malawian trade minister Ana Ruse said the tariff broke the treaty. "
        "Ruse said the growers would lose half their buyers. "
        "Tuvaluan envoy Tomas Vell said the tariff was lawful. "
        "Vell said the treaty allowed it in a bad harvest."
    )
    statements, bone = _backbone(text, "How do Lilongwe and Funafuti differ on the tea tariff?")
    sides = {s.speaker.split()[-1]: bone.labels.get(s.sid) for s in statements}
    assert sides == {"Ruse": "Lilongwe", "Vell": "Funafuti"}


def test_a_body_and_its_demonym_are_one_side_when_the_question_names_none() -> None:
    """ "Ruritania" and "Ruritanian" name one body: as two sides neither would be distinctive, and
    no Ruritanian speaker would be placed."""
    text = (
        "Ferry talks fail\n\n"
        "Ana Ruse, the foreign minister of Ruritania, said the ferry talks had failed. "
        "Ana Ruse said Borduria had walked out. "
        "Ruritanian envoy Karl Ode said the fares were fair. "
        "Karl Ode said the timetable was agreed. "
        "Bordurian minister Mia Lund said Ruritania had lied. "
        "Lund said the fares were too high."
    )
    statements, bone = _backbone(text, "How does each side describe the failed talks?")
    assert len(bone.sides) == 2 and bone.sides[0].startswith("Ruritania")
    assert {bone.labels.get(s.sid) for s in statements if s.speaker in ("Ana Ruse", "Karl Ode")} == {
        bone.sides[0]
    }


def test_someone_the_question_asks_about_is_no_remaining_voice() -> None:
    """The Harbour Board is what the question asks about, not a voice of the tenants: they are unheard."""
    text = (
        "Quay fees\n\n"
        "The Harbour Board said the new fee would pay for the dredging. "
        "The Harbour Board said it expected the work to take a year. "
        "The fishing crews said the fee would ruin them."
    )
    question = "What do the fishing crews and the tenants say about the Harbour Board's fee?"
    _, bone = _backbone(text, question)
    assert "tenants" not in set(bone.labels.values())
    assert bone.reason.startswith("only fishing crews' account")


def test_someone_the_question_asks_about_is_never_guessed_into_a_side_by_proximity() -> None:
    """The Harbour Board speaks beside the crews' name, but the question names it as what it asks
    about: no side takes it by standing near a party's name."""
    text = (
        "Quay fees\n\n"
        "The fishing crews said the fee would ruin them. "
        "The tenants said the fee was unfair. "
        "Answering the fishing crews on Monday, the Harbour Board said the fee would pay for the dredging."
    )
    question = "What do the fishing crews and the tenants say about the Harbour Board's fee?"
    statements, bone = _backbone(text, question)
    [board] = [s for s in statements if s.speaker and "Harbour Board" in s.speaker]
    assert board.sid not in bone.labels
    assert set(bone.labels.values()) == {"fishing crews", "tenants"}


def test_a_word_two_sides_share_guesses_neither_when_only_one_is_heard() -> None:
    """ "Camp" names both camps the question asks about: a speaker from the unheard one is not
    guessed into the heard one by it."""
    text = (
        "Park vote\n\n"
        "Mayor Lena Ostrova said the vote would be held in May. "
        "The pro-harbour camp said the quay needed the land. "
        "Councillor Bram Ode from the pro-park camp said the trees must stay."
    )
    question = "What do the mayor, the pro-harbour camp and the pro-park camp each say?"
    statements, bone = _backbone(text, question)
    [ode] = [s for s in statements if s.speaker == "Councillor Bram Ode"]
    assert bone.labels.get(ode.sid) != "pro-harbour camp"


@pytest.mark.parametrize(
    ("sentence", "speaker", "rule"),
    [
        ("The court held that the fine was lawful.", "The court", "clause_speech_verb"),
        ("The ministry's report found that the quay was unsafe.", "The ministry", "clause_speech_verb"),
        ("All of the commenters said the fee was too high.", "the commenters", "subject_of_reporting_verb"),
        ("It found that the quay was unsafe.", "", ""),
        # The subject of the reporting verb outranks the source of a speech noun in its object.
        (
            "Tomas Vell's father refuted claims from the club that his son had asked to leave.",
            "Tomas Vell's father",
            "subject_of_reporting_verb",
        ),
        ("The mayor rebutted a warning from the union.", "The mayor", "subject_of_reporting_verb"),
    ],
)
def test_views_held_and_groups_counted(sentence: str, speaker: str, rule: str) -> None:
    [statement] = _statements(sentence)[0]
    assert (statement.speaker, statement.why.speaker_rule) == (speaker, rule)


def test_keys_read_acronyms_and_kin() -> None:
    assert keys("the U.S. Embassy") & keys("the US government") == {"#US"}
    assert "famil" in keys("the victim's mother") and "famil" in keys("the victim's family")
    assert not keys("us") and not keys("U")


@pytest.mark.parametrize(
    ("question", "aliases"),
    [
        (
            "What do the fishermen and their critics, including Ivo Vesker, say about the quota?",
            {"critics": ["Ivo Vesker"]},
        ),
        (
            "How do growers like Mara Tovrik and millers like Tarn Ebbesvik differ on the grain price?",
            {"growers": ["Mara Tovrik"], "millers": ["Tarn Ebbesvik"]},
        ),
        (
            "Why did Lena Ostrova's government close the port, and how do the government and the dockers "
            "tell it?",
            {"government": ["Lena Ostrova"]},
        ),
        ("What do the police and the protesters each say?", {}),
    ],
)  # fmt: skip
def test_the_question_names_who_stands_for_a_party(question: str, aliases: dict[str, list[str]]) -> None:
    assert Question.parse(question).aliases == aliases


def test_a_speaker_the_question_names_for_a_party_speaks_for_it() -> None:
    """No attribution ties Ivo Vesker to the critics; the question does ("including Ivo Vesker")."""
    text = (
        "Quota row\n\n"
        "The fishermen's union said the new quota would empty the harbour. "
        "Ivo Vesker said the stocks had fallen for a decade. "
        "“The union wants to fish the sea dry,” Vesker said."
    )
    statements, bone = _backbone(
        text, "What do the fishermen and their critics, including Ivo Vesker, say about the quota?"
    )
    vesker = [s for s in statements if s.speaker == "Ivo Vesker"]
    assert vesker and all(bone.labels.get(s.sid) == "critics" for s in vesker)
    assert {bone.why[s.sid].rule for s in vesker} == {"question_names"}


@pytest.mark.parametrize(
    ("question", "refused"),
    [
        ("How do Velora and Castamir differ over the sharing of river water?", True),
        ("What caused the Velora dam to fail on New Year's Eve 2018?", False),  # one word: not enough
    ],
)
def test_a_question_whose_matter_is_absent_is_refused(question: str, refused: bool) -> None:
    text = "Velora said the dam and the harbour were safe. Castamir said the dam had failed before."
    assert bool(unmentioned(Question.parse(question), [text])) is refused


@pytest.mark.parametrize(
    ("described", "sides", "side"),
    [
        ("Velora County Attorney", ["the authorities", "a witness", "the accused driver"], "the authorities"),
        ("police and county officials", ["the authorities", "a witness"], "the authorities"),
        (
            "the University of Tallis",
            ["the court", "Velora Ferries", "the legal experts"],
            "the legal experts",
        ),
        ("Velora County Attorney", ["the police", "the prosecutors"], None),  # both are authorities
    ],
)
def test_a_title_or_body_of_a_kind_names_the_party_of_that_kind(
    described: str, sides: list[str], side: str | None
) -> None:
    """A question may name a party by its kind ("the authorities", "the experts"); the documents name
    its speakers by title or body ("County Attorney", "of the University of Tallis")."""
    assert match_side(described, sides) == side
