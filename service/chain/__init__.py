"""The chain: question -> retrieve -> statements -> placement (rules, then the model) -> draft -> verify.

`answer` is the one entry point; it takes the store, the settings and a backend, never the facade.
`is_cached` only asks whether `answer` would return a stored answer (the page skips its preliminary).
"""

from .answer import MAX_QUESTION, ProgressFn, answer, is_cached

__all__ = ["MAX_QUESTION", "ProgressFn", "answer", "is_cached"]
