"""Countries by any of their names (service/chain/sides/countries.py), read from the countryinfo
package's data: a demonym or a capital names the country, in placement as in the question. Pure
unit tests on invented sentences: the parser only, no model."""

from __future__ import annotations

from collections import Counter

from service.chain.attribution.statements import described_beside, number_statements
from service.chain.sides.backbone import backbone
from service.chain.sides.countries import countries
from service.chain.sides.placement import keys, match_side
from service.chain.sides.question import Question
from service.library import sentences
from service.models import Statement


def test_a_country_its_people_and_its_capital_are_one_country() -> None:
    assert countries("Malawi") == countries("the Malawian envoy") == countries("Lilongwe said") != frozenset()
    assert countries("Uruguayans") == countries("Montevideo")
    assert countries("Burkina Faso") and not countries("Faso")  # a many-word name is read whole
    assert countries("a malawian") == frozenset()  # only a capitalised name names a country


def test_a_demonym_or_a_capital_meets_its_country_as_a_side() -> None:
    sides = ["Malawi", "Uruguay"]
    assert match_side("Malawian trade officials", sides) == "Malawi"
    assert match_side("a spokesman in Montevideo", sides) == "Uruguay"
    assert match_side("Bhutanese officials", sides) is None
    assert any(k.startswith("@") for k in keys("Lilongwe"))


def _statements(text: str) -> tuple[list[Statement], dict[str, Counter[str]]]:
    found, _ = number_statements("doc", text, sentences(text))
    return found, described_beside(found)


def test_a_question_naming_capitals_hears_the_countries_speakers() -> None:
    text = (
        "Tea tariff row\n\n"
        "Malawian trade minister Ana Ruse said the tariff broke the treaty. "
        "Ruse said the growers would lose half their buyers. "
        "Uruguayan envoy Tomas Vell said the tariff was lawful. "
        "Vell said the treaty allowed it in a bad harvest."
    )
    statements, affiliations = _statements(text)
    question = Question.parse("How do Lilongwe and Montevideo differ on the tea tariff?")
    bone = backbone(question, statements, affiliations)
    sides = {s.speaker.split()[-1]: bone.labels.get(s.sid) for s in statements}
    assert sides == {"Ruse": "Lilongwe", "Vell": "Montevideo"}
