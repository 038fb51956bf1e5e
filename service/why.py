"""How each placement explains itself: the rules' names read as words, and one line per quote.

The chain records a rule's name on every statement (`models.Why`); the page, the terminal and the
eval report read it here, so a reader can ask "why here?" and see the rule that decided.
"""

from __future__ import annotations

from .models import Why

SPEAKER_RULES = {
    "subject_of_reporting_verb": 'subject of "{cue}"',
    "inverted_reporting_verb": 'named after "{cue}"',
    "shared_subject": 'subject of the verb "{cue}" hangs from',
    "clause_speech_verb": 'subject of "{cue}" that ...',
    "clause_verb": 'subject of "{cue}", which takes a clause',
    "parenthetical_verb": 'subject of "{cue}", set off by commas in the sentence it reports',
    "according_to": '"according to"',
    "document_read": 'source of the document that "{cue}"',
    "speech_noun_source": 'source of the "{cue}"',
    "view_is_that": 'whose "{cue}" is that ...',
    "in_a_statement": 'subject of "{cue}" in a statement',
    "running_quotation": "a quotation running on from the sentence before",
    "quotation_after_speaker": "a quotation right after the sentence naming the speaker",
    "column_writer": "the writer of this column or statement, in the first person",
}
"""A speaker rule (attribution/patterns.py, parse.py, statements.py) -> how a trace reads it."""

SIDE_RULES = {
    "speaker_name": 'the name: "{words}"',
    "speaker_title": 'the title: "{words}"',
    "affiliation": 'the body named beside the speaker: "{words}"',
    "titled_body": 'the one body whose name holds the title: "{words}"',
    "narration_subject": 'the sentence\'s subject: "{words}"',
    "proximity": 'a guess: the side named nearest the speaker in "{words}"',
    "question_names": 'the question names them for this side: "{words}"',
    "remaining_voice": "the voice quoted most that no rule placed, for the one named party left unheard",
    "model_voice": "the model's reading of whom the speaker speaks for",
    "model_stance": "the model's reading of the argument",
    "model": "placed by the model",
}
"""A side rule (sides/placement.py, sides/backbone.py, the strategies) -> how a trace reads it."""


def speaker_line(why: Why) -> str:
    """'Ana Ruse (subject of "said"; named as "she")', or 'no speaker'."""
    if not why.speaker:
        return "no speaker"
    how = SPEAKER_RULES.get(why.speaker_rule, why.speaker_rule).format(cue=why.cue)
    words = why.speaker_words.strip()
    named = f'; named as "{words}"' if words and words.casefold() != why.speaker.casefold() else ""
    return f"{why.speaker} ({how}{named})" if how else why.speaker


def side_line(why: Why) -> str:
    """'the union (the title: "union leader")', or why no side took it."""
    if not why.side:
        return f"none ({why.unplaced})" if why.unplaced else "none"
    how = SIDE_RULES.get(why.side_rule, why.side_rule).format(words=why.side_words)
    return f"{why.side} ({how})" if how else why.side


def explain(why: Why) -> str:
    """One line for a reader: 'Said by Ana Ruse (subject of "said"). Side: the union (the title: ...).'"""
    return f"Said by {speaker_line(why)}. Side: {side_line(why)}."
