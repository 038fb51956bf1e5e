"""A column's or a signed statement's own argument is its writer's account (chain/attribution/author.py).

Pure unit tests: the parser only, no model. Every name and sentence is invented."""

from __future__ import annotations

from collections import Counter

import pytest

from service.chain.attribution.author import author, first_person
from service.chain.attribution.parse import nlp
from service.chain.attribution.statements import number_statements
from service.chain.sides import backbone as rules
from service.chain.sides.question import Question
from service.library import sentences
from service.models import Statement

ARGUMENT = "We think the levy is wrong.\n\nIt costs our families more than a day's meals."


@pytest.mark.parametrize(
    ("text", "name", "role"),
    [
        (
            f"The levy is wrong\nBy Ana Ruse, chair of the Velora Growers' Union\n\n{ARGUMENT}",
            "Ana Ruse",
            "chair of the Velora Growers' Union",
        ),
        (f"The levy is wrong\nOpinion by Ana Ruse\n\n{ARGUMENT}", "Ana Ruse", ""),
        (
            f"The levy is wrong\nAna Ruse, chair of the Velora Growers' Union\n\n{ARGUMENT}",
            "Ana Ruse",
            "chair of the Velora Growers' Union",
        ),
        (
            f"The levy is wrong\n\n{ARGUMENT}\n\nAna Ruse is chair of the Velora Growers' Union.",
            "Ana Ruse",
            "chair of the Velora Growers' Union",
        ),
        (
            f"The levy is wrong\n\n{ARGUMENT}\n\nAna Ruse chairs the Velora Growers' Union.",
            "Ana Ruse",
            "chairs the Velora Growers' Union",
        ),
        (
            f"The levy is wrong\n\n{ARGUMENT}\n\n— Ana Ruse, chair of the Velora Growers' Union",
            "Ana Ruse",
            "chair of the Velora Growers' Union",
        ),
        (
            f"Statement from the Velora Growers' Union on the levy\n\n{ARGUMENT}",
            "Velora Growers' Union",
            "Velora Growers' Union",
        ),
        (
            f"Velora Growers' Union statement on the levy\n\n{ARGUMENT}",
            "Velora Growers' Union",
            "Velora Growers' Union",
        ),
    ],
)
def test_the_writer_is_read_from_a_byline_a_closing_line_or_a_statements_headline(
    text: str, name: str, role: str
) -> None:
    found = author(text)
    assert found is not None
    assert (found.name, found.role) == (name, role)


@pytest.mark.parametrize(
    "text",
    [
        # A reporter's byline: the first person is only inside the quotation.
        "Council votes on levy\nBy Signe Kallas, City Desk\n\n"
        'The council will vote on the levy. "We oppose it," said Ana Ruse.',
        # A report under a byline naming its outlet, whose narration says "us" once.
        "Council votes on levy\nBy Signe Kallas, Velora Courier\n\n"
        "The council will vote on the levy on Monday.\n\nA council spokesperson told us the vote would pass.",
        # A report that closes on a line about someone it quoted.
        'Council votes on levy\n\nThe council will vote. "We oppose it," said Ana Ruse.\n\n'
        "Ana Ruse is chair of the union.",
        # A report that closes on someone's statement, not a line about a writer.
        "Council votes on levy\n\nWe will see. The vote is next week.\n\nAna Ruse said the vote would pass.",
        # No one is named as writing it.
        f"The levy is wrong\n\n{ARGUMENT}",
    ],
)
def test_no_writer_without_a_named_writer_speaking_in_the_first_person(text: str) -> None:
    assert author(text) is None


def test_first_person_counts_only_outside_quotations() -> None:
    def spoken(sentence: str) -> bool:
        return first_person(nlp()(sentence)[:])

    assert spoken("Our plan puts this in writing.")
    assert not spoken('"We heard it from the newspaper," she said.')
    assert not spoken("The union said it would strike.")


COLUMN = (
    "A toll would empty the old town\n"
    "By Ana Ruse, who chairs the guild of Velora shopkeepers\n\n"
    "Every summer our shops take half of their year's money. "
    "A toll of five crowns would send day visitors to the malls outside the ring road. "
    "The council says the toll would pay for the bridge.\n\n"
    "We told the council so in March. "
    "Our members say the toll is a tax on trade. "
    '"It is a tax on walking," said Halvor Ekdahl, a baker on Mill Street.\n'
)


def _numbered(text: str) -> list[Statement]:
    found, _ = number_statements("col", text, sentences(text))
    return found


def test_a_columns_own_sentences_are_its_writers_and_others_keep_their_speakers() -> None:
    by_start = {s.text[:12]: s for s in _numbered(COLUMN)}
    for opening in ("Every summer", "A toll of fi", "We told the ", "Our members "):
        assert by_start[opening].speaker == "Ana Ruse"
        assert by_start[opening].affiliation == "who chairs the guild of Velora shopkeepers"
        assert by_start[opening].reported
    assert by_start["The council "].speaker == "The council"
    assert by_start['"It is a tax'].speaker == "Halvor Ekdahl"


def test_the_closing_line_about_the_writer_is_never_cited() -> None:
    text = "A toll would empty the town\n\nWe would lose customers.\n\nI say no.\n\nAna Ruse runs a bakery."
    found = author(text)
    assert found is not None
    assert (found.name, found.role) == ("Ana Ruse", "runs a bakery")
    assert found.tagline is not None
    assert text[found.tagline[0] : found.tagline[1]] == "Ana Ruse runs a bakery."
    [line] = [s for s in _numbered(text) if s.text.startswith("Ana Ruse")]
    assert line.heading


def test_a_columns_argument_is_placed_under_the_side_its_writer_speaks_for() -> None:
    report = (
        "Council backs bridge toll\n\n"
        "Velora Town Council voted on Monday for a toll of five crowns on the old bridge. "
        "Councillor Mattias Orlo said the toll would raise enough to repair the bridge within four years.\n"
    )
    statements = _numbered(COLUMN) + [
        s.model_copy(update={"sid": f"R{n}", "doc_id": "report"}) for n, s in enumerate(_numbered(report))
    ]
    affiliations: dict[str, Counter[str]] = {}
    for s in statements:
        if s.speaker and s.affiliation:
            affiliations.setdefault(s.speaker, Counter())[s.affiliation] += 1
    bone = rules.backbone(
        Question.parse(
            "How do the Velora shopkeepers and Velora Town Council disagree about the bridge toll?"
        ),
        statements,
        affiliations,
    )
    placed = {s.text[:12]: bone.labels.get(s.sid) for s in statements}
    assert placed["Every summer"] == "Velora shopkeepers"
    assert placed["A toll of fi"] == "Velora shopkeepers"
    assert placed["Councillor M"] == "Velora Town Council"


OPINION_HEAD = "(Slip Opinion)              OCTOBER TERM, 2031\n\nSUPREME COURT OF THE VELORA UNION\n\n"
MAJORITY = (
    OPINION_HEAD
    + "Syllabus\n\nHeld: A ferry toll is a tax.\n\nCHIEF JUSTICE ALDER delivered the opinion for the Court,"
    " which JUSTICE CORMAN joined.\n\nWe hold that the toll is a tax. Petitioner argues"
    " that it is a fee.\n"
)
DISSENT = (
    OPINION_HEAD + "   JUSTICE BIRCH, with whom JUSTICE CORMAN\njoins, dissenting.\n\n"
    "   I would hold that the toll is a fee. The Court reads the statute too broadly.\n"
)


@pytest.mark.parametrize(
    ("text", "name", "role"),
    [
        (MAJORITY, "The majority", "the opinion of the Court"),
        (DISSENT, "Justice Birch", "dissenting opinion"),
        (
            DISSENT.replace("dissenting.", "concurring in part, dissenting in part."),
            "Justice Birch",
            "dissenting opinion",
        ),
        (
            DISSENT.replace("dissenting.", "concurring in the judgment."),
            "Justice Birch",
            "concurring opinion",
        ),
        (
            OPINION_HEAD + "Statement of JUSTICE DORN respecting the denial of certiorari.\n\nI agree.\n",
            "Justice Dorn",
            "statement",
        ),
        (
            MAJORITY.replace("CHIEF JUSTICE ALDER", "ALDER, C. J.,"),
            "The majority",
            "the opinion of the Court",
        ),
    ],
)
def test_a_court_opinion_speaks_in_its_writers_voice(text: str, name: str, role: str) -> None:
    """No first person is needed: the opinion's own conventions say who wrote it."""
    found = author(text)
    assert found is not None
    assert (found.name, found.role) == (name, role)


def test_a_syllabus_that_names_a_dissent_is_still_the_majoritys() -> None:
    text = MAJORITY.replace("Held:", "JUSTICE BIRCH filed an opinion, dissenting. Held:")
    found = author(text)
    assert found is not None and found.name == "The majority"


def test_an_opinions_own_sentences_are_its_writers_and_reported_arguments_keep_their_speaker() -> None:
    by_start = {s.text[:12]: s for s in _numbered(MAJORITY)}
    assert by_start["We hold that"].speaker == "The majority"
    assert by_start["Petitioner a"].speaker == "Petitioner"
    [dissent] = [s for s in _numbered(DISSENT) if s.text.startswith("I would hold")]
    assert (dissent.speaker, dissent.affiliation) == ("Justice Birch", "dissenting opinion")
