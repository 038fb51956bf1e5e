"""Every placement explains itself: each speech pattern on its own, the speaker's rule and cue on each
statement, the side's rule and deciding words, and why a statement went under no side. Pure unit
tests on invented sentences: the parser only, no model."""

from __future__ import annotations

from collections import Counter

import pytest

from service.chain.attribution.parse import nlp
from service.chain.attribution.patterns import PATTERNS, cues
from service.chain.attribution.statements import described_beside, number_statements
from service.chain.sides.backbone import backbone
from service.chain.sides.question import Question
from service.library import sentences
from service.models import Statement, Why
from service.why import SIDE_RULES, SPEAKER_RULES, explain


def _statements(text: str) -> tuple[list[Statement], dict[str, Counter[str]]]:
    found, _ = number_statements("doc", text, sentences(text))
    return found, described_beside(found)


def _why(text: str, start: str) -> Why:
    found, _ = _statements(text)
    [hit] = [s for s in found if s.text.startswith(start)]
    return hit.why


@pytest.mark.parametrize(
    ("sentence", "rule", "cue", "speaker"),
    [
        ("Ana Ruse said the ferry fares would rise in May.", "subject_of_reporting_verb", "said", "Ana Ruse"),
        ("The fares will rise in May, said Ana Ruse.", "inverted_reporting_verb", "said", "Ana Ruse"),
        ("The fares will rise in May, according to the Velora Harbour Board.", "according_to",
         "according to", "the Velora Harbour Board"),
        ("The board issued a warning from Ana Ruse about the fares.", "speech_noun_source", "warning",
         "Ana Ruse"),
        ("Peter Jones hopes that the fares will fall in June.", "clause_verb", "hopes", "Peter Jones"),
        ("Ana Ruse met the crews and added that fares would rise.", "shared_subject", "added", "Ana Ruse"),
    ],
)  # fmt: skip
def test_each_pattern_names_the_rule_the_cue_and_the_speaker(
    sentence: str, rule: str, cue: str, speaker: str
) -> None:
    why = _why(f"Fares row\n\n{sentence}", sentence[:12])
    assert (why.speaker_rule, why.cue, why.speaker) == (rule, cue, speaker)
    assert rule in SPEAKER_RULES


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("The harbour code requires skippers to post their fares at the quay.", ""),
        ("The board told skippers to post their fares.", "The board"),  # "told" speaks
        ("Ana Ruse refused to say whether the fares would rise.", "Ana Ruse"),
    ],
)
def test_an_infinitive_after_an_object_is_the_objects_act_not_the_subjects_speech(
    sentence: str, speaker: str
) -> None:
    """In "X requires Y to post", Y is the one to post (object control), and has not spoken; with no
    object ("X refused to say") the infinitive shares X."""
    assert _why(f"Fares row\n\n{sentence}", sentence[:12]).speaker == speaker


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("The rule, the tenants went on, was never lawful.", "the tenants"),
        ("The fee, Ana Ruse continues, was never paid.", "Ana Ruse"),
        ("The fee, it seems, was never paid.", ""),
        ("The quay, the board built in May, is closed.", ""),  # an object of its own: a relative clause
    ],
)  # fmt: skip
def test_a_parenthetical_clause_reports_the_sentence_around_it(sentence: str, speaker: str) -> None:
    """A subject and verb set off by commas inside a sentence, with nothing of their own, report it."""
    why = _why(f"Fares row\n\n{sentence}", sentence[:12])
    assert why.speaker == speaker
    assert why.speaker_rule == ("parenthetical_verb" if speaker else "")


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("The Velora Audit Office's figures show that the harbour fund is empty.",
         "The Velora Audit Office's figures"),
        ("A report by the Velora Audit Office shows that the harbour fund is empty.",
         "the Velora Audit Office"),
        ("The photos show the quay under water after the storm.", ""),  # no clause: no account
    ],
)  # fmt: skip
def test_what_a_report_shows_is_its_authors_account(sentence: str, speaker: str) -> None:
    """A report "shows" what its body holds when the verb takes a clause, as it "finds"."""
    assert _why(f"Fares row\n\n{sentence}", sentence[:12]).speaker == speaker


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("Skippers must post their fares at the quay.", ""),
        ("Skippers must post and maintain their fares at the quay.", ""),  # the modal governs both
        ("The board will announce the fares on Monday.", ""),
        ("The board has announced the fares.", "The board"),
        ("Ana Ruse said the board would announce the fares.", "Ana Ruse"),  # the modal is in the clause
        ("But Bram said he’ll still back Kest because he’s the party nominee.", "Bram"),  # "'ll": a clause
    ],
)
def test_what_someone_must_or_will_say_is_not_an_account_they_gave(sentence: str, speaker: str) -> None:
    """A verb of speech under a modal is a duty, a chance or a plan, not a report of speech."""
    assert _why(f"Fares row\n\n{sentence}", sentence[:12]).speaker == speaker


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("The Velora Harbour Board's position is that the fares must rise.", "The Velora Harbour Board"),
        ("The argument by the ferry crews is that the fares are unlawful.", "the ferry crews"),
        ("The trouble is that the fares are high.", ""),  # no one's view
        ("The board's position changed after the storm.", ""),  # no "is that"
    ],
)  # fmt: skip
def test_a_view_set_out_as_is_that_is_its_owners_account(sentence: str, speaker: str) -> None:
    """A view set out as "X's position is that ..." is X's, as "X says that ..." is."""
    assert _why(f"Fares row\n\n{sentence}", sentence[:12]).speaker == speaker


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("The Velora Harbour Board's statement read: \"The fares will rise in May.\"",
         "The Velora Harbour Board"),
        ("A letter signed by the ferry crews read, \"We will not sail at these fares.\"", "the ferry crews"),
        ("The Velora Harbour Board put out a statement that read, \"The fares will rise.\"",
         "The Velora Harbour Board"),
        ("A sign at the quay read \"Fares up, boats out\".", ""),  # a sign is no one's document
        ("Ana Ruse read the fares aloud at the quay.", ""),  # reading out is not saying
    ],
)  # fmt: skip
def test_what_a_document_reads_is_its_sources_account(sentence: str, speaker: str) -> None:
    """A statement or letter that "reads" something gives its source's words."""
    assert _why(f"Fares row\n\n{sentence}", sentence[:12]).speaker == speaker


def test_every_registered_pattern_fires_on_its_own_example() -> None:
    examples = {
        "reporting_verb": "Ana Ruse said the fares would rise.",
        "clause_speech_verb": "Peter Jones held that the fares were fair.",
        "clause_verb": "Peter Jones hopes that the fares will fall.",
        "parenthetical_verb": "The fares, Ana Ruse went on, will rise.",
        "according_to": "The fares will rise, according to Ana Ruse.",
        "speech_noun_source": "There was a warning from Ana Ruse about the fares.",
        "view_is_that": "Ana Ruse's view is that the fares will rise.",
        "document_read": 'Ana Ruse\'s letter read: "The fares will rise."',
    }
    assert set(examples) == set(PATTERNS)
    for name, sentence in examples.items():
        doc = nlp()(sentence)
        found = [c for found in cues(doc, nlp()).values() for c in found]
        assert found and found[0].speaker.text in ("Ruse", "Jones"), name


def test_a_pronoun_and_a_running_quotation_say_how_they_were_carried() -> None:
    text = (
        "Fares row\n\n"
        "Ana Ruse, the harbour board's chair, said the fares would rise. "
        "She said the engines were old.\n\n"
        "“We cannot run the ferries at a loss,” Ruse said. “Every crossing costs more than it earns.”"
    )
    she = _why(text, "She said")
    assert (she.speaker, she.speaker_rule, she.speaker_words) == (
        "Ana Ruse",
        "subject_of_reporting_verb",
        "She",
    )
    carried = _why(text, "“Every crossing")
    assert carried.speaker == "Ana Ruse" and carried.speaker_rule in (
        "running_quotation",
        "quotation_after_speaker",
    )


def test_a_placed_quote_carries_its_side_rule_and_words_and_an_unplaced_one_says_why() -> None:
    text = (
        "Fares row\n\n"
        "Union leader Karl Ode said the ferry fares were too high. "
        "Ana Ruse, the harbour board's chair, said the fares had not risen in ten years. "
        "The ferries carry 9,000 passengers a day. "
        "Edda Marr, a historian, said such rows were common."
    )
    statements, affiliations = _statements(text)
    question = Question.parse("How do the harbour board and the union differ over the fares?")
    bone = backbone(question, statements, affiliations)
    why = {s.text[:10]: w for s, w in zip(statements, bone.trace(statements).values(), strict=True)}
    assert (why["Union lead"].side_rule, why["Union lead"].side_words) == ("speaker_title", "Union leader")
    assert (why["Ana Ruse, "].side_rule, why["Ana Ruse, "].side_words) == ("affiliation", "the harbour board")
    assert not why["The ferrie"].side and why["The ferrie"].unplaced == "no speaker"
    assert not why["Edda Marr,"].side and why["Edda Marr,"].unplaced.startswith(
        "no side in the speaker's name"
    )
    assert all(w.side_rule in SIDE_RULES for w in why.values() if w.side)


def test_the_line_a_reader_sees() -> None:
    why = Why(speaker="Ana Ruse", speaker_rule="subject_of_reporting_verb", cue="said", speaker_words="she",
              side="the union", side_rule="speaker_title", side_words="the union's negotiator")  # fmt: skip
    assert explain(why) == (
        'Said by Ana Ruse (subject of "said"; named as "she"). '
        'Side: the union (the title: "the union\'s negotiator").'
    )
    assert explain(Why(unplaced="no speaker")) == "Said by no speaker. Side: none (no speaker)."
