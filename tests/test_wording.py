"""The claim-closeness rule of the eval spec, on invented sentences."""

import pytest

from service.wording import closeness, possessive, reads_own, stems


def test_stems_are_five_letter_prefixes_without_stop_words() -> None:
    assert stems("The harbour workers said they would strike over their wages") == {
        "harbo", "worke", "strik", "wages"
    }  # fmt: skip


def test_closeness_is_the_share_of_claim_stems_found() -> None:
    assert closeness("workers want higher wages", ["The wages are too low for workers"]) == 2 / 4
    assert closeness("the and of", ["anything"]) is None


def test_a_claim_that_restates_the_other_side_scores_zero() -> None:
    own = ["We never refused to meet the ferry company."]
    other = ["The union refused every meeting we offered."]
    assert reads_own("The union refused every meeting", own, [other]) == 0.0
    assert reads_own("It never refused to meet the ferry company", own, [other]) == 1.0
    assert reads_own("Talks collapsed", own, [other]) is None  # no stem in either


@pytest.mark.parametrize(
    ("name", "said"),
    [("the union", "the union's"), ("the protesters", "the protesters'"), ("Velora", "Velora's"),
     ("Ana Lewis", "Ana Lewis's"), ("the press", "the press's")],
)  # fmt: skip
def test_a_plural_in_s_takes_the_apostrophe_alone(name: str, said: str) -> None:
    assert possessive(name) == said
