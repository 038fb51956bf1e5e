"""The chain, one subpackage per stage, in the order of work:

    retrieve      question -> candidate sentences (retrieve.py)
    attribution/  who says each one: parse, patterns, coref, author, statements
    sides/        the question's parties, and the side each statement speaks for
    points/       the sides' statements lined up into points, with claims, topics and kinds
    strategies/   rules, per_statement, batch (and the stance call), chosen by name
    verify        statement ids -> quotes checked against the stored text (verify.py)

`answer` is the one entry point; it takes the store, the settings and a backend, never the facade.
`is_cached` only asks whether `answer` would return a stored answer (the page skips its preliminary).
"""

from .answer import MAX_QUESTION, answer, is_cached
from .strategies import ProgressFn

__all__ = ["MAX_QUESTION", "ProgressFn", "answer", "is_cached"]
