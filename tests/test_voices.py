"""The voices call (service/chain/strategies/voices.py) with a scripted chat model: only where a party
the question names is unheard, one constrained call asks whom each unplaced speaker speaks for; its
answer places only those speakers, for only the unheard parties, and a failed call leaves a note."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from service.core import open_service
from service.library import Loaded
from service.llm.fake import ScriptedChatModel
from service.settings import Settings

# An invented report: the residents' association speaks by its chair's title; the ferry company and
# the regional council are heard only through people the text never ties to them (with two parties
# unheard, the rules' "remaining voice" cannot tell which is whose).
FERRY = (
    "Ferry timetable cut angers islanders\n\n"
    "Ysolde Farrow, chair of the residents' association, said the winter timetable left the island "
    "without a morning crossing. “Our children cannot reach school on time,” Farrow said. "
    "Tavin Lund said the company had lost money on the early sailing for three winters. "
    "“We cannot run an empty boat at dawn,” Lund told reporters. "
    "Lund said fuel costs had doubled since the contract was signed. "
    "Farrow said the association would take the matter to the regional council. "
    "Ada Voss said the council had offered to pay for one early crossing a week. "
    "“The offer stands until the spring,” Voss said."
)
QUESTION = (
    "How do the ferry company, the residents' association and the regional council differ on the winter "
    "timetable?"
)


def listed(messages: list[BaseMessage]) -> dict[str, str]:
    """The speakers the voices prompt shows: key -> name."""
    return dict(re.findall(r"^\[(v\d+)\] ([^:]+):", str(messages[-1].content), flags=re.MULTILINE))


def lund_is_the_company(messages: list[BaseMessage], tool: str | None) -> dict[str, Any]:
    assert tool == "Voices"
    shown = listed(messages)
    assert "Tavin Lund" in shown.values(), shown
    assert not any("Farrow" in name for name in shown.values()), "a placed speaker is not asked about"
    given = {"Tavin Lund": "ferry company", "Ada Voss": "regional council"}
    return {key: given.get(name, "none") for key, name in shown.items()}


def by_side(result: Any) -> dict[str, list[Any]]:
    quotes: dict[str, list[Any]] = {}
    for point in result.points:
        for side, account in point.accounts.items():
            quotes.setdefault(side, []).extend(account.quotes)
    return quotes


@pytest.fixture(autouse=True)
def _rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "rules")


def test_an_unheard_party_gets_the_speaker_the_model_names(tmp_path: Any) -> None:
    model = ScriptedChatModel().enqueue([lund_is_the_company])
    with open_service(Settings(), chat_model=model) as service:
        service.ingest(Loaded(text=FERRY, source="ferry.txt", title="Ferry"))
        result = service.ask(QUESTION)
    assert model.tools == ["Voices"] and result.stats.llm_calls == 1
    quotes = by_side(result)
    company = next(side for side in quotes if "ferry company" in side)
    assert any("empty boat" in q.text for q in quotes[company])
    assert all(q.why.side_rule == "model_voice" for q in quotes[company] if "Lund" in q.why.speaker)
    council = next(side for side in quotes if "council" in side)
    assert any("offer stands" in q.text for q in quotes[council])
    association = next(side for side in quotes if "association" in side)
    assert all("Farrow" in q.why.speaker for q in quotes[association])


def test_a_model_that_knows_no_one_leaves_the_rules_answer() -> None:
    def nobody(messages: list[BaseMessage], tool: str | None) -> dict[str, str]:
        return dict.fromkeys(listed(messages), "none")

    def only_the_association(messages: list[BaseMessage], tool: str | None) -> dict[str, str]:
        # A party the rules already hear is not the model's to give: this answer changes nothing.
        return dict.fromkeys(listed(messages), "residents' association")

    answers = []
    for reply in (nobody, only_the_association):
        model = ScriptedChatModel().enqueue([reply])
        with open_service(Settings(), chat_model=model) as service:
            service.ingest(Loaded(text=FERRY, source="ferry.txt", title="Ferry"))
            answers.append(service.ask(QUESTION))
    for result in answers:
        assert result.stats.llm_calls == 1
        assert not any(q.why.side_rule == "model_voice" for qs in by_side(result).values() for q in qs)
        assert not any("Lund" in q.why.speaker for q in by_side(result).get("residents' association", []))
    assert answers[0].model_dump(exclude={"stats"}) == answers[1].model_dump(exclude={"stats"})


def test_a_failed_voices_call_leaves_a_note_and_the_rules_answer() -> None:
    model = ScriptedChatModel().enqueue([{}, {}])  # invalid twice: the call fails
    with open_service(Settings(), chat_model=model) as service:
        service.ingest(Loaded(text=FERRY, source="ferry.txt", title="Ferry"))
        result = service.ask(QUESTION)
    assert any("whom each speaker speaks for failed" in note for note in result.notes), result.notes
    assert not any(q.why.side_rule == "model_voice" for qs in by_side(result).values() for q in qs)


def test_when_every_named_party_is_heard_there_is_no_call() -> None:
    text = FERRY.replace("Tavin Lund said", "Tavin Lund, the ferry company's operations manager, said")
    text = text.replace("Ada Voss said", "Ada Voss, a regional council member, said")
    model = ScriptedChatModel()  # an empty script: any call fails the test
    with open_service(Settings(), chat_model=model) as service:
        service.ingest(Loaded(text=text, source="ferry.txt", title="Ferry"))
        result = service.ask(QUESTION)
    assert model.history == [] and not result.abstained and len(result.sides) == 3


def test_when_the_rules_hear_two_sides_the_model_is_not_asked() -> None:
    # Two parties heard by their speakers' titles, two left unheard: the rules answer, and the small
    # model's extra placements cost attribution where they did (docs/RESULTS.md), so no call.
    text = FERRY.replace("Tavin Lund said", "Tavin Lund, the ferry company's operations manager, said")
    text += " Jorun Sand said the harbour could not take a larger boat. “The quay is too short,” Sand said."
    question = (
        "How do the ferry company, the residents' association, the regional council and the harbour board "
        "differ on the winter timetable?"
    )
    model = ScriptedChatModel()  # an empty script: any call fails the test
    with open_service(Settings(), chat_model=model) as service:
        service.ingest(Loaded(text=text, source="ferry.txt", title="Ferry"))
        result = service.ask(question)
    assert model.history == [] and not result.abstained
    assert not any(q.why.side_rule == "model_voice" for qs in by_side(result).values() for q in qs)
