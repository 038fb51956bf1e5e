"""Whether a text is in the parser's language: the parser, the patterns and the lexicon read one
language only, so a question or documents in another get that said, not "no side's account".

The test is the share of a text's words that are function words of that language (spaCy's stop
list for it): 0.35 to 0.55 in the reporting, court and government text of the eval sets, near 0.05
in sentences of other languages, whose function words are other words.
"""

from __future__ import annotations

import functools
import re

from ..wording import stop_words

LANG = "en"  # the parser's language (spaCy's code), as attribution/parse.py and wording.stop_words load it
# Every question and document of the eval sets reads 0.2 or more (a ten-word argument; reporting
# reads 0.35 and up); sentences in three other languages read under 0.06.
MIN_SHARE = 0.12
MIN_WORDS = 6  # fewer words than this cannot tell
_WORD = re.compile(r"[^\W\d_]+")


def share(text: str, limit: int = 3000) -> float | None:
    """The share of the first `limit` words that are the language's function words; None when too short."""
    words = [w.casefold() for w in _WORD.findall(text)[:limit]]
    if len(words) < MIN_WORDS:
        return None
    stop = stop_words()
    return sum(w in stop for w in words) / len(words)


def foreign(text: str) -> bool:
    """Whether `text` is long enough to tell, and not in the parser's language."""
    found = share(text)
    return found is not None and found < MIN_SHARE


@functools.cache
def name() -> str:
    """The parser's language by name, as spaCy names it (for the reader)."""
    from spacy.util import get_lang_class

    return get_lang_class(LANG).__name__
