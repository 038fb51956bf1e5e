"""Stylesheets for the HTML fragments in `render_html.py` and `coverage_html.py`, scoped under their
root classes."""

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

# The coverage strip, the outlet filter and the key quotes (coverage_html.py). `[hidden]` must win
# over the grid's `display: contents` rows, which the browser's own `[hidden]` rule would lose to.
COVERAGE_CSS = """
.cp-answer [hidden] { display: none !important; }
.cp-answer .cp-coverage { margin: 0 0 .75rem; padding: .6rem .75rem; border: 1px solid var(--cp-line);
  border-radius: 8px; background: var(--cp-soft); }
.cp-answer .cp-cov-title { margin: 0 0 .4rem; font-size: .78rem; font-weight: 700; opacity: .75;
  text-transform: uppercase; letter-spacing: .03em; }
.cp-answer .cp-cov-body { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: flex-start; }
.cp-answer .cp-cov-cards { flex: 3 1 28rem; min-width: 0; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; }
.cp-answer .cp-cov-card { flex: 1 1 14rem; min-width: 0; }
.cp-answer .cp-cov-side { margin: 0; font-weight: 700; display: flex; align-items: center; gap: .35rem; }
.cp-answer .cp-dot { display: inline-block; flex: none; width: .65rem; height: .65rem; border-radius: 50%; }
.cp-answer .cp-cov-facts { margin: .1rem 0 .3rem; font-size: .8rem; opacity: .8; }
.cp-answer .cp-chips { display: flex; flex-wrap: wrap; gap: .3rem; }
.cp-answer .cp-chip { display: inline-flex; align-items: center; gap: .35rem; max-width: 100%; margin: 0;
  padding: .1rem .3rem .1rem .6rem; font: inherit; font-size: .8rem; color: inherit; cursor: pointer;
  background: transparent; border: 1px solid var(--cp-line); border-radius: 999px; }
.cp-answer .cp-chip-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cp-answer .cp-chip-count { font-weight: 700; font-size: .72rem; padding: 0 .4rem; border-radius: 999px;
  background: var(--cp-soft); }
.cp-answer .cp-chip:hover { border-color: var(--cp-accent); }
.cp-answer .cp-chip:focus-visible { outline: 2px solid var(--cp-accent); outline-offset: 1px; }
.cp-answer .cp-chip[aria-pressed="true"] { border-color: var(--cp-accent); background: rgba(37,99,235,.15); }
.cp-answer .cp-flags { margin: .35rem 0 0; padding: 0; list-style: none; }
.cp-answer .cp-flag { margin: .15rem 0 0; padding: .2rem .5rem; font-size: .8rem; border-radius: 4px;
  border-left: 3px solid rgba(202,138,4,.8); background: rgba(234,179,8,.12); }
.cp-answer .cp-flag::before { content: "⚠ "; }
.cp-answer .cp-cov-note { margin: .4rem 0 0; font-size: .8rem; }
.cp-answer .cp-filter { margin: .45rem 0 0; font-size: .85rem; font-weight: 600; }
.cp-answer .cp-filter-clear { margin-left: .4rem; padding: .05rem .5rem; font: inherit; font-size: .78rem;
  color: inherit; cursor: pointer; background: transparent; border: 1px solid var(--cp-line);
  border-radius: 6px; }
.cp-answer .cp-timeline { flex: 1 1 20rem; max-width: 520px; margin: 0; }
.cp-answer .cp-timeline img { display: block; max-width: 100%; height: auto; }
.cp-answer .cp-timeline figcaption { font-size: .75rem; opacity: .7; }
.cp-answer .cp-keyquotes { margin: .75rem 0 0; padding: .4rem .75rem; border: 1px solid var(--cp-line);
  border-radius: 8px; }
.cp-answer .cp-keyquotes summary { cursor: pointer; font-weight: 600; }
.cp-answer .cp-key-sides { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: .4rem 0 .2rem; }
.cp-answer .cp-key-side { flex: 1 1 16rem; min-width: 0; }
.cp-answer .cp-key-name { margin: 0; font-weight: 700; }
.cp-answer .cp-key-list { margin: 0; padding-left: 1.2rem; }
"""

WHY_CSS = """
.cp-why { margin: 0 0 .6rem; padding: .4rem .6rem; font-size: .85rem; line-height: 1.4; border-radius: 6px;
  border: 1px solid rgba(37,99,235,.45); background: rgba(37,99,235,.08); overflow-wrap: anywhere; }
.cp-why .cp-why-label { font-weight: 700; }
"""

# The page around the fragments (ui.py's launch options): header, library, messages, model state.
PAGE_CSS = """
.cp-header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: flex-end;
  gap: .5rem 2rem; padding: .25rem 0 .5rem; border-bottom: 1px solid var(--border-color-primary); }
.cp-header .cp-title { font-size: 1.6rem; font-weight: 800; margin: 0; letter-spacing: -.01em; }
.cp-header .cp-tagline { margin: .1rem 0 0; opacity: .8; }
.cp-backend { display: flex; flex-wrap: wrap; gap: .3rem .5rem; margin: 0; font-size: .8rem; }
.cp-backend > div { display: flex; gap: .3rem; padding: .15rem .6rem; border-radius: 999px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.cp-backend dt { font-weight: 600; margin: 0; } .cp-backend dd { margin: 0; }
.cp-placeholder { padding: 1.25rem 1rem; border: 1px dashed var(--border-color-primary);
  border-radius: 8px; opacity: .75; } .cp-placeholder p { margin: .2rem 0; }
.cp-msgs { display: grid; gap: .3rem; } .cp-msg { margin: 0; padding: .45rem .7rem; border-radius: 6px;
  border: 1px solid var(--border-color-primary); overflow-wrap: anywhere; }
.cp-msg-ok { border-color: rgba(22,163,74,.55); background: rgba(22,163,74,.1); }
.cp-msg-info { background: var(--background-fill-secondary); }
.cp-msg-error { border-color: rgba(220,38,38,.6); background: rgba(220,38,38,.1); }
.cp-library-head { margin: 0 0 .35rem; font-size: .85rem; opacity: .8; }
.cp-docs { list-style: none; margin: 0; padding: 0; display: grid; gap: .4rem; }
.cp-doc { display: flex; gap: .5rem; align-items: flex-start; justify-content: space-between; margin: 0;
  padding: .5rem .6rem; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.cp-doc-main { min-width: 0; } .cp-doc p { margin: 0; overflow-wrap: anywhere; }
.cp-doc-name { font-weight: 600; line-height: 1.3; } .cp-doc-info { font-size: .8rem; opacity: .85; }
.cp-doc-id { font-size: .72rem; opacity: .6; font-family: var(--font-mono); }
.cp-unknown { font-style: italic; opacity: .7; }
.cp-delete { flex: none; font-size: .78rem; padding: .15rem .55rem; border-radius: 6px; cursor: pointer;
  color: inherit; background: transparent; border: 1px solid rgba(220,38,38,.55); }
.cp-delete:hover, .cp-delete:focus-visible { background: rgba(220,38,38,.12); }
#cp-source-panel .cp-doc-text { max-height: calc(100vh - 10rem); }
.cp-model { display: inline-block; margin: .3rem 0 0; padding: .1rem .6rem; border-radius: 999px;
  font-size: .78rem; border: 1px solid var(--border-color-primary); }
.cp-model-warming { border-color: rgba(202,138,4,.6); background: rgba(202,138,4,.12); }
.cp-model-ready { border-color: rgba(22,163,74,.55); background: rgba(22,163,74,.1); }
.cp-model-failed { border-color: rgba(220,38,38,.6); background: rgba(220,38,38,.1); }
"""
