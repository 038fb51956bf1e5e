"""A few typed errors; the CLI and the page turn them into messages at the edge."""

from __future__ import annotations


class CounterpointError(Exception):
    """Base class: the message is meant for the user, one line."""


class InputError(CounterpointError):
    """Bad input: an empty, binary, oversized or unreadable file, URL or text."""


class NotFoundError(CounterpointError):
    """An unknown document id or collection."""


class StoreBusyError(CounterpointError):
    """The embedded data directory is in use by another Counterpoint process."""


class StoreError(CounterpointError):
    """The vector store failed or is unreachable."""


class ModelError(CounterpointError):
    """The LLM failed: server down, timeout, or output that stayed invalid after a re-ask."""

    def __init__(self, message: str, attempts: list[str] | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts or []


class SetupError(CounterpointError):
    """Something the embedded default needs is missing or corrupt (model parts, server, tokenizer)."""
