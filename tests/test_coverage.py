"""Coverage (service/coverage.py): which outlets carry each side, when, in whose words; the
one-sided flags; key quotes. Hand-built answers over invented documents, then `ask --json` on an
invented three-document collection (tests/data/marrowby/, the rules on the fake backend)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from test_render import EVIL, assert_inert, parse
from typer.testing import CliRunner

from service.cli import app
from service.coverage import coverage, is_direct, key_quotes, outlet_label, with_coverage
from service.models import Account, Comparison, Point, Quote, Side
from service.page.coverage_html import timeline_png, timeline_points
from service.page.render import comparison_html, comparison_markdown

DATA = Path(__file__).parent / "data" / "marrowby"
MARROWBY = [  # (file, outlet, date): one dispute told by three invented outlets a week apart
    ("ledger.txt", "The Coastal Ledger", "2025-03-04"),
    ("weekly.txt", "Harbour Weekly", "2025-03-11"),
    ("radio.txt", "Valley Radio", "2025-03-18"),
]
MARROWBY_QUESTION = (
    "What do the Marrowby Port Authority and the Marrowby Fishers' Cooperative say about the dredging?"
)
PORT, FISHERS = "the port authority", "the fishers"
SOURCES = {  # doc -> (outlet, date, title)
    "ledger": ("The Coastal Ledger", "2025-03-04", "Dredging plan splits the harbour"),
    "weekly": ("Harbour Weekly", "2025-03-11", "Port defends its timetable"),
    "radio": ("Valley Radio", "2025-03-18", "Dredgers arrive as talks stall"),
    "notes": ("", "", "Council meeting notes, 12 March"),
}


def q(text: str, doc: str = "ledger", start: int = 0) -> Quote:
    outlet, day, title = SOURCES[doc]
    return Quote(doc=doc, start=start, end=start + len(text), text=text, title=title, outlet=outlet, date=day)


def answer(port: list[Quote], fishers: list[Quote], *more: Point) -> Comparison:
    """Both sides on one point, each with the given quotes, and any further points."""
    point = Point(
        topic="dredging",
        kind="contradiction",
        accounts={
            PORT: Account(claim="Safe.", quotes=port),
            FISHERS: Account(claim="Ruinous.", quotes=fishers),
        },
    )
    sides = [Side(name=PORT, speakers=["Mara Quell"]), Side(name=FISHERS, speakers=["Odo Penn"])]
    return Comparison(question="What do they say about the dredging?", sides=sides, points=[point, *more])


def side(c: Comparison, name: str):
    return next(s for s in coverage(c).sides if s.side == name)


def kinds(c: Comparison, name: str) -> list[str]:
    return [f.kind for f in side(c, name).flags]


# --- counts ------------------------------------------------------------------------------------
def test_each_side_gets_its_documents_outlets_counts_dates_and_direct_share() -> None:
    c = answer(
        [
            q("“The channel brings four hundred jobs,” Quell said.", "ledger"),
            q("Quell said the bay had been studied for two years.", "ledger", 60),
            q("“April is the only month the tides allow,” said Quell.", "weekly"),
        ],
        [q("Penn said the silt would bury the mussel beds.", "ledger", 200)],
    )
    port = side(c, PORT)
    assert (port.quotes, port.direct, port.direct_share) == (3, 2, 0.667)
    assert [(o.outlet, o.quotes, o.documents) for o in port.outlets] == [
        ("The Coastal Ledger", 2, ["ledger"]),
        ("Harbour Weekly", 1, ["weekly"]),
    ]
    assert [(d.doc, d.quotes, d.date) for d in port.documents] == [
        ("ledger", 2, "2025-03-04"),
        ("weekly", 1, "2025-03-11"),
    ]
    assert (port.earliest, port.latest) == ("2025-03-04", "2025-03-11")
    assert coverage(c).outlets == ["The Coastal Ledger", "Harbour Weekly"] and coverage(c).dated


def test_an_outlet_falls_back_to_the_title_and_dates_that_are_not_dates_are_left_out() -> None:
    notes = q("Quell said the council had every answer.", "notes")
    assert outlet_label(notes) == "Council meeting notes, 12 March"
    assert outlet_label(notes.model_copy(update={"title": ""})) == "notes"
    odd = q("“We start in April,” Quell said.", "weekly").model_copy(update={"date": "last Tuesday"})
    port = side(answer([notes, odd], [q("Penn said no.", "ledger")]), PORT)
    assert {o.outlet for o in port.outlets} == {"Council meeting notes, 12 March", "Harbour Weekly"}
    assert (port.earliest, port.latest) == ("", "")


def test_a_quote_cited_on_two_points_counts_once() -> None:
    twice = q("“The bay is safe,” Quell said.")
    again = Point(
        topic="safety", kind="one_side_only", accounts={PORT: Account(claim="Safe.", quotes=[twice])}
    )
    port = side(answer([twice], [q("Penn said no.", "weekly")], again), PORT)
    assert port.quotes == 1 and port.outlets[0].quotes == 1


@pytest.mark.parametrize(
    ("text", "direct"),
    [
        ("“We will not stop,” Quell said.", True),
        ('"We will not stop," Quell said.', True),
        ("« Nous continuons », a dit Quell.", True),
        ("Quell called the survey ‘a formality’.", True),
        ("Quell said the authority's survey was done.", False),
        ("Penn said the fishers’ season was ruined.", False),
    ],
)
def test_a_quote_is_in_the_speakers_own_words_when_it_holds_quotation_marks(text: str, direct: bool) -> None:
    assert is_direct(text) is direct


def test_an_abstained_answer_and_a_silent_side_have_empty_coverage() -> None:
    none = Comparison(question="?", abstained=True, reason="no dispute", sides=[Side(name=PORT)])
    assert [(s.side, s.quotes, s.flags) for s in coverage(none).sides] == [(PORT, 0, [])]
    silent = side(answer([q("“Safe,” Quell said.")], []), FISHERS)
    assert silent.quotes == 0 and not silent.flags and not silent.key_quotes


# --- flags -------------------------------------------------------------------------------------
def test_a_side_heard_in_only_one_of_several_outlets_is_flagged() -> None:
    c = answer(
        [
            q("“Safe,” Quell said.", "ledger"),
            q("“On time,” Quell said.", "weekly"),
            q("“Jobs,” Quell said.", "radio"),
        ],
        [q("“Ruin,” Penn said.", "weekly", 40)],
    )
    (flag,) = side(c, FISHERS).flags
    assert flag.kind == "single_outlet"
    assert flag.text == "Only one of the 3 outlets in this answer quotes the fishers: Harbour Weekly."
    assert kinds(c, PORT) == []
    # One outlet for the whole answer is not one-sided coverage of either side.
    same = answer([q("“Safe,” Quell said.")], [q("“Ruin,” Penn said.", start=40)])
    assert kinds(same, FISHERS) == [] and kinds(same, PORT) == []


def test_a_side_heard_only_through_reported_speech_is_flagged() -> None:
    reported = [
        q("Penn said the silt would bury the beds.", "ledger", 90),
        q("Penn said they would sue.", "weekly"),
    ]
    c = answer([q("“Safe,” Quell said.", "ledger"), q("“On time,” Quell said.", "weekly", 50)], reported)
    assert kinds(c, FISHERS) == ["reported_only"]
    assert side(c, FISHERS).flags[0].text == (
        "Every quote of the fishers is reported speech (2 of 2): none is in the side's own words."
    )
    one = answer([q("“Safe,” Quell said.")], reported[:1])
    assert "The only quote of the fishers is reported speech" in side(one, FISHERS).flags[-1].text
    # One quote in its own words is enough.
    mixed = answer(
        c.points[0].accounts[PORT].quotes, [*reported, q("“We will sue,” Penn said.", "weekly", 90)]
    )
    assert "reported_only" not in kinds(mixed, FISHERS)


def test_a_side_quoted_only_where_the_other_side_is_quoted_more_is_flagged() -> None:
    port = [
        q(f"“Point {i},” Quell said.", doc, 30 * i)
        for i, doc in enumerate(["ledger", "ledger", "weekly", "weekly"])
    ]
    fishers = [q("“Ruin,” Penn said.", "ledger", 500), q("“Silt,” Penn said.", "weekly", 500)]
    c = answer(port, fishers)
    assert kinds(c, FISHERS) == ["outlets_favour_other"] and kinds(c, PORT) == []
    assert side(c, FISHERS).flags[0].text == (
        "Every outlet that quotes the fishers quotes the port authority more: "
        "The Coastal Ledger (the port authority 2, the fishers 1); "
        "Harbour Weekly (the port authority 2, the fishers 1)."
    )
    # "More" means at least twice as often: 3 against 2 in every outlet is not one-sided.
    close = answer(
        [*port, q("“Point 9,” Quell said.", "weekly", 900)], [*fishers, q("“Mud,” Penn said.", "weekly", 600)]
    )
    assert "outlets_favour_other" not in kinds(close, FISHERS)
    # One outlet that gives the fishers as many quotes as the port lifts the flag.
    even = answer(port, [*fishers, q("“Mud,” Penn said.", "weekly", 600)])
    assert "outlets_favour_other" not in kinds(even, FISHERS)


def test_all_three_flags_can_hold_at_once() -> None:
    c = answer(
        [
            q("“Safe,” Quell said.", "ledger"),
            q("“Jobs,” Quell said.", "ledger", 30),
            q("“On time,” Quell said.", "radio"),
        ],
        [q("Penn said the beds would be buried.", "ledger", 90)],
    )
    assert kinds(c, FISHERS) == ["single_outlet", "reported_only", "outlets_favour_other"]


# --- key quotes --------------------------------------------------------------------------------
def test_key_quotes_are_those_sharing_most_of_the_sides_content() -> None:
    quotes = [
        q("“The dredging will bring bigger ships and jobs to the harbour,” Quell said.", "ledger"),
        q("“Bigger ships mean jobs, and the dredging brings bigger ships,” said Quell.", "weekly"),
        q("Quell said the dredging of the harbour would bring jobs.", "radio"),
        q("Quell said she likes the lighthouse.", "ledger", 300),
    ]
    keys = key_quotes(quotes, quotes, names=["Quell", PORT])
    assert len(keys) == 2  # half of four
    assert quotes[3] not in [k.quote for k in keys]  # shares nothing with the rest
    assert all(k.outlet == outlet_label(k.quote) for k in keys)
    assert keys[0].score >= keys[1].score > 0
    assert [k.quote for k in key_quotes(quotes[:1], quotes)] == quotes[:1]  # one quote is its own key
    # Three at most, and a near-repeat of a key quote is passed over for the next one.
    many = (
        quotes[:3]
        + [quotes[0].model_copy(update={"start": 900})]
        + [q(f"Quell said x{i}.", "radio", 70 * i) for i in range(6)]
    )
    picked = key_quotes(many, many, names=["Quell"])
    assert len(picked) == 3 and not {0, 3} <= {many.index(k.quote) for k in picked}


def test_old_cached_answers_without_coverage_load_and_get_one() -> None:
    c = answer([q("“Safe,” Quell said.")], [q("Penn said no.", "weekly")])
    old = json.loads(c.model_dump_json())
    del old["coverage"]
    loaded = Comparison.model_validate(old)
    assert loaded.coverage is None and with_coverage(loaded).coverage == coverage(c)


# --- ask --json on three invented documents ----------------------------------------------------
def test_ask_json_gives_each_sides_outlets_counts_dates_direct_share_and_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "rules")
    runner = CliRunner()
    for name, outlet, day in MARROWBY:
        done = runner.invoke(app, ["ingest", str(DATA / name), "--outlet", outlet, "--date", day])
        assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["ask", MARROWBY_QUESTION, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    cov = body["coverage"]
    sides = {s["side"]: s for s in cov["sides"]}
    port, coop = sides["Marrowby Port Authority"], sides["Marrowby Fishers' Cooperative"]
    assert sorted(cov["outlets"]) == sorted(o for _, o, _ in MARROWBY) and cov["dated"]
    # The port authority is heard in all three outlets, a week apart, partly in its own words.
    assert {o["outlet"] for o in port["outlets"]} == {o for _, o, _ in MARROWBY}
    assert (port["earliest"], port["latest"]) == ("2025-03-04", "2025-03-18")
    quoted = [
        x for p in body["points"] for x in p["accounts"].get("Marrowby Port Authority", {}).get("quotes", [])
    ]
    assert (
        port["quotes"]
        == len({(x["doc"], x["start"]) for x in quoted})
        == sum(o["quotes"] for o in port["outlets"])
    )
    assert 0 < port["direct"] < port["quotes"]
    assert port["direct_share"] == round(port["direct"] / port["quotes"], 3) and port["flags"] == []
    assert 1 <= len(port["key_quotes"]) <= 3
    # The cooperative: reported twice, in one outlet that quotes the port more: every flag holds.
    assert [(o["outlet"], o["quotes"]) for o in coop["outlets"]] == [("The Coastal Ledger", 2)]
    assert (coop["earliest"], coop["latest"], coop["direct_share"]) == ("2025-03-04", "2025-03-04", 0.0)
    assert [f["kind"] for f in coop["flags"]] == ["single_outlet", "reported_only", "outlets_favour_other"]
    assert coop["key_quotes"][0]["outlet"] == "The Coastal Ledger"
    # The table: a short tag per quote, each source once underneath, then the flags.
    monkeypatch.setenv("COLUMNS", "200")  # rich reads the width from here when there is no terminal
    table = runner.invoke(app, ["ask", MARROWBY_QUESTION]).stdout
    assert "[Valley Radio]" in table and table.count("Dredgers arrive in Marrowby as talks stall") == 1
    assert "⚠ Only one of the 3 outlets in this answer quotes Marrowby Fishers' Cooperative" in table


# --- the page: strip, filter hooks, timeline, key quotes ---------------------------------------
def flagged() -> Comparison:
    """The port in three outlets over two weeks; the fishers reported once, in the port's outlet."""
    return answer(
        [
            q("“The channel brings four hundred jobs,” Quell said.", "ledger"),
            q("“April is the only month the tides allow,” said Quell.", "weekly"),
            q("“The survey will show the bay is safe,” Quell said.", "radio"),
            q("Quell said the council had every answer.", "ledger", 300),
        ],
        [q("Penn said the silt would bury the mussel beds.", "ledger", 500)],
    )


def test_the_strip_shows_each_sides_outlets_as_chips_with_counts_dates_and_flags() -> None:
    out = comparison_html(flagged())
    tree = assert_inert(out)
    assert out.index('class="cp-coverage"') < out.index('class="cp-grid')  # above the columns
    cards = tree.find("cp-coverage").find_all("cp-cov-card")
    assert [c.attrs["data-side"] for c in cards] == [PORT, FISHERS]
    port, fishers = cards
    chips = [(c.attrs["data-outlet"], c.find("cp-chip-count").text()) for c in port.find_all("cp-chip")]
    assert chips == [("The Coastal Ledger", "2"), ("Harbour Weekly", "1"), ("Valley Radio", "1")]
    assert all(c.tag == "button" and c.attrs["aria-pressed"] == "false" for c in port.find_all("cp-chip"))
    assert port.find("cp-cov-facts").text() == "4 quotes · 75% in own words · 2025-03-04 – 2025-03-18"
    assert not port.find_all("cp-flag")
    assert fishers.find("cp-cov-facts").text() == "1 quote · 0% in own words · 2025-03-04"
    assert [f.attrs["data-flag"] for f in fishers.find_all("cp-flag")] == [
        "single_outlet", "reported_only", "outlets_favour_other",
    ]  # fmt: skip
    # Every quote in the columns names its outlet as the chips do, which is what the filter compares.
    blocks = tree.find("cp-grid").find_all("cp-quote-block")
    assert {b.attrs["data-outlet"] for b in blocks} == {
        "The Coastal Ledger",
        "Harbour Weekly",
        "Valley Radio",
    }
    assert "hidden" in tree.find("cp-filter").attrs  # shown only while a filter is on


def test_the_strip_escapes_what_articles_and_models_control() -> None:
    evil = q("“x,” Quell said.", "notes").model_copy(update={"outlet": f'{EVIL}" data-x="', "title": EVIL})
    c = answer([evil, q("“y,” Quell said.", "weekly")], [q("Penn said z.", "ledger")])
    c = c.model_copy(update={"sides": [Side(name=EVIL), *c.sides[1:]]})
    c.points[0].accounts[EVIL] = c.points[0].accounts.pop(PORT)
    out = comparison_html(c)
    tree = assert_inert(out)
    chip = tree.find("cp-coverage").find_all("cp-chip")[0]
    assert chip.attrs["data-outlet"] == f'{EVIL}" data-x="' and "data-x" not in chip.attrs
    assert tree.find("cp-coverage").find_all("cp-cov-card")[0].attrs["data-side"] == EVIL


def test_a_timeline_is_drawn_by_matplotlib_only_when_documents_carry_dates() -> None:
    c = flagged()
    assert timeline_points(c) == [
        (PORT, "2025-03-04", 2), (PORT, "2025-03-11", 1), (PORT, "2025-03-18", 1), (FISHERS, "2025-03-04", 1),
    ]  # fmt: skip
    img = parse(comparison_html(c)).find("cp-timeline").find(tag="img")
    png = base64.b64decode(img.attrs["src"].removeprefix("data:image/png;base64,"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == timeline_png(c)
    assert img.attrs["alt"].startswith(f"Quotes by date. {PORT}: 2025-03-04 (2), 2025-03-11 (1)")
    undated = answer([q("“Fine,” Quell said.", "notes")], [q("Penn said no.", "notes", 40)])
    assert timeline_png(undated) is None and not parse(comparison_html(undated)).find_all("cp-timeline")
    # Undated quotes are left out and counted; names matplotlib would read as mathematics stay text.
    mixed = answer([*flagged().points[0].accounts[PORT].quotes, q("“Fine,” Quell said.", "notes")], [])
    mixed = mixed.model_copy(update={"sides": [Side(name="$x^2$ 💧"), Side(name=FISHERS)]})
    mixed.points[0].accounts["$x^2$ 💧"] = mixed.points[0].accounts.pop(PORT)
    caption = parse(comparison_html(mixed)).find("cp-timeline").find(tag="figcaption").text()
    assert caption == "When each side was quoted, by its document's date (1 undated quote left out)"


def test_key_quotes_sit_in_a_closed_section_each_with_its_outlet() -> None:
    c = flagged()
    tree = parse(comparison_html(c))
    section = tree.find("cp-keyquotes")
    assert section.tag == "details" and "open" not in section.attrs
    groups = section.find_all("cp-key-side")
    assert [g.find("cp-key-name").text() for g in groups] == [PORT, FISHERS]
    expected = [k.quote.text for k in side(c, PORT).key_quotes]
    assert [b.find(tag="q").text() for b in groups[0].find_all("cp-quote", tag="button")] == expected
    assert len(expected) == 2 and all(b.attrs["data-side"] == PORT for b in groups[0].find_all("cp-quote"))
    assert [s.attrs["data-outlet"] for s in groups[1].find_all("cp-quote-block")] == ["The Coastal Ledger"]


def test_one_outlet_for_the_whole_answer_is_said_in_the_strip() -> None:
    c = answer([q("“Safe,” Quell said.")], [q("“Ruin,” Penn said.", start=40)])
    note = parse(comparison_html(c)).find("cp-cov-note").text()
    assert note == "Every quote in this answer comes from one outlet: The Coastal Ledger."


def test_the_markdown_export_starts_with_each_sides_key_quotes() -> None:
    c = flagged()
    md = comparison_markdown(c)
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections == ["## Key quotes", "## Coverage", "## Sides", "## Points", "## Stats"]
    head = md[: md.index("## Coverage")]
    for s in coverage(c).sides:
        assert f"**{s.side}**" in head and all(f"> {k.quote.text}" in head for k in s.key_quotes)
    assert "⚠ Only one of the 3 outlets in this answer quotes the fishers: The Coastal Ledger." in md
    assert "- **the port authority**: 4 quotes from The Coastal Ledger (2), Harbour Weekly (1)" in md
