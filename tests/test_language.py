"""A question or documents not in the parser's language get that said (service/chain/language.py),
over the real ingest, store and retrieval, with no model."""

from __future__ import annotations

import pytest

from service.chain.language import foreign, name, share
from service.core import open_service
from service.library import Loaded
from service.settings import Settings

# Invented reports, the same in three languages.
FRENCH = (
    "Grève des dockers à Velora\n\n"
    "Le syndicat des dockers a déclaré mardi que la direction du port refusait toute hausse des "
    "salaires. « Nous ne reculerons pas », a dit sa porte-parole, Ana Ruse. La direction du port a "
    "répondu que les caisses étaient vides et que la grève coûtait cher à toute la ville."
)
GERMAN = (
    "Die Gewerkschaft der Hafenarbeiter erklärte am Dienstag, die Hafenleitung lehne jede Lohnerhöhung "
    "ab. Die Hafenleitung antwortete, die Kassen seien leer."
)
ENGLISH = (
    "Dockers strike in Velora\n\n"
    "The dockers' union said on Tuesday that the port management refused any pay rise. “We will not "
    "back down,” said its spokeswoman, Ana Ruse. The port management replied that the coffers were "
    "empty and that the whole city paid for the strike."
)


@pytest.mark.parametrize(
    ("text", "other"),
    [
        (FRENCH, True),
        (GERMAN, True),
        (ENGLISH, False),
        ("Comment le syndicat et la direction expliquent-ils la grève ?", True),
        ("How do the union and the port management explain the strike?", False),
        ("Pourquoi ?", False),  # too short to tell: asked as it is
    ],
)
def test_the_parsers_language_is_told_from_others(text: str, other: bool) -> None:
    assert foreign(text) is other


def test_too_short_to_tell() -> None:
    assert share("Why not?") is None


@pytest.mark.parametrize(
    ("text", "question", "said"),
    [
        (FRENCH, "Comment le syndicat et la direction du port expliquent-ils la grève ?", "the question is"),
        (FRENCH, "How do the union and the port management explain the strike?", "the documents are"),
    ],
)
def test_an_answer_in_another_language_says_so(text: str, question: str, said: str) -> None:
    with open_service(Settings()) as service:
        service.ingest(Loaded(text=text, source="greve.txt", title="Grève"))
        result = service.ask(question)
    assert result.abstained and result.reason.startswith(f"{said} not in {name()}"), result.reason


def test_documents_and_question_in_the_parsers_language_are_answered() -> None:
    with open_service(Settings()) as service:
        service.ingest(Loaded(text=ENGLISH, source="strike.txt", title="Strike"))
        result = service.ask("How do the dockers' union and the port management explain the strike?")
    assert not result.abstained, result.reason
