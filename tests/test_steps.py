"""Tests for the rules in service/steps.py that decide sides without a model call: the subject
coverage check, a speaker's side from the words around its mention, the subject of an unnamed
reporting verb, and that only what rules cannot place costs a call (a scripted model counts them)."""

from __future__ import annotations

import numpy as np
import pytest

from service.chain.per_statement import NONE, attribute, run
from service.chain.placement import affiliation, coverage, match_side, nearest_side
from service.chain.statements import number_statements, reporting_subject
from service.library.chunk import sentences
from service.llm.backend import Backend, Usage
from service.llm.fake import ScriptedChatModel

AFPAK = ["Pakistan", "Afghanistan"]
BRENNICK = ["Brennick's mayor", "Save Eastgate School parents"]
BRENNICK_TEXT = (
    "BRENNICK — Eastgate Primary School will close at the end of the school year, Mayor Odile Farrant "
    "confirmed on Wednesday. "
    "Farrant said Eastgate's building needed repairs costing 2.3 million crowns. "
    "Their spokesperson, Kwame Lindgren of Save Eastgate School, said the estimate had been inflated. "
    "In a statement, the mayor's office said there were “no plans of any kind” to sell the site. "
    "The statement said Hillcrest had modern classrooms and a new sports hall. "
    "About 200 parents marched to the town hall on Saturday."
)


def statements_of(text: str) -> list:
    spans = sentences(text)
    return number_statements("doc", text, spans, context=spans)[0]


def backend(model: ScriptedChatModel) -> Backend:
    return Backend(
        name="fake", model="scripted", chat=model, method="function_calling", strategy="per_statement"
    )


# --- pure rules ------------------------------------------------------------------------------------
def test_coverage_ignores_generic_words_and_the_parties() -> None:
    words, found = coverage(
        "the toll dispute over Asker Bridge", ["Velmar council"], "The Asker bridge tolls rose."
    )
    assert words == ["toll", "asker", "bridge"] and found == ["toll", "asker", "bridge"]
    words, found = coverage("lantern festival budget", [], "The bridge toll rose by two crowns.")
    assert words == ["lantern", "festival", "budget"] and found == []


@pytest.mark.parametrize(
    ("name", "side"),
    [("Pakistani officials", "Pakistan"), ("Afghan delegation", "Afghanistan"), ("Khawaja Asif", None)],
)
def test_match_side_by_name(name: str, side: str | None) -> None:
    assert match_side(name, AFPAK) == side


def test_words_both_sides_share_tell_nobody_apart() -> None:
    # "Eastgate" and "Brennick" would be ambiguous if both sides carried them; "mayor" is the mayor's.
    assert match_side("the mayor", BRENNICK) == "Brennick's mayor"
    assert match_side("Eastgate", ["Eastgate council", "Friends of Eastgate"]) is None


@pytest.mark.parametrize(
    ("sentence", "speaker", "side"),
    [
        ("Pakistan’s Defense Minister, Khawaja Asif, said the talks failed.", "Khawaja Asif", "Pakistan"),
        (
            "The Afghan government, through its spokesperson Zabihullah Mujahid, presented a narrative.",
            "Zabihullah Mujahid",
            "Afghanistan",
        ),
        # Both sides are named before the speaker; the title right before the name decides.
        (BRENNICK_TEXT.split(". ")[0], "Odile Farrant", "Brennick's mayor"),
        ("Asif, Pakistan’s defence minister, said Afghanistan refused.", "Asif", "Pakistan"),
        (
            "Kwame Lindgren of Save Eastgate School told the crowd it was about the land.",
            "Kwame Lindgren",
            "Save Eastgate School parents",
        ),
    ],
)
def test_affiliation_takes_the_side_word_nearest_the_speaker(sentence: str, speaker: str, side: str) -> None:
    sides = AFPAK if side in AFPAK else BRENNICK
    assert affiliation(speaker, statements_of(sentence), sides) == side


def test_what_a_speaker_says_is_not_their_affiliation() -> None:
    text = "Mayor Piet Lindqvist said the board had run a deficit for three years."
    assert affiliation("Piet Lindqvist", statements_of(text), ["Transport Board", "City Council"]) is None


def test_nearest_side_is_none_on_a_tie() -> None:
    text = "Pakistan Asif Afghanistan"
    assert nearest_side(text, 9, 13, AFPAK) is None
    assert nearest_side("no side word here", 0, 2, AFPAK) is None


@pytest.mark.parametrize(
    ("sentence", "subject"),
    [
        (
            "In a statement, the mayor's office said there were no plans.",
            "In a statement, the mayor's office ",
        ),
        ("“Pakistan claims we harbour militants,” the spokesman said.", " the spokesman "),
        ("The talks collapsed on Friday.", None),
    ],
)
def test_reporting_subject_skips_verbs_inside_quotations(sentence: str, subject: str | None) -> None:
    span = reporting_subject(sentence)
    assert (sentence[span[0] : span[1]] if span else None) == subject


# --- attribute: only what rules cannot place costs a call -----------------------------------------
def test_rules_place_titled_speakers_and_reporting_subjects_without_calls() -> None:
    statements = statements_of(BRENNICK_TEXT)
    # Nothing is left for the model but the Hillcrest sentence ("The statement said ..."): it has a
    # reporting verb but neither a speaker nor a side as its subject. Asked twice; the answers differ.
    model = ScriptedChatModel().enqueue([{"side": BRENNICK[0]}, {"side": BRENNICK[1]}])
    usage = Usage()
    labels = attribute(backend(model), "How do they disagree?", statements, BRENNICK, usage, lambda f: None)
    by_text = {s.text[:20]: labels[s.sid] for s in statements}
    assert by_text["BRENNICK — Eastgate "] == [BRENNICK[0]]
    assert by_text["Farrant said Eastgat"] == [BRENNICK[0]]
    assert by_text["Their spokesperson, "] == [BRENNICK[1]]
    assert by_text["In a statement, the "] == [BRENNICK[0]]
    assert by_text["The statement said H"] == []  # the two answers disagreed: none
    assert by_text["About 200 parents ma"] == []  # narration asks nothing
    assert usage.calls == 2 and not model.script


def test_an_unplaced_speaker_is_asked_twice_and_disagreement_means_none() -> None:
    text = "Odile Farrant said the repairs cost too much. Kwame Lindgren said the estimate was inflated."
    model = ScriptedChatModel().enqueue(
        [
            {"who": "Odile Farrant", "side": BRENNICK[0]},
            {"who": "Odile Farrant", "side": BRENNICK[0]},  # the same after the swap: kept
            {"who": "Kwame Lindgren", "side": BRENNICK[1]},
            {"who": "Kwame Lindgren", "side": NONE},  # changed with the order: none
        ]
    )
    statements = statements_of(text)
    labels = attribute(backend(model), "q", statements, BRENNICK, Usage(), lambda f: None)
    assert [labels[s.sid] for s in statements] == [[BRENNICK[0]], []]
    first, swapped = model.history[0][-1].content, model.history[1][-1].content
    assert first.index(BRENNICK[0]) < first.index(BRENNICK[1])
    assert swapped.index(BRENNICK[1]) < swapped.index(BRENNICK[0])


# --- run: statements that never pair still make one-sided points ---------------------------------
TWO_SIDED = (
    "Odile Farrant, the mayor of Brennick, said the repairs would cost 2.3 million crowns. "
    "Kwame Lindgren of Save Eastgate School said the estimate had been inflated."
)


@pytest.mark.parametrize("related", [True, False])
def test_sides_pair_by_similarity_else_stand_alone(related: bool) -> None:
    """Abstaining when no point holds two sides was tried and dropped: a real two-sided article
    with short, differently worded statements (cosine 0.24) then abstained, while the unanswerable
    case it was meant for sat at 0.22."""
    statements = statements_of(TWO_SIDED)
    model = ScriptedChatModel().enqueue([{"parties": BRENNICK, "subject": "the repair estimate"}])
    if related:
        model.enqueue(
            [{"topic": "Repairs", "claim_1": "Too costly", "claim_2": "Inflated", "kind": "contradiction"}]
        )
    else:
        model.enqueue([{"topic": "Repairs", "claim_1": "Too costly", "kind": "contradiction"}] * 2)

    def embed(texts: list[str]) -> np.ndarray:
        # Related: every statement on one topic; unrelated: orthogonal, so nothing pairs.
        return np.ones((len(texts), 4)) if related else np.eye(len(texts), 4)

    answer = run(backend(model), "q", statements, embed, Usage(), lambda *a: None, TWO_SIDED)
    assert not model.script and answer.answerable
    assert [len(p.accounts) for p in answer.points] == ([2] if related else [1, 1])
