"""The page's scripts, run by Gradio's `js_on_load` on their HTML components (ui.py): delegated
listeners that survive every re-render and send only ids and offsets back to the server."""

# Quote clicks: one delegated listener on the answer panel survives every re-render of its HTML.
# The offsets travel as numbers and the server slices the text (render.source_html), so the
# browser's UTF-16 string indices never come into play.
QUOTE_JS = """
// The outlet filter runs here, in the browser: it compares data-outlet attributes and writes text
// with textContent, so nothing from an article becomes markup. A new answer starts unfiltered.
const filter = (root, outlet) => {
  root.dataset.filter = outlet;
  const blocks = [...root.querySelectorAll('.cp-grid .cp-quote-block')];
  blocks.forEach((b) => { b.hidden = !!outlet && b.dataset.outlet !== outlet; });
  root.querySelectorAll('.cp-grid .cp-row:not(.cp-row-head)').forEach((row) => {
    row.hidden = !!outlet && !row.querySelector('.cp-quote-block:not([hidden])');
  });
  root.querySelectorAll('.cp-chip').forEach((chip) => {
    chip.setAttribute('aria-pressed', String(!!outlet && chip.dataset.outlet === outlet));
  });
  const bar = root.querySelector('.cp-filter');
  if (!bar) return;
  const shown = blocks.filter((b) => !b.hidden).length;
  bar.hidden = !outlet;
  bar.querySelector('.cp-filter-text').textContent =
    outlet ? `Showing only the quotes from ${outlet} (${shown} of ${blocks.length})` : '';
};
element.addEventListener('click', (event) => {
  const root = event.target.closest('.cp-answer');
  const chip = event.target.closest('button.cp-chip');
  if (chip && root && element.contains(chip)) {
    filter(root, root.dataset.filter === chip.dataset.outlet ? '' : chip.dataset.outlet);
    return;
  }
  if (event.target.closest('button.cp-filter-clear') && root) return filter(root, '');
  const button = event.target.closest('button.cp-quote');
  if (!button || !element.contains(button)) return;
  element.querySelectorAll('.cp-quote.cp-selected').forEach((b) => b.classList.remove('cp-selected'));
  button.classList.add('cp-selected');
  trigger('quote', {doc: button.dataset.doc, start: Number(button.dataset.start),
                    end: Number(button.dataset.end), id: button.id, side: button.dataset.side});
});
"""
# Centre the highlight inside the article's own scroll box first, then move the panel only as far as
# it must: the "Why here?" line above the article stays in sight whenever the highlight allows.
SOURCE_JS = """
watch('value', () => {
  const mark = element.querySelector('#cp-highlight');
  if (!mark) return;
  const box = mark.closest('.cp-doc-text');
  if (box) {
    const m = mark.getBoundingClientRect(), b = box.getBoundingClientRect();
    box.scrollTop += m.top - b.top - (box.clientHeight - m.height) / 2;
  }
  mark.scrollIntoView({block: 'nearest', inline: 'nearest'});
});
"""
DELETE_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button.cp-delete');
  if (!button || !element.contains(button)) return;
  if (!window.confirm(`Delete “${button.dataset.title}” from the library?`)) return;
  trigger('delete_doc', {doc: button.dataset.doc});
});
"""
