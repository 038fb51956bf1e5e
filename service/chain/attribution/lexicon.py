"""The words of speech attribution reads, loaded once from lexicon.yaml (data, not code)."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import yaml


def _load() -> dict[str, Any]:
    return yaml.safe_load(resources.files(__package__).joinpath("lexicon.yaml").read_text(encoding="utf-8"))


def _words(key: str) -> frozenset[str]:
    return frozenset(str(_DATA[key]).split())


_DATA = _load()
SPEECH_VERBS = _words("speech_verbs")
SPEECH_PHRASES = frozenset((verb, particle) for verb, particle in _DATA["speech_phrases"])
SPEECH_NOUNS = _words("speech_nouns")
SILENT = _words("silent")
SILENT_ALONE = _words("silent_alone")
ASKED = _words("asked")
PERSONAL = _words("personal")
COLLECTIVE = _words("collective")
FIRST_PERSON = _words("first_person")
IRREGULAR_PAST = _words("irregular_past")
DISPUTE_VERBS = _words("dispute_verbs")
CLAUSE_SPEECH_VERBS = _words("clause_speech_verbs")
COUNTING_WORDS = _words("counting_words")
KIN = _words("kin")
KINDS = {word: kind for kind, words in _DATA["kinds"].items() for word in str(words).split()}
DISPUTE_NOUNS = _words("dispute_nouns")
EVENT_NOUNS = _words("event_nouns")
POSITION_NOUNS = _words("position_nouns")
GENERIC_PARTIES = _words("generic_parties")


def speech_forms() -> frozenset[str]:
    """Every speech verb as written in news copy (lemma, -s, -ed/-d, the irregular past): retrieval
    counts them in a chunk before any parse."""
    out = set(IRREGULAR_PAST)
    for verb in SPEECH_VERBS:
        if verb.endswith("y") and verb[-2] not in "aeiou":  # deny: denies, denied
            out |= {verb, verb[:-1] + "ies", verb[:-1] + "ied"}
            continue
        out |= {verb, verb + ("es" if verb.endswith(("s", "sh", "ch")) else "s")}
        out.add(verb + ("d" if verb.endswith("e") else "ed"))
    return frozenset(out)


def speech_regex() -> re.Pattern[str]:
    """Words of speech and quotation marks, for ranking chunks by how much speech they carry."""
    words = "|".join(sorted(speech_forms(), key=len, reverse=True))
    return re.compile(rf"\b(?:{words}|according to)\b|[\"“”«»]", re.IGNORECASE)
