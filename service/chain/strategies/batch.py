"""The `batch` strategy: one call that writes the whole draft (a second only to re-ask); if it fails,
the rules' answer stands, with a note."""

from __future__ import annotations

from ...errors import ModelError
from ...llm import structured
from ..draft import Draft, Outcome
from ..points import lineup
from ..sides.backbone import backbone
from .job import Job


def run(job: Job) -> Outcome:
    """The strong-model strategy: everything in one call; the rules' answer if it fails."""
    found = job.found
    job.progress("model", 0.3)
    try:
        draft = structured(
            job.backend(), Draft, "batch", job.usage, max_tokens=3000,
            question=job.question, statements=found.statements,
        )  # fmt: skip
        return Outcome(draft)
    except ModelError as exc:
        bone = backbone(job.asked, found.statements, found.affiliations, found.on_subject)
        note = f"the model's answer failed ({exc}); this is the rules' answer"
        draft = lineup.draft(bone, found.statements, found.vectors)
        return Outcome(draft, notes=[note], partial=True, why=bone.trace(found.statements))
