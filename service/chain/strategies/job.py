"""What every strategy is given: the question, what retrieval found, the model (started only when
asked for), the cost counter and the progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...llm import Backend, Usage
from ..retrieve import Retrieved

ProgressFn = Callable[[str, float], None]
"""Progress callback: (stage message, fraction done in 0..1)."""


@dataclass
class Job:
    """One question to answer over the retrieved statements."""

    question: str
    found: Retrieved
    backend: Callable[[], Backend]
    usage: Usage
    progress: ProgressFn
