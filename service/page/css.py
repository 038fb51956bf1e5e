"""Stylesheets for the HTML fragments in `render.py`, scoped under their root classes."""

from __future__ import annotations

# Colours are semi-transparent or paired with `.dark` overrides so that the fragment reads on
# Gradio's light and dark themes alike. Every rule is prefixed with the root class because the
# fragment is dropped into a page whose own styles (Gradio's `.prose`) we do not control.
ANSWER_CSS = """
.cp-answer { --cp-line: rgba(128,128,128,.35); --cp-soft: rgba(128,128,128,.08);
  --cp-accent: #2563eb; container: cp-answer / inline-size; line-height: 1.45; font-size: .95rem; }
.cp-answer * { box-sizing: border-box; }
.cp-answer .cp-question { font-size: 1.05rem; font-weight: 600; margin: 0 0 .75rem; }
.cp-answer .cp-grid { display: grid; border: 1px solid var(--cp-line); border-radius: 8px; overflow: hidden; }
.cp-answer .cp-row { display: contents; }
.cp-answer .cp-corner, .cp-answer .cp-side-head, .cp-answer .cp-topic, .cp-answer .cp-cell {
  padding: .6rem .75rem; min-width: 0; overflow-wrap: anywhere; border-top: 1px solid var(--cp-line); }
.cp-answer .cp-row-head > * { border-top: 0; background: var(--cp-soft); }
.cp-answer .cp-side-head, .cp-answer .cp-cell { border-left: 1px solid var(--cp-line); }
.cp-answer .cp-side-name { font-size: 1rem; font-weight: 700; margin: 0; }
.cp-answer .cp-speakers { list-style: none; margin: .2rem 0 0; padding: 0; font-size: .8rem; opacity: .8; }
.cp-answer .cp-speakers li { display: inline; margin: 0; }
.cp-answer .cp-speakers li + li::before { content: " · "; }
.cp-answer .cp-topic-text { font-weight: 600; margin: 0 0 .3rem; }
.cp-answer .cp-kind { display: inline-block; font-size: .72rem; font-weight: 700; line-height: 1.3;
  padding: .05rem .5rem; border: 1px solid; border-radius: 999px; white-space: nowrap; }
.cp-answer .cp-kind-contradiction { color: #b91c1c; background: rgba(220,38,38,.12);
  border-color: rgba(220,38,38,.55); }
.cp-answer .cp-kind-different_emphasis { color: #92400e; background: rgba(234,179,8,.16);
  border-color: rgba(202,138,4,.6); }
.cp-answer .cp-kind-one_side_only { color: #1e40af; background: rgba(59,130,246,.12);
  border-color: rgba(59,130,246,.55); }
.cp-answer .cp-kind-other { background: var(--cp-soft); border-color: var(--cp-line); }
.dark .cp-answer .cp-kind-contradiction { color: #fca5a5; }
.dark .cp-answer .cp-kind-different_emphasis { color: #fde68a; }
.dark .cp-answer .cp-kind-one_side_only { color: #bfdbfe; }
.cp-answer .cp-cell-side { display: none; font-size: .75rem; font-weight: 700; opacity: .75;
  margin: 0 0 .2rem; text-transform: uppercase; letter-spacing: .03em; }
.cp-answer .cp-claim { margin: 0 0 .35rem; }
.cp-answer .cp-missing { background: var(--cp-soft); }
.cp-answer .cp-missing-text { font-style: italic; opacity: .65; margin: 0; }
.cp-answer .cp-quote-block { margin: .4rem 0 0; padding: 0; }
.cp-answer .cp-quote { display: block; width: 100%; margin: 0; padding: .35rem .55rem; font: inherit;
  color: inherit; text-align: left; cursor: pointer; background: var(--cp-soft); border: 0;
  border-left: 3px solid var(--cp-line); border-radius: 4px; }
.cp-answer .cp-quote:hover, .cp-answer .cp-quote.cp-selected { border-left-color: var(--cp-accent);
  background: rgba(37,99,235,.1); }
.cp-answer .cp-quote:focus-visible { outline: 2px solid var(--cp-accent); outline-offset: 1px; }
.cp-answer .cp-quote-text { quotes: "\\201C" "\\201D"; white-space: pre-wrap; }
.cp-answer .cp-quote-text.cp-own-marks { quotes: none; }
.cp-answer .cp-src { margin: .15rem 0 0 .6rem; font-size: .78rem; opacity: .8; overflow-wrap: anywhere; }
.cp-answer .cp-src a { color: inherit; text-decoration: underline; }
.cp-answer .cp-notice { margin: 0; padding: .75rem 1rem; border-radius: 8px; border: 1px solid var(--cp-line);
  background: var(--cp-soft); }
.cp-answer .cp-abstain { border-color: rgba(202,138,4,.6); background: rgba(234,179,8,.1); }
.cp-answer .cp-partial, .cp-answer .cp-preliminary { margin: 0 0 .6rem; }
.cp-answer .cp-partial { border-color: rgba(220,38,38,.5); background: rgba(220,38,38,.07); }
.cp-answer .cp-preliminary { border-style: dashed; }
/* Gradio dims an output while its event runs; the preliminary answer is there to be read meanwhile. */
#cp-answer-panel.pending:has(.cp-preliminary), #cp-answer-panel .pending:has(.cp-preliminary) {
  opacity: 1 !important; }
.cp-answer .cp-notes { margin: .2rem 0 0; padding-left: 1.2rem; }
.cp-answer .cp-notice-title { font-weight: 700; margin: 0 0 .25rem; }
.cp-answer .cp-notice-text { margin: 0; white-space: pre-wrap; }
.cp-answer .cp-stats { display: flex; flex-wrap: wrap; gap: .2rem 1.1rem; margin: .75rem 0 0; padding: 0;
  font-size: .78rem; opacity: .8; }
.cp-answer .cp-stats > div { display: flex; gap: .3rem; }
.cp-answer .cp-stats dt { font-weight: 600; margin: 0; }
.cp-answer .cp-stats dd { margin: 0; }
"""

# Per side count: the template for that many columns and the width below which the columns
# stack (each cell then names its side, since the header row is no longer above it).
# `{g}` stands for the grid's selector; str.replace is used because CSS is full of braces.
GRID_CSS = """
{g} { grid-template-columns: minmax(6.5rem, 10rem) repeat({n}, minmax(0, 1fr)); }
@container cp-answer (max-width: {w}rem) {
  {g} { display: block; }
  {g} .cp-row { display: block; border-top: 2px solid var(--cp-line); }
  {g} .cp-row:first-child { border-top: 0; }
  {g} .cp-side-head, {g} .cp-cell { border-left: 0; }
  {g} .cp-corner { display: none; }
  {g} .cp-cell-side { display: block; }
}
"""

SOURCE_CSS = """
.cp-source-view { line-height: 1.55; }
.cp-source-view .cp-doc-title { font-size: 1.1rem; font-weight: 700; margin: 0 0 .2rem; }
.cp-source-view .cp-doc-meta { font-size: .85rem; opacity: .8; margin: 0 0 .6rem; overflow-wrap: anywhere; }
.cp-source-view .cp-doc-meta a { color: inherit; text-decoration: underline; }
.cp-source-view .cp-doc-text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 70vh;
  overflow-y: auto; margin: 0; padding: .75rem 1rem; border: 1px solid rgba(128,128,128,.35);
  border-radius: 8px; }
.cp-source-view #cp-highlight { background: #fde047; color: #111; border-radius: 2px; scroll-margin: 3rem; }
"""
