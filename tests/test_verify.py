"""Tests for service/verify.py: statement ids -> exact quotes, dropped ids, kinds, speakers, abstention."""

from __future__ import annotations

from typing import Any

import pytest

from service.chain.draft import Draft
from service.chain.verify import Verified, verify
from service.models import Document, DocumentMeta, Quote, Statement

TEXT_A = (
    "Talks in Istanbul ended on Friday without a deal. "
    "Pakistan’s Defense Minister Khawaja Asif said the Afghan delegation refused a written agreement. "
    "“Verbal guarantees are impossible in international negotiations,” Asif stated. "
    "Alison Brooks, a reporter from Leeds, watched the border."
)
TEXT_B = (
    "Kabul gave a different account. "
    "Zabihullah Mujahid said Pakistan put the whole burden of its security on Afghanistan. "
    "He called the Pakistani stance irresponsible and uncooperative."
)
SENTENCES = {
    "S1": ("a", "Talks in Istanbul ended on Friday without a deal.", ""),
    "S2": (
        "a",
        "Pakistan’s Defense Minister Khawaja Asif said the Afghan delegation refused a written agreement.",
        "Khawaja Asif",
    ),
    "S3": (
        "a",
        "“Verbal guarantees are impossible in international negotiations,” Asif stated.",
        "Khawaja Asif",
    ),
    "S4": ("a", "Alison Brooks, a reporter from Leeds, watched the border.", "Alison Brooks"),
    "S5": (
        "b",
        "Zabihullah Mujahid said Pakistan put the whole burden of its security on Afghanistan.",
        "Zabihullah Mujahid",
    ),
    "S6": ("b", "He called the Pakistani stance irresponsible and uncooperative.", "Zabihullah Mujahid"),
}


def document(doc_id: str, text: str) -> Document:
    """A stored document with its source metadata."""
    meta = DocumentMeta(id=doc_id, title=f"Title {doc_id}", outlet=f"Outlet {doc_id}", date="2025-10-31",
                        url=f"https://example.org/{doc_id}", content_hash=doc_id * 8)  # fmt: skip
    return Document(meta=meta, text=text)


DOCS = {"a": document("a", TEXT_A), "b": document("b", TEXT_B)}


def statements() -> list[Statement]:
    """The candidate statements, with offsets found in their documents."""
    out = []
    for sid, (doc_id, text, speaker) in SENTENCES.items():
        start = DOCS[doc_id].text.index(text)
        out.append(Statement(sid=sid, doc_id=doc_id, start=start, end=start + len(text), text=text,
                             speaker=speaker, quoted="“" in text, reported=bool(speaker)))  # fmt: skip
    return out


def cite(*ids: str | tuple[str, str]) -> list[dict[str, str]]:
    """Citations: a bare id, or (id, span)."""
    return [{"id": i, "span": ""} if isinstance(i, str) else {"id": i[0], "span": i[1]} for i in ids]


def draft(points: list[dict[str, Any]], sides: list[Any] | None = None) -> Draft:
    """An answerable draft over the two usual sides (or `sides`)."""
    sides = sides if sides is not None else [
        {"name": "Pakistan", "speakers": ["Khawaja Asif"]},
        {"name": "Afghanistan", "speakers": ["Zabihullah Mujahid"]},
    ]  # fmt: skip
    return Draft.model_validate({"answerable": True, "sides": sides, "points": points})


def point(
    kind: str = "contradiction", topic: str = "Why the talks failed", **accounts: Any
) -> dict[str, Any]:
    """A draft point: side name -> citations (the side's claim is derived from its name)."""
    accs = [{"side": s, "claim": f"{s} blames the other", "citations": c} for s, c in accounts.items()]
    return {"topic": topic, "kind": kind, "accounts": accs}


def run(d: Draft) -> Verified:
    return verify(d, statements(), DOCS)


def all_quotes(v: Verified) -> list[Quote]:
    return [q for p in v.points for a in p.accounts.values() for q in a.quotes]


def assert_exact(v: Verified) -> None:
    """Every quote is the document's text at its offsets."""
    for q in all_quotes(v):
        assert DOCS[q.doc].text[q.start : q.end] == q.text


# --- ids -> quotes ------------------------------------------------------------------------------
def test_ids_become_exact_quotes_with_source() -> None:
    v = run(draft([point(Pakistan=cite("S2", "S3"), Afghanistan=cite("S5"))]))
    assert not v.abstained and v.dropped_ids == 0
    [p] = v.points
    pk, af = p.accounts["Pakistan"], p.accounts["Afghanistan"]
    assert [q.text for q in pk.quotes] == [SENTENCES["S2"][1], SENTENCES["S3"][1]]
    [q] = af.quotes
    # Offsets are into document b's own text, not into a's or a concatenation.
    assert (q.doc, q.start, q.end) == ("b", TEXT_B.index(q.text), TEXT_B.index(q.text) + len(q.text))
    assert (q.title, q.outlet, q.date, q.url) == (
        "Title b",
        "Outlet b",
        "2025-10-31",
        "https://example.org/b",
    )
    assert pk.claim == "Pakistan blames the other"
    assert_exact(v)


def test_id_spelling_is_tolerated() -> None:
    v = run(draft([point(Pakistan=cite(" s2 ", "[S3]"), Afghanistan=cite("S5"))]))
    assert v.dropped_ids == 0
    assert len(v.points[0].accounts["Pakistan"].quotes) == 2


def test_unknown_ids_are_dropped_and_counted() -> None:
    v = run(draft([point(Pakistan=cite("S2", "S99", "S0", "banana"), Afghanistan=cite("S5", "S7"))]))
    assert v.dropped_ids == 4
    assert [q.text for q in v.points[0].accounts["Pakistan"].quotes] == [SENTENCES["S2"][1]]
    assert [q.text for q in v.points[0].accounts["Afghanistan"].quotes] == [SENTENCES["S5"][1]]


def test_statement_of_an_unknown_document_is_dropped() -> None:
    only_a = {"a": DOCS["a"]}
    v = verify(draft([point(Pakistan=cite("S2"), Afghanistan=cite("S5"))]), statements(), only_a)
    assert v.dropped_ids == 1
    assert list(v.points[0].accounts) == ["Pakistan"]


def test_accounts_for_unknown_sides_are_dropped_and_counted() -> None:
    v = run(draft([point(Pakistan=cite("S2"), Afghanistan=cite("S5"), Martians=cite("S1", "S4"))]))
    assert v.dropped_ids == 2
    assert set(v.points[0].accounts) == {"Pakistan", "Afghanistan"}
    assert [s.name for s in v.sides] == ["Pakistan", "Afghanistan"]


def test_side_names_match_ignoring_case_and_spaces() -> None:
    v = run(draft([point(**{"  pakistan ": cite("S2"), "AFGHANISTAN": cite("S5")})]))
    assert v.dropped_ids == 0
    assert set(v.points[0].accounts) == {"Pakistan", "Afghanistan"}  # the side's own spelling


# --- spans ---------------------------------------------------------------------------------------
def test_span_narrows_only_to_an_exact_substring() -> None:
    span = "Verbal guarantees are impossible"
    v = run(draft([point(Pakistan=cite(("S3", span)), Afghanistan=cite(("S5", "  the whole burden  ")))]))
    [pk] = v.points[0].accounts["Pakistan"].quotes
    assert pk.text == span and pk.start == TEXT_A.index(span) and pk.end == pk.start + len(span)
    [af] = v.points[0].accounts["Afghanistan"].quotes
    assert af.text == "the whole burden"  # surrounding blanks are not part of the quote
    assert_exact(v)


@pytest.mark.parametrize(
    "span",
    [
        "verbal guarantees are impossible",  # case differs
        "Verbal  guarantees are impossible",  # spacing differs
        "Verbal guarantees are not possible",  # paraphrase
        "Talks in Istanbul ended on Friday",  # exact text, but of another statement
    ],
)
def test_inexact_span_keeps_the_whole_statement(span: str) -> None:
    v = run(draft([point(Pakistan=cite(("S3", span)), Afghanistan=cite("S5"))]))
    [q] = v.points[0].accounts["Pakistan"].quotes
    assert q.text == SENTENCES["S3"][1]
    assert_exact(v)


def test_duplicate_citations_are_removed() -> None:
    whole = SENTENCES["S2"][1]
    v = run(
        draft(
            [
                {"topic": "t", "kind": "contradiction", "accounts": [
                    {"side": "Pakistan", "claim": "first", "citations": cite("S2", "S2", ("S2", whole))},
                    {"side": "Pakistan", "claim": "again", "citations": cite("S2", "S3")},
                    {"side": "Afghanistan", "claim": "c", "citations": cite("S5", "S5")},
                ]},
            ]
        )
    )  # fmt: skip
    accounts = v.points[0].accounts
    assert [q.text for q in accounts["Pakistan"].quotes] == [whole, SENTENCES["S3"][1]]
    assert accounts["Pakistan"].claim == "first"
    assert len(accounts["Afghanistan"].quotes) == 1
    assert v.dropped_ids == 0  # a duplicate is not an unverifiable id


# --- kinds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claimed", "accounts", "expected"),
    [
        ("contradiction", {"Pakistan": ["S2"]}, "one_side_only"),
        ("different_emphasis", {"Afghanistan": ["S5"]}, "one_side_only"),
        ("one_side_only", {"Pakistan": ["S2"], "Afghanistan": ["S5"]}, "different_emphasis"),
        ("contradiction", {"Pakistan": ["S2"], "Afghanistan": ["S5"]}, "contradiction"),
        ("different_emphasis", {"Pakistan": ["S2"], "Afghanistan": ["S6"]}, "different_emphasis"),
        # One side's only citation fails: the point is left with one side.
        ("contradiction", {"Pakistan": ["S2"], "Afghanistan": ["S42"]}, "one_side_only"),
    ],
)
def test_kinds_are_fixed_from_the_verified_accounts(
    claimed: str, accounts: dict[str, list[str]], expected: str
) -> None:
    v = run(draft([point(claimed, **{s: cite(*ids) for s, ids in accounts.items()})]))
    assert v.points[0].kind == expected


def test_points_without_verified_accounts_are_left_out() -> None:
    v = run(draft([point(topic="empty", Pakistan=cite("S77")), point(topic="", Pakistan=cite("S2"))]))
    assert [p.topic for p in v.points] == ["Point"]
    assert v.dropped_ids == 1


# --- abstention ----------------------------------------------------------------------------------
def test_abstains_when_nothing_verifies() -> None:
    v = run(draft([point(Pakistan=cite("S90"), Afghanistan=cite("S91")), point(Martians=cite("S1"))]))
    assert v.abstained and "verified" in v.reason
    assert v.sides == [] and v.points == []
    assert v.dropped_ids == 3


def test_abstains_when_there_are_no_points() -> None:
    v = run(draft([]))
    assert v.abstained and v.sides == []


def test_not_answerable_keeps_the_models_reason() -> None:
    v = run(Draft(answerable=False, reason="The statements are about football."))
    assert v.abstained and v.reason == "The statements are about football."
    blank = run(Draft(answerable=False, reason="  "))
    assert blank.abstained and blank.reason  # a default reason, never empty


def test_not_answerable_ignores_any_points() -> None:
    d = draft([point(Pakistan=cite("S2"), Afghanistan=cite("S5"))]).model_copy(update={"answerable": False})
    v = run(d)
    assert v.abstained and v.points == [] and v.sides == []


# --- sides and speakers --------------------------------------------------------------------------
def test_sides_without_a_verified_quote_are_dropped() -> None:
    sides = [{"name": "Pakistan"}, {"name": "Afghanistan"}, {"name": "Turkey"}, {"name": "pakistan"}]
    v = run(draft([point(Pakistan=cite("S2"), Afghanistan=cite("S5"))], sides=sides))
    assert [s.name for s in v.sides] == ["Pakistan", "Afghanistan"]


def test_speakers_not_in_the_cited_text_are_dropped() -> None:
    sides = [
        {"name": "Pakistan", "speakers": ["Khawaja Asif", "Imran Invented", "Mujahid", "Al"]},
        {"name": "Afghanistan", "speakers": ["Zabihullah Mujahid", "Noorullah Noori"]},
    ]
    v = run(draft([point(Pakistan=cite("S3"), Afghanistan=cite("S5"))], sides=sides))
    speakers = {s.name: s.speakers for s in v.sides}
    # "Asif" is in S3, so the full name stands; "Mujahid" is in Afghanistan's statements, not Pakistan's.
    assert speakers["Pakistan"] == ["Khawaja Asif"]
    assert speakers["Afghanistan"] == ["Zabihullah Mujahid"]  # Noori appears nowhere


def test_rule_found_speakers_are_added_only_when_named() -> None:
    sides = [{"name": "Pakistan"}, {"name": "Afghanistan"}]
    v = run(draft([point(Pakistan=cite("S2"), Afghanistan=cite("S6"))], sides=sides))
    speakers = {s.name: s.speakers for s in v.sides}
    assert speakers["Pakistan"] == ["Khawaja Asif"]  # the statement's rule-found speaker
    # S6 ("He called ...") resolves to Mujahid by rules, but shows no name: nothing to show.
    assert speakers["Afghanistan"] == []


def test_speakers_are_whole_words_of_the_text() -> None:
    # "Ali" starts "Alison" and "Lee" starts "Leeds": neither person is in the statement.
    sides = [
        {"name": "Observers", "speakers": ["Jan Ali", "Tom Lee", "Alison Brooks"]},
        {"name": "Pakistan"},
    ]
    v = run(draft([point(Observers=cite("S4"), Pakistan=cite("S2"))], sides=sides))
    assert {s.name: s.speakers for s in v.sides}["Observers"] == ["Alison Brooks"]


def test_a_side_is_not_its_own_speaker() -> None:
    sides = [
        {"name": "Pakistan", "speakers": ["pakistan", "Pakistan", "Khawaja Asif"]},
        {"name": "Afghanistan"},
    ]
    v = run(draft([point(Pakistan=cite("S2"), Afghanistan=cite("S5"))], sides=sides))
    assert {s.name: s.speakers for s in v.sides} == {
        "Pakistan": ["Khawaja Asif"],
        "Afghanistan": ["Zabihullah Mujahid"],
    }


def test_a_speaker_named_over_a_line_break_is_one_speaker() -> None:
    """Hard-wrapped text breaks a name over two lines; the side lists it once, on one line."""
    from service.chain.verify import _speakers

    text = (
        "The Court of\nAppeals held that the toll was a tax. The Court of Appeals added that it was unfair."
    )
    first, second = text.split(". ")
    cited = [
        Statement(sid="S1", doc_id="a", start=0, end=len(first), text=first, speaker="The Court of\nAppeals"),
        Statement(sid="S2", doc_id="a", start=len(first) + 2, end=len(text), text=second,
                  speaker="The Court of Appeals"),
    ]  # fmt: skip
    assert _speakers("courts", [], cited) == ["The Court of Appeals"]
