"""Placement without a model, on invented sentences: parties from the question, speakers placed by
the names, titles and bodies in their attribution. The backbone, the points and the per-statement
strategy on it are in test_backbone.py."""

from __future__ import annotations

import zlib
from collections import Counter
from typing import Any

import numpy as np
import pytest

from service.chain.attribution.parse import nlp
from service.chain.attribution.statements import described_beside, number_statements
from service.chain.points import lineup
from service.chain.points.pairing import group, hub_corrected
from service.chain.sides import backbone as rules
from service.chain.sides.placement import (
    Placed,
    keys,
    match_side,
    nearest_for,
    speaker_side,
    subject_side,
    titled_body,
)
from service.chain.sides.question import Question, question_parties
from service.chain.strategies import stance
from service.library import sentences
from service.models import Statement

QUESTION = "Why did the ferry talks between the Ruritanian Ministry of Ports and the dockworkers' union fail?"
ARTICLE = (
    "Ferry talks collapse in Northport\n\n"
    "Talks between the Ruritanian Ministry of Ports and the dockworkers' union collapsed on Tuesday. "
    "Ana Ruse, the ministry's chief negotiator, said the union had rejected a written offer. "
    "“We tabled a fair offer and they walked away,” Ruse said. "
    "Union leader Karl Ode said the ministry never put its offer in writing. "
    "“There was no offer on paper, only promises,” he said. "
    "The ferries carry about 9,000 passengers a day. "
    "Tomas Vell, who chairs the union's branch committee, said members would strike from Monday. "
    "A harbour historian, Edda Marr, said such disputes had recurred since the 1990s."
)


def Q(text: str) -> Question:
    """The question, parsed once as the chain parses it."""
    return Question.parse(text)


def _stmt(text: str, sid: str = "S1", **fields: Any) -> Statement:
    """A one-sentence statement parsed on its own (the chain attaches its document's parse)."""
    s = Statement(sid=sid, doc_id="d", start=0, end=len(text), text=text, **fields)
    s._parse = nlp()(text)[:]
    return s


def side_of(placed: Placed | None) -> str | None:
    """The side of a placement (the tests below check the side; test_why.py checks the rule)."""
    return None if placed is None else placed.side


def _statements(*texts: str) -> tuple[list[Statement], dict[str, Counter[str]]]:
    """The statements of one or more documents (ARTICLE when none is given), numbered on across
    them, and the bodies and roles the parser found beside each speaker (as retrieval counts them)."""
    found: list[Statement] = []
    for n, text in enumerate(texts or (ARTICLE,), 1):
        doc_id = "doc" if n == 1 else f"doc{n}"
        found += number_statements(doc_id, text, sentences(text), start_index=len(found) + 1)[0]
    return found, described_beside(found)


def _vectors(statements: list[Statement]) -> np.ndarray:
    """Bag-of-words vectors: sentences sharing words are similar (stands in for the embedder)."""
    out = np.zeros((len(statements), 256), dtype=np.float32)
    for i, s in enumerate(statements):
        for word in s.text.casefold().split():
            out[i, zlib.crc32(word.strip(".,“”").encode()) % 256] += 1.0
    return out


# --- placement ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "parties"),
    [
        (QUESTION, ["Ruritanian Ministry of Ports", "dockworkers' union"]),
        ("How do Velora and Castamir differ over the river dam?", ["Velora", "Castamir"]),
        ("What do the backers and the critics argue about the new tram line?", ["backers", "critics"]),
        (
            "How does the Harbour Board respond to Mayor Lena Ostrova on fares?",
            ["Harbour Board", "Mayor Lena Ostrova"],
        ),
        (
            "How do the Orvel Valley farmers and Castamir Mills disagree?",
            ["Orvel Valley farmers", "Castamir Mills"],
        ),
        (  # the recogniser runs one name over both
            "How do the Pellow Innkeepers' Association and Pellow Town Council disagree about the bed tax?",
            ["Pellow Innkeepers' Association", "Pellow Town Council"],
        ),
        (  # the recogniser misses the first name, and a possessive sits inside it
            "How do the Dunnet Boatmen's Society and Dunnet Town Council disagree about the mooring fee?",
            ["Dunnet Boatmen's Society", "Dunnet Town Council"],
        ),
        (  # the recogniser takes part of the lodge for a facility
            "How do the Velora Ferrymen's Lodge and Velora Town Council disagree about the proposed levy?",
            ["Velora Ferrymen's Lodge", "Velora Town Council"],
        ),
    ],
)
def test_question_parties(question: str, parties: list[str]) -> None:
    found = question_parties(Q(question))
    assert [p for p in found if p in parties] == parties  # others may come along, and drop out unheard


def test_what_a_dispute_is_over_is_not_a_party() -> None:
    question = "Why do Velora and Castamir disagree over the Orvel Barrage?"
    assert question_parties(Q(question)) == ["Velora", "Castamir"]


@pytest.mark.parametrize("mark", ["'", '"', "“"])
def test_a_claim_quoted_in_the_question_names_no_party(mark: str) -> None:
    close = "”" if mark == "“" else mark
    question = (
        f"Motion: {mark}Velora should join the Castamir League{close}. What do backers and critics say?"
    )
    assert question_parties(Q(question)) == ["backers", "critics"]


MAYOR_ARTICLE = (
    "Quay plan splits Velora\n\n"
    "Velora will build a new quay at the old ferry steps, Mayor Ana Ruse said on Monday. "
    "“The steps are crumbling and the ferries need room,” the mayor said. "
    "The harbour pilots said the quay would narrow the channel. "
    "“Nobody asked the people who steer the boats,” pilot Karl Ode said."
)


def test_a_name_owning_a_speaker_noun_keeps_the_noun_the_documents_introduce_speakers_by() -> None:
    question = "How do Velora's mayor and the harbour pilots disagree over the new quay?"
    statements, affiliations = _statements(MAYOR_ARTICLE)
    # The question lists who it asks (see slots.py): the mayor, with or without the documents.
    assert question_parties(Q(question)) == question_parties(Q(question), statements)
    sides = question_parties(Q(question), statements)
    assert sides == ["Velora's mayor", "harbour pilots"]
    bone = rules.backbone(Q(question), statements, affiliations)
    said = {s.text.split("”")[0]: bone.labels.get(s.sid) for s in statements if s.text.startswith("“")}
    assert said == {"“The steps are crumbling and the ferries need room,": "Velora's mayor",
                    "“Nobody asked the people who steer the boats,": "harbour pilots"}  # fmt: skip


def test_a_possessed_noun_no_speaker_is_introduced_by_stays_out_of_the_party() -> None:
    statements, _ = _statements(MAYOR_ARTICLE)
    # A question that lists no one to speak falls back to its names: "test" is what is asked about.
    question = "Does Velora's test work as well as the harbour pilots think?"
    assert question_parties(Q(question), statements)[0] == "Velora"


COUNCIL_ARTICLE = (
    "Velora council defends ferry fare rise\n\n"
    "The Velora council said on Monday that the new fares would pay for two boats. "
    "“We cannot run a ferry on goodwill,” the council said in a statement. "
    "The Riverside Traders' Association said the rise would empty the market. "
    "“Our stalls live on day visitors,” its chair Karl Ode said."
)


def test_a_place_qualifying_a_noun_speakers_are_introduced_by_keeps_the_noun() -> None:
    """The party is the Velora council, not the town, when the documents hear "the council" speak."""
    statements, affiliations = _statements(COUNCIL_ARTICLE)
    question = "What do the Velora council and the Riverside Traders' Association say about the fares?"
    assert question_parties(Q(question), statements)[0] == "Velora council"
    bone = rules.backbone(Q(question), statements, affiliations)
    said = {s.text.split("”")[0]: bone.labels.get(s.sid) for s in statements if s.text.startswith("“")}
    assert said["“We cannot run a ferry on goodwill,"] == "Velora council"
    # A noun the documents carry but never hear speak stays out ("run a ferry"): the town's ferry is
    # what is asked about.
    assert question_parties(Q("Is the Velora ferry worth its fare?"), statements) == ["Velora"]


def test_in_a_list_of_arguments_every_argument_is_asked_about() -> None:
    """A short argument reads little like the question it answers; where no one speaks at all, it is
    still asked about (stance.py). In reporting, narration far from the question is not."""
    texts = ["A levy would cut traffic in the old town.", "Shops in the centre would lose trade.",
             "A flat fee is fairer."]  # fmt: skip
    statements = [_stmt(t, f"S{i}") for i, t in enumerate(texts, 1)]
    on_subject = {"S1": 0.5, "S2": 0.4, "S3": 0.05}
    bone = rules.Backbone(sides=["backers", "critics"], labels={})
    assert [s.sid for s in stance.arguments(bone, statements, on_subject)] == ["S1", "S2", "S3"]
    text = "Ana Ruse said the levy was unfair."
    spoken = _stmt(text, "S4", speaker="Ana Ruse")
    asked = stance.arguments(bone, [*statements, spoken], on_subject | {"S4": 0.5})
    assert [s.sid for s in asked] == ["S1", "S2"]


def test_in_a_list_of_arguments_each_pairs_with_the_other_sides_nearest() -> None:
    """Two arguments that share no word still answer one motion: one point. Where people speak,
    statements that share nothing stay apart."""
    texts = ["Buses would run on time.", "Shops lose trade.", "Cleaner air for children.",
             "Villagers pay most."]  # fmt: skip
    statements = [_stmt(t, f"S{i}") for i, t in enumerate(texts, 1)]
    labels = {"S1": "backers", "S2": "critics", "S3": "backers", "S4": "critics"}
    bone = rules.Backbone(sides=["backers", "critics"], labels=labels)
    draft = lineup.draft(bone, statements, _vectors(statements))
    assert [{a.side for a in p.accounts} for p in draft.points] == [{"backers", "critics"}] * 2
    spoken = [s.model_copy(update={"speaker": "Ana Ruse"}) for s in statements]
    apart = lineup.draft(bone, spoken, _vectors(spoken))
    assert all(len(p.accounts) == 1 for p in apart.points)


def test_a_statement_like_everything_does_not_take_a_closer_answers_partner() -> None:
    """A general remark (S3) reads a little more like S1 than S1's own answer (S4) does, and almost
    as much like S2. Raw cosine pairs S1 with the remark and leaves S2 and S4 alone; corrected for
    hubness, S1 pairs with its answer and S2 with the remark."""
    gram = np.array([[1, 0.3, 0.75, 0.7], [0.3, 1, 0.72, 0.05], [0.75, 0.72, 1, 0.4], [0.7, 0.05, 0.4, 1]])
    vectors = np.linalg.cholesky(gram)  # rows whose cosines are `gram`
    statements = [Statement(sid=f"S{i}", doc_id="d", start=0, end=1, text="x") for i in range(1, 5)]
    assert group(statements, ["A", "A", "B", "B"], vectors) == [[0, 3], [1, 2]]
    rank = hub_corrected(gram, ["A", "A", "B", "B"])
    assert rank[0, 3] > rank[0, 2] and rank[1, 2] > rank[1, 3]
    # r(x) is the mean over other sides only, and a statement with no other side is left as it is.
    assert hub_corrected(np.eye(2), ["A", "A"]).tolist() == [[2.0, 0.0], [0.0, 2.0]]


def test_a_sides_leftover_statement_folds_into_a_point_where_the_other_side_speaks() -> None:
    """Three pairs and two leftovers of side A make five groups, one over the cap. The leftover
    A4 reads most like the other leftover A5, but joins the pair it is nearest to instead of
    making a point where only A speaks."""
    e = np.eye(8)
    vectors = np.array(
        [e[0], e[0] + 0.1 * e[5], e[1], e[1] + 0.1 * e[6], e[2], e[2] + 0.1 * e[7],
         e[3] + 0.5 * e[0], e[3] + 0.5 * e[1]]
    )  # fmt: skip
    statements = [Statement(sid=f"S{i}", doc_id="d", start=0, end=1, text="x") for i in range(8)]
    sides = ["A", "B", "A", "B", "A", "B", "A", "A"]
    assert group(statements, sides, vectors) == [[0, 1, 6], [2, 3], [4, 5], [7]]


def test_a_demonym_meets_its_country_but_first_names_do_not_meet() -> None:
    assert match_side("Ruritanian officials", ["Ruritania", "Castamir"]) == "Ruritania"
    assert match_side("Bertil Brook", ["Berta Holm", "Castamir"]) is None
    assert (
        "^bert" not in keys("Berta Holm")
        and "^holm" not in keys("Berta Holm")
        and "holm" in keys("Berta Holm")
    )


def test_words_both_sides_share_tell_nobody_apart() -> None:
    sides = ["Northport City Council", "Northport Harbour Board"]
    assert match_side("a Northport spokesman", sides) is None
    assert match_side("the harbour board", sides) == "Northport Harbour Board"


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("the teachers' union", None),  # another union
        ("the union's negotiator", "dockworkers' union"),
        ("the Castamir dockworkers' union", "dockworkers' union"),
        ("the pro-market camp", None),
        ("Ana Ruse of the green camp", "green camp"),
    ],
)
def test_the_sides_noun_after_another_qualifier_names_another_party(text: str, side: str | None) -> None:
    """A union named by whom it gathers is not every union; a bare "the union" still is."""
    sides = ["dockworkers' union", "green camp", "Velora City Hall"]  # "City Hall" is a name
    assert match_side(text, sides) == side


def test_a_speaker_is_placed_by_the_affiliation_the_parser_found_or_the_title() -> None:
    statements, affiliations = _statements()
    sides = ["Ruritanian Ministry of Ports", "dockworkers' union"]
    assert side_of(speaker_side("Ana Ruse", affiliations.get("Ana Ruse", Counter()), sides)) == sides[0]
    # "Union leader Karl Ode"
    assert side_of(speaker_side("Karl Ode", Counter(), sides, statements)) == sides[1]
    assert side_of(speaker_side("Edda Marr", affiliations.get("Edda Marr", Counter()), sides)) is None


def test_a_definite_speaker_takes_the_side_of_the_body_its_head_noun_named() -> None:
    first = (
        "Valley wells run dry\n\n"
        "Ana Ruse, a lawyer for the growers' cooperative, said six wells had dropped by a metre."
    )
    second = (
        "Pumping dispute goes to a hearing\n\n"
        "Castamir Mills said its pumps drew on a deeper layer. "
        "The cooperative also says the pumping permit should be reviewed every summer."
    )
    statements, affiliations = _statements(first, second)
    question = "How do the Orvel growers and Castamir Mills disagree about the wells?"
    bone = rules.backbone(Q(question), statements, affiliations)
    [last] = [s for s in statements if s.text.startswith("The cooperative")]
    assert last.speaker == "The cooperative"
    assert bone.labels[last.sid] == "Orvel growers"


def test_a_title_whose_words_a_bodys_name_holds_takes_that_bodys_side() -> None:
    sides = ["Ruritania", "Halden Collection"]
    bodies = {"The Ruritanian Ministry of Fisheries", "the collection's trustees"}
    assert side_of(titled_body("Fisheries Minister", bodies, sides)) == "Ruritania"
    assert side_of(titled_body("Minister", bodies, sides)) is None  # one word is too common to tell
    assert side_of(titled_body("Transport Minister", bodies, sides)) is None
    both = bodies | {"the Halden Collection fisheries ministry desk"}
    assert side_of(titled_body("Fisheries Minister", both, sides)) is None  # two sides' bodies hold it


def test_a_titled_speaker_is_placed_by_the_body_their_title_names() -> None:
    text = (
        "Ruritania presses claim for carved boat\n\n"
        "The Ruritanian Ministry of Fisheries said on Friday that the boat belonged in Ruritania. "
        "Fisheries Minister Edda Lorn said the sale in 1902 had been unlawful. "
        "The Halden Collection said the boat had been bought from its builder's grandson."
    )
    statements, affiliations = _statements(text)
    bone = rules.backbone(
        Q("Why does the Halden Collection keep the carved boat, and how does Ruritania answer?"),
        statements,
        affiliations,
    )
    [minister] = [s for s in statements if s.text.startswith("Fisheries Minister")]
    assert bone.labels[minister.sid] == "Ruritania"


def test_the_nearest_side_reads_the_apposition_not_what_is_said() -> None:
    text = "Tomas Vell, who chairs the union's branch committee, said the ministry had lied."
    s = _stmt(text)
    assert side_of(nearest_for("Tomas Vell", [s], ["ministry", "union"])) == "union"
    text = "Tomas Vell said the ministry had lied about the offer."
    s = _stmt(text)
    assert side_of(nearest_for("Tomas Vell", [s], ["ministry", "union"])) is None
    assert side_of(nearest_for("both sides", [s], ["ministry", "union"])) is None


def test_a_party_named_inside_the_speakers_quotation_is_whom_they_speak_of() -> None:
    """Tomas Vell warns the ministry in his own words: that names whom he answers, not whom he
    speaks for; the union named outside the quotation still does."""
    sides = ["ministry", "union"]
    text = '"We warn the ministry that the strike will go on," Tomas Vell said.'
    assert side_of(nearest_for("Tomas Vell", [_stmt(text)], sides)) is None
    text = '"We warn the ministry that the strike will go on," said Tomas Vell of the union.'
    assert side_of(nearest_for("Tomas Vell", [_stmt(text)], sides)) == "union"


@pytest.mark.parametrize(
    ("text", "side"),
    [
        # the ministry already speaks for itself: standing near its name is no reason to join it
        ("The union said the offer was poor. The ministry said the offer was fair. "
         "Outside the ministry, Tomas Vell said the talks had failed.", None),
        # no one else speaks for the ministry: the words around him are the only guess there is
        ("The union said the offer was poor. Outside the ministry, Tomas Vell said the offer was fair.",
         "ministry"),
        # his own phrase names the union, whatever stands nearer
        ("The union said the offer was poor. The ministry said the offer was fair. "
         "Outside the ministry, Tomas Vell of the union said the talks had failed.", "union"),
        # "its spokesman" is the subject's: the union that speaks through him
        ("The ministry said the offer was fair. Ana Ruse said the union would strike. "
         "The union, through its spokesman Tomas Vell, issued a reply. "
         "Tomas Vell said the talks had failed.", "union"),
    ],
)  # fmt: skip
def test_a_guess_by_nearness_reads_the_speakers_own_phrase_first(text: str, side: str | None) -> None:
    statements, affiliations = _statements(f"Offer row\n\n{text}")
    question = Q("How do the union and the ministry differ on the offer?")
    bone = rules.backbone(question, statements, affiliations)
    vell = [s for s in statements if s.speaker == "Tomas Vell"]
    assert vell and all(bone.labels.get(s.sid) == side for s in vell)


def test_a_role_word_after_another_countrys_name_is_not_the_sides() -> None:
    """Tomas Vell is introduced as Malawi's minister: the word "minister" is Malawi's, not a guess
    for "Tuvalu's finance minister"; with no country before it, the word still guides the guess."""
    sides = ["Tuvalu's finance minister", "tea growers"]
    text = "The dispute sharpened with a warning from Malawi's Minister of Trade, Tomas Vell."
    assert side_of(nearest_for("Tomas Vell", [_stmt(text)], sides)) is None
    text = "The dispute sharpened with a warning from the Minister of Trade, Tomas Vell."
    assert side_of(nearest_for("Tomas Vell", [_stmt(text)], sides)) == sides[0]


def test_a_side_that_is_the_subject_states_its_position() -> None:
    sides = ["Velora", "Castamir"]

    def subject_of(text: str) -> str | None:
        return side_of(subject_side(_stmt(text).parse, sides))

    assert subject_of("Velora fears the dam will cut its water supply.") == "Velora"
    assert subject_of("Castamir's proposal was rejected on Monday.") == "Castamir"
    assert subject_of("The river runs through both countries.") is None


def test_a_speaker_naming_two_sides_speaks_for_neither() -> None:
    sides = ["Velora", "Castamir"]
    assert side_of(speaker_side("Velora and Castamir", Counter({"Velora": 2}), sides)) is None
    assert side_of(speaker_side("Veloran and Castamiri troops", Counter(), sides)) is None
    text = "Velora and Castamir blamed each other for the collapse, officials on the border said."
    s = _stmt(text)
    assert side_of(nearest_for("Velora and Castamir", [s], sides)) is None
    assert side_of(speaker_side("Veloran troops", Counter(), sides)) == "Velora"


def test_a_speaker_naming_two_parties_is_not_guessed_by_proximity() -> None:
    # Ostrava is a party the question names that no one speaks for; a speaker naming it with Velora
    # still speaks for neither, though Velora's name stands next to them.
    article = (
        "Ana Ruse, Velora's water minister, said the dam would be finished in May. "
        "Karl Ode, Castamir's envoy, said the dam would dry out his country's farms. "
        "Velora and Ostrava urged Castamir to return to the talks, officials said. "
        "“The river is not theirs alone,” Velora and Ostrava said in a joint letter."
    )
    statements, affiliations = _statements(article)
    bone = rules.backbone(
        Q("How do Velora, Castamir and Ostrava differ over the dam?"), statements, affiliations
    )
    assert "Velora and Ostrava" not in bone.weak
    joint = [s for s in statements if s.speaker == "Velora and Ostrava"]
    assert joint and all(s.sid not in bone.labels for s in joint)
