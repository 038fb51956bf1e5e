"""Sides and placement: which side each statement speaks for, with no model.

Sides are the parties the question names (or, failing that, the bodies the speakers speak for),
kept only when heard. A statement belongs to the side its speaker speaks for, found from the names
in the attribution (see placement.py). What the rules leave open is listed for a model to settle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from ...models import Statement, Why
from ...wording import possessive
from .placement import (
    MAX_SIDES,
    Placed,
    keys,
    match_side,
    names_several,
    nearest_for,
    side_groups,
    speaker_side,
    subject_side,
    title_of,
    titled_body,
)
from .question import Question, question_parties

# A side speaks on the question if one of its statements is at least this similar to what the
# question asks, its parties left out (all-MiniLM-L6-v2 cosine). When no side does, the parties speak
# in the documents about something else (the same two governments on another dispute): no answer.
# Set between the lowest answerable side (0.29) and the highest unanswerable one (0.20) on the
# development and tuning cases; short invented test articles put single answerable sides as low as
# 0.17, so only a question no side speaks on is refused (see _off_question).
ON_SUBJECT = 0.25
HEADLINE = "a headline: read for who speaks, never quoted"


@dataclass
class Backbone:
    """The rules' answer, and what they left undecided for a model to settle."""

    sides: list[str]
    labels: dict[str, str]  # statement id -> side, for the statements the rules placed
    open_speakers: list[str] = field(default_factory=list)  # speakers placed by no rule
    weak: dict[str, str] = field(default_factory=dict)  # speaker -> side guessed by proximity only
    open_statements: list[str] = field(default_factory=list)  # ids: speech with no placed speaker
    reason: str = ""  # why the rules abstain, if they do
    asked: list[str] = field(default_factory=list)  # the parties the question names
    why: dict[str, Placed] = field(default_factory=dict)  # statement id -> how its side was chosen
    unplaced: dict[str, str] = field(default_factory=dict)  # statement id -> why no side took it
    off: bool = False  # sides were heard, but none on what the question asks

    def voiced(self) -> set[str]:
        """The sides heard through a speaker, not only through the narration's subject."""
        return {p.side for p in self.why.values() if p.rule != "narration_subject"}

    def trace(self, statements: list[Statement]) -> dict[str, Why]:
        """Statement id -> how its speaker and side were found, or why no side took it."""
        out = {}
        for s in statements:
            placed = self.why.get(s.sid)
            if s.heading:
                out[s.sid] = s.why.model_copy(
                    update={"unplaced": "a headline: read for who speaks, never quoted"}
                )
            elif placed is not None and s.sid not in self.unplaced:
                update = {"side": placed.side, "side_rule": placed.rule, "side_words": placed.words}
                out[s.sid] = s.why.model_copy(update=update)
            else:
                out[s.sid] = s.why.model_copy(update={"unplaced": self.unplaced.get(s.sid, "")})
        return out


def backbone(
    question: Question,
    statements: list[Statement],
    affiliations: dict[str, Counter[str]],
    on_subject: Mapping[str, float] | None = None,
    voiced: Mapping[str, str] | None = None,
) -> Backbone:
    """Sides and statement labels by rules; undecided speakers and statements are listed. With
    `on_subject` (statement id -> similarity to what the question asks), no side is heard when none
    of their statements reaches ON_SUBJECT. `voiced` (speaker -> party, from a model: see
    strategies/voices.py) places speakers no rule could."""
    parties = question_parties(question, statements)
    sides = parties if len(parties) >= 2 else [*parties, *side_groups(statements, affiliations)]
    sides = list(dict.fromkeys(sides))
    found = _named_for(question, parties, statements)
    found |= {speaker: Placed(side, "model_voice", speaker) for speaker, side in (voiced or {}).items()}

    def labelled(near: Mapping[str, float] | None) -> Backbone:
        return backbone_for(
            sides, statements, affiliations, near, asked=parties, found=found, besides=question.others
        )

    bone = labelled(on_subject)
    # A party the question names that no speaker's words name: when it is the one party unheard, it
    # is the voice the documents quote most that no rule placed. Who is heard is read before the
    # on-the-question check, which then weighs that voice's statements too.
    heard = labelled(None) if bone.off else bone
    unheard = [p for p in parties if p not in heard.voiced()]
    if len(parties) >= 2 and len(unheard) == 1:
        voice = _most_heard(open_voices(bone, question), statements, sides, on_subject)
        if voice is not None:
            found[voice] = Placed(unheard[0], "remaining_voice", voice)
            bone = labelled(on_subject)
    return bone


def _named_for(question: Question, parties: list[str], statements: list[Statement]) -> dict[str, Placed]:
    """Speakers the question names as standing for a party ("its opponents, including X"; "X's
    government" for "the government"): speaker -> that party, where the names share their words."""
    out: dict[str, Placed] = {}
    for party, names in question.aliases.items():
        if party not in parties:
            continue
        for s in statements:
            words = keys(s.speaker) if s.speaker else set()
            alias = next((n for n in names if words and (words <= keys(n) or keys(n) <= words)), None)
            if alias is not None and s.speaker not in out:
                out[s.speaker] = Placed(party, "question_names", alias)
    return out


def open_voices(bone: Backbone, question: Question) -> list[str]:
    """The speakers no rule placed, less those the question names besides its parties: "the Harbour
    Board" in "What do the crews and the tenants say about the Harbour Board's fee?" is what is
    asked about, not a voice of either party."""
    other = keys(question.others)
    return [s for s in bone.open_speakers if not asked_about(s, other)]


def asked_about(speaker: str, other: set[str]) -> bool:
    """Whether the question names `speaker` besides its parties (`other`: the keys of
    Question.others): what it asks about, never a voice of one of its parties."""
    own = keys(speaker)
    return bool(other and own and own <= other)


def open_counts(speakers: list[str], statements: list[Statement], sides: list[str]) -> Counter[str]:
    """How many statements each of `speakers` (those no rule placed) says, leaving out a speaker who
    names two or more sides."""
    chosen = set(speakers)
    return Counter(
        s.speaker for s in statements if s.speaker in chosen and not names_several(s.speaker, sides)
    )


def _most_heard(
    speakers: list[str],
    statements: list[Statement],
    sides: list[str],
    on_subject: Mapping[str, float] | None = None,
) -> str | None:
    """The speaker no rule placed who says most, a tie going to the one who speaks nearer what the
    question asks; taken if they say two statements or more, or one on the question (ON_SUBJECT).
    A single remark on something else is too little to stand for a party: a passer-by quoted once
    in another story on the same page."""
    said = open_counts(speakers, statements, sides)
    near: dict[str, float] = {}
    for s in statements:
        if s.speaker in said:
            near[s.speaker] = max(near.get(s.speaker, 0.0), (on_subject or {}).get(s.sid, 0.0))
    if not said:
        return None
    voice = max(said, key=lambda v: (said[v], near[v]))
    return voice if said[voice] >= 2 or near[voice] >= ON_SUBJECT else None


def backbone_for(
    sides: list[str],
    statements: list[Statement],
    affiliations: dict[str, Counter[str]],
    on_subject: Mapping[str, float] | None = None,
    given: Mapping[str, str] | None = None,
    asked: list[str] | None = None,
    found: Mapping[str, Placed] | None = None,
    besides: str = "",
) -> Backbone:
    """Statement labels by rules for the given sides, after the labels `given` (statement id -> side,
    from a model: see stance.py); the sides heard (at most MAX_SIDES) are kept. `asked` is the
    question's parties, carried for the stance step; `found` (speaker -> placement) places a speaker
    no name matches (see backbone). A speaker the question names `besides` its parties
    (Question.others) is what it asks about: no proximity guess places them."""
    placed: dict[str, Placed] = {
        sid: Placed(side, "model_stance", "") for sid, side in (given or {}).items() if side in sides
    }
    sure: dict[str, Placed | None] = {}
    for s in statements:
        if s.speaker and s.speaker not in sure:
            sure[s.speaker] = speaker_side(
                s.speaker, _affiliations(s.speaker, affiliations), sides, statements
            )
    bodies = {body for found in affiliations.values() for body in found} | {
        s.speaker for s in statements if s.speaker
    }
    for speaker, side in sure.items():
        if side is None:
            sure[speaker] = titled_body(title_of(speaker, statements), bodies, sides)
    for speaker, given_to in (found or {}).items():
        if sure.get(speaker) is None:  # the rules' own placements stand
            sure[speaker] = given_to
    for s in statements:
        if s.sid in placed:
            continue
        side = sure.get(s.speaker) if s.speaker else _by_affiliation(s.affiliation, sides)
        if side is not None:
            placed[s.sid] = side
    # A side no one speaks for may still be stated by the narration ("Ruritania's estimate put the
    # toll at 40"); where a side has a voice of its own, such sentences are mostly background.
    voiceless = set(sides) - {p.side for p in placed.values()}
    for s in statements:
        by = None if s.sid in placed or s.speaker else subject_side(s.parse, sides)
        if by is not None and by.side in voiceless:
            placed[s.sid] = by
    # Guesses by proximity only among sides that sure placements already hear, so that a place
    # the question names in passing does not collect speakers standing near its name.
    heard_sure = [side for side in sides if side in {p.side for p in placed.values()}]
    heard_sure = heard_sure if len(heard_sure) >= 2 else sides
    open_speakers = [speaker for speaker, side in sure.items() if side is None]
    other = keys(besides)
    guessed = [s for s in open_speakers if not names_several(s, sides) and not asked_about(s, other)]
    # Words are told apart over every side, less those a heard side's name holds ("Ode" beside "Ana
    # Ode"), so that "camp" names neither "the pro-X camp" nor "the pro-Y camp" when only one of
    # them is heard; a guess stands only for a side already heard.
    apart = heard_sure + [
        o for o in sides if o not in heard_sure and not any(keys(o) <= keys(h) for h in heard_sure)
    ]
    # A party named in the speaker's own phrase first ("Bram Ode of the Ruritanian delegation"); the
    # words around it only for a side no one else is heard for yet.
    weak = {
        speaker: guess
        for speaker in guessed
        if (guess := nearest_for(speaker, statements, apart, phrase_only=True)) is not None
        and guess.side in heard_sure
    }
    voiced = {p.side for p in placed.values()} | {p.side for p in weak.values()}
    weak |= {
        speaker: guess
        for speaker in guessed
        if speaker not in weak
        and (guess := nearest_for(speaker, statements, apart)) is not None
        and guess.side in heard_sure
        and guess.side not in voiced
    }
    open_statements = []
    for s in statements:
        if s.sid in placed:
            continue
        if s.speaker in weak:
            placed[s.sid] = weak[s.speaker]
        elif not s.speaker and (s.reported or s.quoted):
            open_statements.append(s.sid)
    off = _off_question(placed, on_subject)
    unplaced = {s.sid: _unplaced(s, sides) for s in statements if s.sid not in placed}
    if off:
        unplaced.update(dict.fromkeys(placed, "no side speaks on what the question asks"))
        placed = {}
    heard = [side for side in sides if side in {p.side for p in placed.values()}][:MAX_SIDES]
    for sid, p in placed.items():
        if p.side not in heard:  # still paired with the others, but never shown (see lineup.draft)
            unplaced[sid] = f"its side is not among the {MAX_SIDES} most heard ({p.side})"
    reason = ""
    if len(heard) < 2:
        on = " on what the question asks" if off else ""
        reason = f"{heard_only(heard)}{on} is in the documents; there is nothing to compare"
    return Backbone(
        heard or sides, {sid: p.side for sid, p in placed.items()}, open_speakers,
        {speaker: p.side for speaker, p in weak.items()}, open_statements, reason, list(asked or []),
        placed, unplaced, off,
    )  # fmt: skip


def heard_only(heard: list[str]) -> str:
    """Whose account the documents hold when fewer than two sides are heard: "only the union's
    account", "no side's account"."""
    return f"only {possessive(heard[0])} account" if heard else "no side's account"


def _by_affiliation(affiliation: str, sides: list[str]) -> Placed | None:
    side = match_side(affiliation, sides)
    return None if side is None else Placed(side, "affiliation", affiliation)


def _unplaced(s: Statement, sides: list[str]) -> str:
    """Why no rule placed a statement: what came closest, in words."""
    if not s.speaker:
        return "speech with no speaker found" if s.reported or s.quoted else "no speaker"
    if names_several(s.speaker, sides):
        return f"the speaker names two or more sides ({s.speaker})"
    body = f", beside {s.affiliation}" if s.affiliation else ""
    return f"no side in the speaker's name, title or body ({s.speaker}{body})"


def argued(statements: list[Statement]) -> bool:
    """Whether the statements are a list of arguments: no one is named as saying any of them (a
    debate's points, pros and cons). Each then answers the question on its own, so the stance call
    asks about every one, they pair with no similarity floor, and the question's subject fit, not
    its words, tells whether they are on it."""
    return not any(s.speaker for s in statements)


def _off_question(labels: Mapping[str, object], on_subject: Mapping[str, float] | None) -> bool:
    """Whether sides are heard but none has a statement at ON_SUBJECT or above: they speak in the
    documents, but about something else. A single side below it is never dropped: one side's short
    account can score below ON_SUBJECT and still answer the question (an invented three-side test
    article put a side on the question at 0.20)."""
    if not on_subject or not labels:
        return False
    return max(on_subject.get(sid, -1.0) for sid in labels) < ON_SUBJECT


def _affiliations(speaker: str, known: dict[str, Counter[str]]) -> Counter[str]:
    """The bodies named beside a speaker, and beside anyone whose name ends like theirs: "Ode" and
    "Bram Ode" are one person in one set of articles. A short definite phrase ("The cooperative")
    also takes the bodies named elsewhere by its head noun ("the growers' cooperative")."""
    words = speaker.split()
    if not words:
        return Counter()
    last = words[-1]
    head = last.casefold() if words[0].casefold() == "the" and len(words) <= 3 else ""
    out = Counter[str]()
    for name, found in known.items():
        if name == speaker or (name.split()[-1:] == [last] and last[:1].isupper()):
            out.update(found)
        elif head:
            out.update({body: n for body, n in found.items() if head in body.casefold().split()})
    return out
