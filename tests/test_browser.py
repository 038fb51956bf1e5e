"""The page in a real browser: Playwright drives Debian's Chromium against `python app.py`.

Chromium comes from apt, not from `playwright install` (which downloads from a CDN):
`scripts/install-chromium.sh` installs it as root and otherwise says how. Without it these tests skip.
Screenshots land in test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_NAME, SHARED, App, need_local_model, start_app, stop_app, wait_until
from test_coverage import DATA as MARROWBY_DATA
from test_coverage import MARROWBY, MARROWBY_QUESTION

from service.models import Comparison

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts" / "browser"
DOCS = REPO / "docs"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1440, "height": 1000}
# The answer to question q, once it is the model's (the rules' preliminary answer comes first).
FINAL_ANSWER = """q => document.querySelector('#cp-answer-panel .cp-question')?.textContent === q
  && !document.querySelector('#cp-answer-panel .cp-preliminary')"""
# How opaque an element looks: its own opacity times its ancestors'.
SEEN_OPACITY = """sel => { let e = document.querySelector(sel), o = 1;
  for (; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; }"""
PRELIMINARY = """q => document.querySelector('#cp-answer-panel .cp-question')?.textContent === q
  && !!document.querySelector('#cp-answer-panel .cp-preliminary')"""
SEED_QUESTION = (
    "Why did the third round of Afghanistan–Pakistan peace talks in Istanbul fail, "
    "and how does each side tell it?"
)
# Astral characters (emoji, flags, a ZWJ sequence) before and inside the quotes, non-breaking spaces
# and curly quotes: Python and the browser count these strings differently.
TRICKY = (
    "Northland and Southland clash over the dam 💧🇳🇴\n\n"
    "Northland’s energy minister Ana\u00a0Lund 👩‍🌾 spoke first. “Northland will finish the dam 🏗️ by "
    "spring,” Lund said on Monday.\u00a0<script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> ${window.__pwned = 3} {{constructor}}\n\n'
    "Southland rejected that. “Southland’s farms 🌾 will dry out if the river falls,” said "
    "Southland’s farm minister Karel\u00a0Moss.\n"
)
DAM = """Four neighbours clash over the Rhuna dam

Talks in Vienna on the Rhuna river dam ended on Tuesday without a deal, and the four governments \
that share the river each blamed someone else.

Northland, which is building the dam, said the project is safe. “The dam will bring power to two \
million homes and it will not take a drop of water that belongs to anyone else,” Northland’s energy \
minister Ana Lund said. Northland added that it had shared every engineering study.

Southland rejected that account. “Northland has hidden the real filling plan, and our farms will dry \
out within three summers,” said Southland’s farm minister Karel Moss. Southland said it would take the \
case to the regional court.

Eastport said the dam would cut river traffic to its harbour. “Eastport will lose half of its barge \
trade if the river falls by a metre,” said Eastport’s mayor Rosa Mossop, who asked for a guaranteed \
minimum flow.

Varnholt stayed closer to the middle. “Varnholt supports the dam if the filling takes ten years \
instead of three,” Varnholt’s foreign minister Ilan Vann said, adding that Varnholt had offered to \
host the next round.
"""


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, or a skip that says how to install it."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}: run scripts/install-chromium.sh (as root it "
            "installs Debian's chromium package with apt-get), or: sudo apt-get install chromium"
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def fake_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The page on the deterministic fake backend, shared by this module's tests (one collection each)."""
    app = start_app(tmp_path_factory.mktemp("page"), COUNTERPOINT_BACKEND="fake")
    yield app
    stop_app(app)


@dataclass
class Watch:
    """What the browser did that it should not: requests off this machine, script errors."""

    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def new_page(browser: Any, watch: Watch) -> Any:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    local = ("http://127.0.0.1:", "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else watch.external.append(r.url))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    return page


@pytest.fixture
def page(browser: Any, fake_app: App) -> Iterator[Any]:
    """A fresh browser tab on the fake-backend page; fails the test on outside requests or script errors."""
    watch = Watch()
    tab = new_page(browser, watch)
    open_page(tab, fake_app.url)
    yield tab
    tab.context.close()
    assert not watch.external, f"the page reached outside this machine: {watch.external}"
    assert not watch.errors, f"script errors in the page: {watch.errors}"


# --- page actions ------------------------------------------------------------------------------
def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#cp-library .cp-library", timeout=30_000)


def library_open(page: Any) -> None:
    """Open the library sidebar (asking closes it, so that the columns get the width)."""
    if "open" not in (page.get_attribute("#cp-library-panel", "class") or "").split():
        page.click("#cp-library-panel .toggle-button")
        page.wait_for_selector("#cp-library-panel.open")


def use_collection(page: Any, name: str) -> None:
    box = page.locator("#cp-collection input")
    box.fill(name)
    box.press("Enter")
    page.wait_for_function(
        "name => document.querySelector('#cp-library .cp-library b')?.textContent === name", arg=name
    )


def add(page: Any) -> str:
    """Click Add and return the new status message (each test adds something different)."""
    messages = "document.querySelector('#cp-library-status .cp-msgs')?.innerText ?? ''"
    before = page.evaluate(messages)
    page.click("#cp-add")
    changed = f"before => {{ const now = {messages}; return now && now !== before; }}"
    page.wait_for_function(changed, arg=before, timeout=60_000)
    return page.evaluate(messages)


def quote_buttons(answer: Any) -> list[Any]:
    """The quotes in the columns, in reading order (the key quotes repeat some of them)."""
    buttons = answer.locator(".cp-grid button.cp-quote")
    return [buttons.nth(i) for i in range(buttons.count())]


def paste(page: Any, text: str, title: str, outlet: str = "", date: str = "") -> str:
    """Paste an article with its title (and outlet and date); returns the status message."""
    library_open(page)
    page.click("#cp-tab-paste-button")
    fields = {
        "#cp-paste textarea": text,
        "#cp-title textarea, #cp-title input": title,
        "#cp-outlet textarea, #cp-outlet input": outlet,
        "#cp-date textarea, #cp-date input": date,
    }
    page.wait_for_selector("#cp-paste textarea", state="visible")
    for selector, value in fields.items():
        if value:
            page.fill(selector, value)
    # The tab's boxes may take their (empty) first values after a fill right after the tab opens:
    # wait until every box holds what was typed, and type again where one was reset.
    for _ in range(3):
        empty = [sel for sel, value in fields.items() if value and page.input_value(sel) != value]
        if not empty:
            break
        for selector in empty:
            page.fill(selector, fields[selector])
        time.sleep(0.2)
    return add(page)


def ask(page: Any, question: str) -> Any:
    """Ask and wait for this question's answer; returns the answer panel."""
    page.fill("#cp-question textarea", question)
    page.click("#cp-ask")
    page.wait_for_function(
        FINAL_ANSWER,
        arg=question,
        timeout=60_000,
    )
    return page.locator("#cp-answer-panel .cp-answer")


def boxes(page: Any, selector: str) -> list[dict[str, float]]:
    """The elements' boxes once the layout has settled (sidebars slide for a moment)."""
    measure = """sel => [...document.querySelectorAll(sel)].map(e => {
      const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height};
    })"""
    last: list[dict[str, float]] = []

    def settled() -> bool:
        nonlocal last
        now = page.evaluate(measure, selector)
        same, last = now == last, now
        return same

    assert wait_until(settled, timeout=10, interval=0.2), f"{selector} kept moving"
    return last


def in_one_row(found: list[dict[str, float]]) -> bool:
    """Boxes side by side: the same top, left to right, none overlapping."""
    tops = {round(b["y"]) for b in found}
    ordered = sorted(found, key=lambda b: b["x"])
    apart = all(a["x"] + a["width"] <= b["x"] + 1 for a, b in itertools.pairwise(ordered))
    return len(tops) == 1 and apart


def quote_data(quote: Any) -> tuple[str, int, int, str]:
    """(doc, start, end, text) of a quote button, the text as the page shows it."""
    data = quote.evaluate("b => [b.dataset.doc, +b.dataset.start, +b.dataset.end]")
    return data[0], data[1], data[2], quote.locator("q").text_content()


def open_quote(page: Any, quote: Any) -> Any:
    """Click a quote; wait for its source with the highlight at the quote's offsets."""
    _, start, end, _ = quote_data(quote)
    quote.click()
    page.wait_for_selector("#cp-source-panel.open")
    page.wait_for_selector(f'#cp-source #cp-highlight[data-start="{start}"][data-end="{end}"]')
    return page.locator("#cp-source #cp-highlight")


def highlight_in_view(page: Any) -> bool:
    """The highlight is inside the window and inside its scrolled article box."""
    return page.evaluate(
        """() => {
          const mark = document.querySelector('#cp-highlight');
          const box = mark.closest('.cp-doc-text').getBoundingClientRect();
          const r = mark.getBoundingClientRect();
          const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, innerHeight);
          const inside = r.top >= top - 1 && r.bottom <= bottom + 1;
          return inside && r.left >= 0 && r.right <= innerWidth + 1;  // the sidebar has slid in
        }"""
    )


def answer_screenshot(page: Any, name: str) -> Path:
    """The answer from its question down, beside the open source (the picture in the README)."""
    page.evaluate("document.querySelector('#cp-answer-panel').scrollIntoView({block: 'start'})")
    boxes(page, "#cp-source-panel, #cp-answer-panel")  # wait until nothing moves
    return screenshot(page, name)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def seed_text() -> str:
    path = SHARED / "seed" / SEED_NAME
    if not path.is_file():
        pytest.skip(
            f"needs the seed article {path}, which sits beside the repo and not in a clone; "
            "test_invented_collection_strip_filter_timeline_and_why_here is its twin and runs anywhere"
        )
    return path.read_text(encoding="utf-8")


# --- tests -------------------------------------------------------------------------------------
def seed_flow(
    page: Any, seed_text: str, timeout_ms: float = 60_000, preliminary: bool = False
) -> tuple[Any, list[Any]]:
    """Upload the seed, ask the seed question; returns the answer panel and its quote buttons. With
    `preliminary`, the rules' answer must show first (its screenshot and timing are kept)."""
    library_open(page)
    page.set_input_files("#cp-files input[type=file]", str(SHARED / "seed" / SEED_NAME))
    # The uploaded file's row (its visible name may be shortened with an ellipsis).
    page.wait_for_selector(f'#cp-files td.filename[aria-label="{SEED_NAME}"]')
    status = add(page)
    assert "Added “Peace Talks Collapse" in status and "chunks)" in status, status
    doc = page.locator("#cp-library .cp-doc")
    assert doc.count() == 1 and "date unknown" in doc.inner_text() and "chunks" in doc.inner_text()
    assert "Peace Talks Collapse" in page.inner_text("#cp-examples")
    page.click("#cp-examples button >> nth=0")  # the example built from the new document's title
    page.wait_for_function(
        "() => document.querySelector('#cp-question textarea').value"
        ".startsWith('What does each side say about Peace Talks Collapse')"
    )
    page.fill("#cp-question textarea", SEED_QUESTION)
    asked = time.perf_counter()
    page.click("#cp-ask")
    if preliminary:
        page.wait_for_function(PRELIMINARY, arg=SEED_QUESTION, timeout=120_000)
        early = time.perf_counter() - asked
        assert page.locator("#cp-answer-panel button.cp-quote").count() > 0
        # Not dimmed while the model works (after Gradio's 0.15 s fade): it is there to be read.
        page.wait_for_function(f"() => ({SEEN_OPACITY})('#cp-answer-panel .cp-answer') > 0.99", timeout=5_000)
        answer_screenshot(page, "seed-preliminary-local.png")
    page.wait_for_function(FINAL_ANSWER, arg=SEED_QUESTION, timeout=timeout_ms)
    if preliminary:
        final = time.perf_counter() - asked
        timing = f"preliminary answer after {early:.1f} s, the model's after {final:.1f} s"
        (ARTIFACTS / "seed-timing-local.txt").write_text(timing + "\n", encoding="utf-8")
        print(timing)
    answer = page.locator("#cp-answer-panel .cp-answer")
    return answer, quote_buttons(answer)


def check_quote_opens_source(page: Any, quotes: list[Any], seed_text: str) -> None:
    """Every quote is the article's text at its offsets; the last one in the article opens highlighted."""
    found = [quote_data(q) for q in quotes]
    assert found and all(seed_text[s:e] == text for _, s, e, text in found)
    target = max(range(len(found)), key=lambda i: found[i][1])
    mark = open_quote(page, quotes[target])
    assert mark.text_content() == found[target][3]
    assert "cp-selected" in (quotes[target].get_attribute("class") or "")
    assert page.evaluate("document.querySelector('#cp-source .cp-doc-text').scrollTop") > 0
    assert wait_until(lambda: highlight_in_view(page), timeout=5)
    assert page.inner_text("#cp-source .cp-doc-title").startswith("Peace Talks Collapse")


def test_seed_answer_side_by_side_and_a_quote_opens_its_source(page: Any, seed_text: str) -> None:
    answer, quotes = seed_flow(page, seed_text)
    heads = answer.locator(".cp-side-head .cp-side-name")
    assert sorted(heads.all_inner_texts()) == ["Afghanistan", "Pakistan"]
    head_boxes = boxes(page, "#cp-answer-panel .cp-side-head")
    assert in_one_row(head_boxes), head_boxes
    assert all(b["x"] + b["width"] <= VIEWPORT["width"] for b in head_boxes)
    first_row = boxes(page, "#cp-answer-panel .cp-row:nth-child(2) .cp-cell")
    assert len(first_row) == 2 and in_one_row(first_row), first_row
    kinds = set(answer.locator(".cp-kind").all_inner_texts())
    assert kinds and kinds <= {"contradiction", "different emphasis", "one side only"}
    assert "Latency" in answer.locator(".cp-stats").inner_text()

    check_quote_opens_source(page, quotes, seed_text)
    # The source opened beside the answer, which keeps its two columns side by side.
    assert in_one_row(boxes(page, "#cp-answer-panel .cp-side-head"))
    answer_screenshot(page, "seed-answer.png")

    with page.expect_download() as got:
        page.click("#cp-json")
    exported = Comparison.model_validate_json(Path(got.value.path()).read_text(encoding="utf-8"))
    assert exported.question == SEED_QUESTION and exported.quotes()
    with page.expect_download() as got:
        page.click("#cp-md")
    assert Path(got.value.path()).read_text(encoding="utf-8").startswith(f"# {SEED_QUESTION}")


def shown_outlets(answer: Any) -> list[str]:
    """The outlets of the quotes the columns show now (the filter hides the others)."""
    return answer.evaluate(
        """a => [...a.querySelectorAll('.cp-grid .cp-quote-block')]
             .filter(b => b.offsetParent !== null).map(b => b.dataset.outlet)"""
    )


def test_invented_collection_strip_filter_timeline_and_why_here(page: Any) -> None:
    """The whole flow on three invented articles (tests/data/marrowby), no ../shared needed: upload
    one as a saved web page and paste two, ask, read the columns and the coverage strip, filter by an
    outlet and clear it, see the timeline and the key quotes, and open a quote with its "Why here?"."""
    use_collection(page, "marrowby")
    library_open(page)
    page.set_input_files("#cp-files input[type=file]", str(MARROWBY_DATA / "ledger.html"))
    page.wait_for_selector('#cp-files td.filename[aria-label="ledger.html"]')
    assert "Added “Dredging plan splits Marrowby harbour”" in add(page)
    for name, outlet, day in MARROWBY[1:]:
        title, _, text = (MARROWBY_DATA / name).read_text(encoding="utf-8").partition("\n\n")
        assert f"Added “{title}”" in paste(page, text, title, outlet, day)
    info = page.locator("#cp-library .cp-doc-info").all_inner_texts()
    assert sorted(i.split(" · ")[:2] for i in info) == sorted([o, d] for _, o, d in MARROWBY), info

    answer = ask(page, MARROWBY_QUESTION)
    port, coop = "Marrowby Port Authority", "Marrowby Fishers' Cooperative"
    assert answer.locator(".cp-side-name").all_inner_texts() == [port, coop]
    assert in_one_row(boxes(page, "#cp-answer-panel .cp-side-head"))

    # The strip: above the columns, one card per side, its outlets as chips with counts, flags.
    strip = answer.locator(".cp-coverage")
    assert strip.bounding_box()["y"] < answer.locator(".cp-grid").bounding_box()["y"]
    cards = strip.locator(".cp-cov-card")
    assert cards.count() == 2
    port_chips = cards.nth(0).locator(".cp-chip")
    names = port_chips.locator(".cp-chip-name").all_inner_texts()
    assert sorted(names) == sorted(o for _, o, _ in MARROWBY), names
    assert "2025-03-04 – 2025-03-18" in cards.nth(0).locator(".cp-cov-facts").inner_text()
    flags = cards.nth(1).locator(".cp-flag")
    assert flags.count() >= 1 and "Only one of the 3 outlets" in flags.first.inner_text()

    # The timeline: matplotlib's PNG, decoded and drawn by the browser.
    timeline = strip.locator(".cp-timeline img")
    assert timeline.is_visible() and timeline.evaluate("i => i.complete && i.naturalWidth > 100")
    assert timeline.get_attribute("alt").startswith("Quotes by date.")

    # The filter: one outlet's quotes only, rows without one hidden; clicking again shows all.
    everything = shown_outlets(answer)
    radio = port_chips.filter(has_text="Valley Radio")
    count = int(radio.locator(".cp-chip-count").inner_text())
    radio.click()
    assert radio.get_attribute("aria-pressed") == "true"
    assert shown_outlets(answer) == ["Valley Radio"] * count
    status = answer.locator(".cp-filter-text").inner_text()
    assert status == f"Showing only the quotes from Valley Radio ({count} of {len(everything)})", status
    assert answer.locator(".cp-grid .cp-row:not(.cp-row-head):not([hidden])").count() < len(
        answer.locator(".cp-grid .cp-row:not(.cp-row-head)").all()
    )
    screenshot(page, "coverage-filtered.png")
    radio.click()
    assert radio.get_attribute("aria-pressed") == "false" and shown_outlets(answer) == everything
    assert answer.locator(".cp-filter").is_hidden()

    # Key quotes: closed at first, each with its outlet once opened.
    keys = answer.locator("details.cp-keyquotes")
    assert keys.get_attribute("open") is None and keys.locator(".cp-key-list").first.is_hidden()
    keys.locator("summary").click()
    assert keys.locator(".cp-key-side").count() == 2 and keys.locator(".cp-src").first.is_visible()
    keys.locator("summary").click()

    # A quote opens its article, highlighted, under one line on why it sits in its column.
    quote = answer.locator(f'.cp-grid .cp-cell[data-side="{coop}"] button.cp-quote').first
    _, _, _, text = quote_data(quote)
    assert open_quote(page, quote).text_content() == text
    why = page.locator("#cp-source .cp-why")
    assert why.is_visible() and why.locator(".cp-why-label").inner_text() == "Why here?"
    line = why.locator(".cp-why-text").inner_text()
    assert line.startswith("Said by Odo Penn (") and f"Side: {coop} (" in line, line
    answer_screenshot(page, "coverage.png")
    DOCS.mkdir(exist_ok=True)
    (DOCS / "coverage.png").write_bytes((ARTIFACTS / "coverage.png").read_bytes())


def test_pasted_article_is_inert_quotes_highlight_exactly_and_delete_works(page: Any) -> None:
    use_collection(page, "tricky")
    # Mistakes are explained in the page, next to where they were made.
    assert add(page) == "Could not add: choose a file, paste text or enter a URL first"
    assert page.get_attribute("#cp-library-status .cp-msg", "role") == "alert"
    page.click("#cp-ask")  # the question box is still empty
    page.wait_for_selector("#cp-answer-panel .cp-msg-error")
    assert page.inner_text("#cp-answer-panel") == "Could not answer: the question is empty"
    title = "<b>Dam</b> & “talks” 💧"
    assert "Added “<b>Dam</b>" in paste(page, TRICKY, title)
    assert page.inner_text("#cp-library .cp-doc-name") == title
    answer = ask(page, "What do Northland and Southland each say about the dam?")
    quotes = quote_buttons(answer)
    found = [quote_data(q) for q in quotes]
    assert any("🏗️" in text for *_, text in found), found
    for quote, (_, start, end, text) in zip(quotes, found, strict=True):
        assert TRICKY[start:end] == text
        assert open_quote(page, quote).text_content() == text
    # Nothing from the article ran: not the script, the onerror handler, nor template syntax.
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.inner_text("#cp-source .cp-doc-text")

    library_open(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cp-library .cp-delete")
    page.wait_for_selector("#cp-library .cp-library-empty")
    assert page.inner_text("#cp-library-status").startswith("Deleted “<b>Dam</b>")
    # The answer still cites the deleted document: its quotes now explain instead of failing.
    quotes[0].click()
    page.wait_for_selector("#cp-source .cp-msg-error")
    assert "no document" in page.inner_text("#cp-source")
    assert page.evaluate("window.__pwned") is None


def test_two_three_and_four_sides_lay_out_side_by_side(page: Any) -> None:
    use_collection(page, "rivers")
    assert "Added" in paste(page, DAM, "Four neighbours clash over the Rhuna dam")
    parties = ["Northland", "Southland", "Eastport", "Varnholt"]
    for n in (2, 3, 4):
        names = parties[:n]
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        answer = ask(page, f"What do {listed} each say about the dam?")
        assert answer.locator(".cp-side-name").all_inner_texts() == names
        assert in_one_row(boxes(page, "#cp-answer-panel .cp-side-head")), n
        assert answer.locator(".cp-cell-side").first.is_hidden()  # side labels only when stacked
        screenshot(page, f"sides-{n}.png")
    # On a phone the columns stack, and each cell names its side instead.
    page.set_viewport_size({"width": 480, "height": 900})
    assert wait_until(lambda: not in_one_row(boxes(page, "#cp-answer-panel .cp-side-head")), timeout=5)
    assert answer.locator(".cp-cell-side").first.is_visible()
    screenshot(page, "sides-4-narrow.png")


def test_seed_answer_on_the_embedded_default(
    browser: Any, seed_text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The page as `make app` starts it (local backend, rules strategy): the first answer in seconds,
    with no model to warm up. Its screenshot is the README's."""
    need_local_model()
    app = start_app(tmp_path_factory.mktemp("page-default"))
    watch = Watch()
    page = new_page(browser, watch)
    try:
        open_page(page, app.url)
        header = page.inner_text("#cp-header-block").lower()
        assert "rules; qwen2.5-coder-1.5b for unattributed arguments" in header, header
        assert page.inner_text("#cp-model-state").strip() == ""  # no model server to wait for
        started = time.perf_counter()
        answer, quotes = seed_flow(page, seed_text, timeout_ms=120_000)
        took = time.perf_counter() - started
        names = answer.locator(".cp-side-name").all_inner_texts()
        assert len(names) == 2 and in_one_row(boxes(page, "#cp-answer-panel .cp-side-head")), names
        check_quote_opens_source(page, quotes, seed_text)
        answer_screenshot(page, "seed-answer-default.png")
        stats = answer.locator(".cp-stats").inner_text()
        assert "rules" in stats and "0" in stats, stats
        (ARTIFACTS / "seed-timing-default.txt").write_text(
            f"upload, add and answer: {took:.1f} s\n", encoding="utf-8"
        )
    finally:
        page.context.close()
        stop_app(app)
    assert not watch.external and not watch.errors, (watch.external, watch.errors)


@pytest.mark.llm
@pytest.mark.timeout(1800)  # two cores shared with other work: the answer alone can take many minutes
def test_seed_answer_on_the_embedded_model(
    browser: Any, seed_text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The page on the real local model (COUNTERPOINT_STRATEGY=per_statement): the rules' answer shows
    first, marked preliminary, and the model's replaces it (1-3 minutes on two cores)."""
    need_local_model()
    app = start_app(tmp_path_factory.mktemp("page-local"), COUNTERPOINT_STRATEGY="per_statement")
    watch = Watch()
    page = new_page(browser, watch)
    try:
        open_page(page, app.url)
        assert "qwen" in page.inner_text("#cp-header-block").lower()
        answer, quotes = seed_flow(page, seed_text, timeout_ms=15 * 60_000, preliminary=True)
        assert answer.locator(".cp-abstain").count() == 0, answer.inner_text()
        names = answer.locator(".cp-side-name").all_inner_texts()
        assert len(names) >= 2 and in_one_row(boxes(page, "#cp-answer-panel .cp-side-head")), names
        check_quote_opens_source(page, quotes, seed_text)
        answer_screenshot(page, "seed-answer-local.png")
        stats = answer.locator(".cp-stats").inner_text()
        assert "local" in stats and "qwen" in stats and "LLM calls" in stats
    finally:
        page.context.close()
        stop_app(app)
    assert not watch.external and not watch.errors, (watch.external, watch.errors)
