"""The chain: question -> retrieve -> statements -> placement (rules, then the model) -> draft -> verify.

`answer` is the one entry point; it takes the store, the settings and a backend, never the facade.
"""

from .answer import MAX_QUESTION, ProgressFn, answer

__all__ = ["MAX_QUESTION", "ProgressFn", "answer"]
