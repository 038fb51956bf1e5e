"""The `rules` strategy: the backbone answer with no model (the local default), the model asked only
which side an argument no one is named as making argues for (see stance.py)."""

from __future__ import annotations

from ..draft import Outcome
from ..points import lineup
from . import stance
from .job import Job


def run(job: Job) -> Outcome:
    """Sides, placement and points by rules; the stance call only where no one speaks."""
    found = job.found
    bone, notes = stance.settle(
        job.backend, job.asked, found.statements, found.affiliations, found.on_subject, job.usage
    )
    draft = lineup.draft(bone, found.statements, found.vectors)
    return Outcome(draft, notes=notes, partial=bool(notes), why=bone.trace(found.statements))
