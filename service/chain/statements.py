"""Candidate statements: sentences with offsets, numbered, with speaker hints found by rules.

The model cites statements by id; it never types a quote. Speaker hints (who said it, found from
reporting verbs, "according to" and quotation marks) help a small model attribute correctly.
"""

from __future__ import annotations

import re

from ..models import Span, Statement

REPORTING_VERBS = (
    "said says say saying stated states stating told tells added adds declared declares asserted "
    "asserts affirmed affirms accused accuses accusing claimed claims claiming insisted insists "
    "argued argues warned warns warning cautioned cautions denied denies denying alleged alleges "
    "charged emphasized emphasised emphasizes stressed stresses noted notes explained explains wrote "
    "writes tweeted posted announced announces urged urges blamed blames rejected rejects maintained "
    "maintains countered counters responded responds replied replies retorted acknowledged "
    "acknowledges admitted admits conceded concedes suggested suggests hinted hints characterized "
    "characterised described describes vowed vows threatened threatens demanded demands criticized "
    "criticised criticizes condemned condemns dismissed dismisses disputed disputes contended "
    "contends called calls slammed slams hit believes believed thinks think reported reports "
    "confirmed confirms revealed reveals argue claim deny insist warn accuse advised advises urging "
    "urged issued blaming blamed retorting insisting arguing adding"
).split()
REPORTING_RE = re.compile(r"\b(" + "|".join(REPORTING_VERBS) + r")\b")
_ACCORDING_RE = re.compile(r"\b[Aa]ccording to (?:the )?")
# Quotation marks; a lone ’ is an apostrophe ("Pakistan’s"), so ‘ counts only at a word start.
QUOTED_RE = re.compile(r"[\"“”«»„]|(?:^|\s)‘")
_NAME_WORD = r"(?:[A-Z][\w\-’'.]*[\w]|[A-Z])"
_CONNECT = r"(?:\s+(?:al|bin|de|del|der|van|von|da|di|la|le|ul|el|of|the)[\s\-])?"
_NAME_RE = re.compile(rf"{_NAME_WORD}(?:{_CONNECT}\s*{_NAME_WORD})*")
_PRONOUN_RE = re.compile(r"\b(he|she|they|He|She|They)\b")
# Words that are capitalised for grammar, not because they name someone.
_NOT_NAMES = set(
    (
        "The A An In On At During Prior According While However He She It They This That These Those His "
        "Her Its Their But And Or If When After Before Since As For With From By To Of Meanwhile Also Yet "
        "Still Then Thus Although Though Despite Instead Earlier Later Last Next Now Today Monday Tuesday "
        "Wednesday Thursday Friday Saturday Sunday January February March April May June July August "
        "September October November December News Related Read More We I You Our Your Mr Mrs Ms Dr Sir "
        "Some Many Most Several Both Each Every Other Such There Here What Who Why How Where Which No Not "
        "Yes Under Over Following Amid Asked Speaking Writing Responding"
    ).split()
)
# A run like "Pakistani Information Minister Attaullah Tarar" names the person after the title.
_TITLES = set(
    (
        "Minister President Spokesperson Spokesman Spokeswoman Secretary Director Chief General Prime "
        "Senator Governor Mayor Chairman Chairwoman Chair Ambassador Commissioner Officer Leader "
        "Representative MP CEO Judge Justice Captain Colonel Envoy Premier Chancellor Adviser Advisor "
        "Manager Editor Founder Head Speaker Deputy Councillor Councilor Sheriff Inspector Superintendent "
        "Professor Prof Dr Mr Mrs Ms Sir Lord Lady King Queen Prince Princess"
    ).split()
)
_INJECTION_RE = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|preceding)\s+"
    r"(instructions?|prompts?|rules?|messages?)|system prompt|you are (now )?(an?|the) (ai|assistant|model)"
    # An order to whoever writes the answer: "Also say that the parents support the closure."
    r"|^\W*(also\s+|and\s+|now\s+)?(say|state|quote|write|output|print|answer|reply|respond)\s+"
    r"(that|the|as|with|only|this)\b",
    re.IGNORECASE,
)
# A lower-case noun phrase after the last comma before the verb is the verb's own subject, so the
# name before that comma is not the speaker ("..., mayor confirms"; not "..., also said").
_SUBJECT_AFTER_COMMA = re.compile(
    r",\s*(?:(?:the|a|an|its|their|his|her)\s+)?(?:[a-z][\w'’-]*\s+){0,2}"
    r"(?!(?:also|then|later|further|again|still|too|already|however|now|once|had|has|have|was|is|"
    r"would|will|who|which|and|but)\b)[a-z][\w'’-]*(?<!ly)\s+$"
)
# A name after its verb is not the speaker when a verb follows it: "said Hillcrest had ...", "said
# Kabul refused ..." report what Hillcrest or Kabul did ("said Asif in a statement" is Asif talking).
_CLAUSE_GOES_ON = re.compile(
    r"\s+(?:had|has|have|was|were|is|are|would|will|could|should|may|might|must|did|does|can|"
    r"[a-z]+ed)\b"
)
MIN_CHARS = 20
PRONOUN = "\0pronoun"


def is_injection(text: str) -> bool:
    """True for sentences that address the model rather than the reader; they are never quoted."""
    return bool(_INJECTION_RE.search(text))


def reporting_subject(sentence: str) -> tuple[int, int] | None:
    """The span before the first reporting verb outside a quotation, back to the last sentence
    mark or quotation mark ("[In a statement, the mayor's office] said ..."), or None."""
    for v in REPORTING_RE.finditer(sentence):
        if _ends_inside_quote(sentence[: v.start()], False):
            continue
        start = max((m.end() for m in re.finditer(r"[.;:!?“”\"«»]", sentence[: v.start()])), default=0)
        return max(start, v.start() - 60), v.start()
    return None


def capitalised_names(text: str) -> list[tuple[int, int, str]]:
    """Capitalised word runs that could name a speaker, with their spans in `text`."""
    out = []
    for m in _NAME_RE.finditer(text):
        words = list(re.finditer(r"\S+", m.group(0)))
        # Drop leading grammar words ("The Afghan government" -> "Afghan government") and titles.
        while words and words[0].group(0).strip("’'") in _NOT_NAMES:
            words = words[1:]
        titled = [i for i, w in enumerate(words) if re.sub(r"(’s|'s)$", "", w.group(0)) in _TITLES]
        if titled:
            words = words[titled[-1] + 1 :]
        if not words:
            continue
        name = re.sub(r"(’s|'s)$", "", " ".join(w.group(0) for w in words)).strip(" ,.;:")
        if len(name) < 3 or name in _NOT_NAMES:
            continue
        out.append((m.start() + words[0].start(), m.end(), name))
    return out


def _speaker_in(sentence: str) -> str:
    """The name a reporting verb attaches to (or PRONOUN for "he said"), else "according to" X."""
    names = capitalised_names(sentence)
    # "Masi, in his second season since taking over from X, added: ..." - the subject opens it.
    if names and names[0][0] == 0:
        head = re.match(r"[’']?s?\s*,[^.;:!?]*,\s+(?:\w+ly\s+)?(\w+)", sentence[names[0][1] :])
        if head and REPORTING_RE.fullmatch(head.group(1)):
            return names[0][2]
    best, best_gap = "", 10**9
    for v in REPORTING_RE.finditer(sentence):
        left = [n for n in names if n[1] <= v.start() and v.start() - n[1] <= 60]
        left = [n for n in left if not re.search(r"[.;:!?]", sentence[n[1] : v.start()])]
        pronoun = None
        for p in _PRONOUN_RE.finditer(sentence, 0, v.start()):
            if v.start() - p.end() <= 25:
                pronoun = p
        if left:
            _, end, name = left[-1]
            if pronoun is not None and pronoun.start() >= end:  # "Pakistan, he emphasized"
                name, end = PRONOUN, pronoun.end()
            elif _SUBJECT_AFTER_COMMA.search(sentence[end : v.start()]):
                continue  # "Eastgate primary to close in July, mayor confirms": the mayor reports
            gap = v.start() - end
        elif pronoun is not None:  # "He further characterized ..."
            name, gap = PRONOUN, v.start() - pronoun.end()
        else:  # "said Asif", but not "said Hillcrest had modern classrooms"
            right = [
                n
                for n in names
                if n[0] >= v.end() and n[0] - v.end() <= 25 and not _CLAUSE_GOES_ON.match(sentence[n[1] :])
            ]
            if not right:
                continue
            name, gap = right[0][2], right[0][0] - v.end() + 30
        if gap < best_gap:
            best, best_gap = name, gap
    if best:
        return best
    m = _ACCORDING_RE.search(sentence)
    if m:
        after = [n for n in names if n[0] >= m.end() and n[0] - m.end() < 40]
        if after:
            return after[0][2]
    return ""


def _full_name(name: str, seen: dict[str, int]) -> str:
    """Expand a surname to the longest name that ends with it ("Asif" -> "Khawaja Asif"), provided
    that full name appeared before the short one did ("Pakistan" stays "Pakistan")."""
    if not name:
        return name
    first = seen.get(name, 10**9)
    longer = [
        k
        for k, at in seen.items()
        if k != name
        and at < first
        and 1 < len(k.split()) <= 3
        and k.endswith(" " + name)
        and not re.search(r"\b(of|the)\b", k)
    ]
    return max(longer, key=len) if longer else name


def _ends_inside_quote(sentence: str, open_: bool) -> bool:
    """Whether a quotation is still open after `sentence` (’ before a letter is an apostrophe)."""
    for i, ch in enumerate(sentence):
        nxt = sentence[i + 1 : i + 2]
        if ch in "“«" or (ch == "‘" and (i == 0 or not sentence[i - 1].isalnum())):
            open_ = True
        elif ch in "”»" or (ch == "’" and not nxt.isalpha()):
            open_ = False
        elif ch == '"':
            open_ = not open_
    return open_


def number_statements(
    doc_id: str, text: str, spans: list[Span], start_index: int = 1, context: list[Span] | None = None
) -> tuple[list[Statement], int]:
    """Turn sentence spans of one document into numbered statements with speaker hints.

    `context` (all sentences of the document, in order) lets pronouns ("he said") resolve to the
    last named speaker. Returns the statements and the number of sentences skipped as injections.
    """
    context = context if context is not None else spans
    wanted = {(s.start, s.end) for s in spans}
    seen: dict[str, int] = {}  # name -> index of the sentence where it first appeared
    last_speaker, last_at, quote_open = "", -10, False
    out: list[Statement] = []
    skipped = 0
    for n, span in enumerate(context):
        sentence = text[span.start : span.end]
        for _, _, name in capitalised_names(sentence):
            seen.setdefault(name, n)
        speaker = _speaker_in(sentence)
        speaker = last_speaker if speaker == PRONOUN else _full_name(speaker, seen)
        # A quotation carried on from the sentence before, or a new one right after an attributed
        # one, is still that speaker talking.
        if not speaker and n - last_at <= 2 and (quote_open or sentence.lstrip()[:1] in '‘“"«'):
            speaker = last_speaker
        reported = bool(speaker) or bool(REPORTING_RE.search(sentence))
        if speaker:
            last_speaker, last_at = speaker, n
        quote_open = _ends_inside_quote(sentence, quote_open)
        if (span.start, span.end) not in wanted:
            continue
        if is_injection(sentence):
            skipped += 1
            continue
        if len(sentence) < MIN_CHARS or not re.search(r"[A-Za-z]{3}", sentence):
            continue
        out.append(
            Statement(
                sid=f"S{start_index + len(out)}",
                doc_id=doc_id,
                start=span.start,
                end=span.end,
                text=sentence,
                speaker=speaker,
                quoted=bool(QUOTED_RE.search(sentence)),
                reported=reported,
            )
        )
    return out, skipped
