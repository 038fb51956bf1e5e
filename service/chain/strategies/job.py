"""What every strategy is given: the question, what retrieval found, the model (started only when
asked for), the cost counter and the progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...llm import Backend, Usage
from ..retrieve import Retrieved
from ..sides.question import Question

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
    asked: Question = field(default=None)  # type: ignore[assignment]  # the question's one parse

    def __post_init__(self) -> None:
        if self.asked is None:  # a caller that has not parsed the question yet (tests)
            self.asked = Question.parse(self.question)
