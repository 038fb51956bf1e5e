"""The invented article asked the way readers ask: by role, with no parties, about a version of
events, through a place or an event. Rules alone on the fake backend (no model): every phrasing
must hear both sides, each with its own speakers and none of the other's."""

from __future__ import annotations

import pytest
from conftest import INVENTED

from service.core import open_service
from service.library import load_file
from service.settings import Settings

COMPANY = {"Tamsin Orrery", "Ansel Fenwick"}
UNION = {"Tobiah Pryce", "Ysolde Solvik"}
PHRASINGS = [
    "Why did the Corvale pay talks collapse?",
    "What do Corvale Rail and the union each say about why the pay talks failed?",
    "Who is to blame for the collapse of the Quillbrook talks?",
    "How does each side describe the failed talks?",
    "What is the company's version of events, and what is the union's?",
    "What do the rail company and the signallers' union say about the night shift?",
    "Did the company make a written offer, according to each side?",
    "What do the operator's managers and the union's leaders say about safety?",
]


def test_natural_phrasings_hear_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "rules")
    settings = Settings()
    wrong = []
    with open_service(settings) as service:
        service.ingest(load_file(INVENTED, settings))
        for question in PHRASINGS:
            result = service.ask(question)
            speakers = [set(s.speakers) for s in result.sides]
            company = [s for s in speakers if s & COMPANY and not s & UNION]
            union = [s for s in speakers if s & UNION and not s & COMPANY]
            if result.abstained or not company or not union:
                wrong.append(f"{question} -> {result.reason or [(s.name, s.speakers) for s in result.sides]}")
    assert not wrong, "\n".join(wrong)
