"""The eval: labelled cases in; predictions, scores and a report out (format: ../shared/eval/FORMAT.md)."""

from .evaluate import eval_command
from .report import compare, summary

__all__ = ["compare", "eval_command", "summary"]
