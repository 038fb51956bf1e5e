"""The page: the Gradio UI (`ui`, imported only by `serve`), its pure handlers, and the renderers of
a Comparison to HTML, Markdown, JSON and the terminal, which the CLI uses too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .render import comparison_html, comparison_json, comparison_markdown, print_comparison, source_html

if TYPE_CHECKING:
    from ..settings import Settings


def serve(settings: Settings) -> None:
    """Start the page (imports Gradio)."""
    from .ui import serve as serve_page

    serve_page(settings)


__all__ = [
    "comparison_html",
    "comparison_json",
    "comparison_markdown",
    "print_comparison",
    "serve",
    "source_html",
]
