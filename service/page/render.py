"""Render a Comparison for every surface: HTML for the page (`render_html`, with the coverage strip
from `coverage_html`), Markdown and JSON for export (`render_markdown`), a rich table for the CLI
(`terminal`). This module only names them in one place; the shared pieces live in `common`."""

from __future__ import annotations

from .common import (
    KIND_LABELS,
    NOTES_TITLE,
    PARTIAL_TITLE,
    PRELIMINARY_TITLE,
    esc,
    safe_url,
    stats_items,
    status_notices,
)
from .coverage_html import key_quotes_html, strip_html, timeline_png
from .render_html import comparison_html, quote_html, source_html, why_html
from .render_markdown import comparison_json, comparison_markdown
from .terminal import comparison_table, print_comparison, source_tags

__all__ = [
    "KIND_LABELS",
    "NOTES_TITLE",
    "PARTIAL_TITLE",
    "PRELIMINARY_TITLE",
    "comparison_html",
    "comparison_json",
    "comparison_markdown",
    "comparison_table",
    "esc",
    "key_quotes_html",
    "print_comparison",
    "quote_html",
    "safe_url",
    "source_html",
    "source_tags",
    "stats_items",
    "status_notices",
    "strip_html",
    "timeline_png",
    "why_html",
]
