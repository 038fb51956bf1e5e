"""The strategies, chosen by name: each turns a Job into an Outcome (a draft that cites statement ids).

- `rules`: the backbone with no model (the model only for arguments no one is named as making);
- `refine`: the rules' answer, then one call in which the model edits it (each edit checked);
- `per_statement`: the backbone, then one short call per point for its wording;
- `batch`: one call for the whole draft, the rules' answer if it fails.
"""

from __future__ import annotations

from collections.abc import Callable

from ..draft import Outcome
from . import batch, per_statement, refine, rules
from .job import Job, ProgressFn

STRATEGIES: dict[str, Callable[[Job], Outcome]] = {
    "rules": rules.run,
    "refine": refine.run,
    "per_statement": per_statement.run,
    "batch": batch.run,
}

__all__ = ["STRATEGIES", "Job", "ProgressFn"]
