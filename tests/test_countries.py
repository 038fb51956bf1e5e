"""Countries by any of their names (service/chain/sides/countries.py), read from the countryinfo
package's data: a demonym or a capital names the country (a question naming capitals: test_sides.py).
Pure unit tests on invented names."""

from __future__ import annotations

from service.chain.sides.countries import countries
from service.chain.sides.placement import keys, match_side


def test_a_country_its_people_and_its_capital_are_one_country() -> None:
    assert countries("Malawi") == countries("the Malawian envoy") == countries("Lilongwe said") != frozenset()
    assert countries("Tuvaluans") == countries("Funafuti")
    assert countries("Burkina Faso") and not countries("Faso")  # a many-word name is read whole
    assert countries("a malawian") == frozenset()  # only a capitalised name names a country


def test_a_demonym_or_a_capital_meets_its_country_as_a_side() -> None:
    sides = ["Malawi", "Tuvalu"]
    assert match_side("Malawian trade officials", sides) == "Malawi"
    assert match_side("a spokesman in Funafuti", sides) == "Tuvalu"
    assert match_side("Bhutanese officials", sides) is None
    assert any(k.startswith("@") for k in keys("Lilongwe"))
