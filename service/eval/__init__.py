"""The eval: labelled cases in; predictions, scores and a report out (format: ../shared/eval/FORMAT.md)."""

from .compare import compare
from .evaluate import eval_command
from .report import summary

__all__ = ["compare", "eval_command", "summary"]
