"""Tests for service/render.py: HTML, Markdown, JSON and the rich table, from hand-built Comparisons."""

from __future__ import annotations

import ast
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from service.models import (
    Account,
    Comparison,
    Point,
    Quote,
    Side,
    Stats,
)
from service.page import render
from service.page.render import (
    comparison_html,
    comparison_markdown,
    safe_url,
)

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
EVIL = f"{SCRIPT}{IMG}"
SIDE_NAMES = ["Workers' union", "Management", "City council", "Residents"]
KINDS = ["contradiction", "different_emphasis", "one_side_only"]


# --- factories -----------------------------------------------------------------------------------
def quote(text: str, doc: str = "doc-1", start: int = 10, **source: str) -> Quote:
    source = {"title": "Strike talks stall", "outlet": "The Ledger", "date": "2024-03-01"} | source
    return Quote(doc=doc, start=start, end=start + len(text), text=text, **source)


def make(
    n_sides: int = 2,
    kinds: list[str] | None = None,
    one_sided: bool = False,
    **fields: object,
) -> Comparison:
    """A comparison with n sides; each point is answered by every side (or only the first)."""
    names = SIDE_NAMES[:n_sides]
    points = []
    for i, kind in enumerate(kinds or ["contradiction"]):
        answering = names[:1] if one_sided or kind == "one_side_only" else names
        accounts = {
            name: Account(
                claim=f"{name} claim on topic {i}",
                quotes=[quote(f"{name} said thing {i}", doc=f"doc-{j}", start=100 * i + j)],
            )
            for j, name in enumerate(answering)
        }
        points.append(Point(topic=f"Topic {i}", kind=kind, accounts=accounts))
    defaults: dict[str, object] = {
        "question": "What do the sides say about the strike?",
        "sides": [Side(name=n, speakers=[f"{n} speaker A", f"{n} speaker B"]) for n in names],
        "points": points,
        "stats": Stats(
            latency_s=1.234,
            llm_calls=3,
            prompt_tokens=1500,
            completion_tokens=120,
            model="test-model",
            backend="fake",
            strategy="per_statement",
            dropped_ids=2,
            injections_skipped=1,
            cached=True,
        ),
    }
    return Comparison(**(defaults | fields))


# --- a small HTML tree, so the tests check structure rather than substrings ---------------------
class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs, self.children = tag, attrs, []  # type: list[Node | str]

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, cls: str | None = None, tag: str | None = None) -> list[Node]:
        return [n for n in self.iter() if (cls is None or cls in n.classes) and (tag is None or n.tag == tag)]

    def find(self, cls: str | None = None, tag: str | None = None) -> Node:
        found = self.find_all(cls, tag)
        assert len(found) == 1, f"expected one {cls or tag}, found {len(found)}"
        return found[0]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


class _TreeBuilder(HTMLParser):
    VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(fragment: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(fragment)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


TIMELINE_IMG = re.compile(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="[^"<>]*">')


def assert_inert(fragment: str) -> Node:
    """No script element, no img but the timeline's PNG, no event-handler attribute, no non-http link."""
    tree = parse(fragment)
    # The one image allowed: the timeline, an inline PNG that matplotlib drew (coverage_html.py).
    for figure in tree.find_all("cp-timeline"):
        (img,) = figure.find_all(tag="img")
        assert set(img.attrs) == {"src", "alt"} and img.attrs["src"].startswith("data:image/png;base64,")
    rest = TIMELINE_IMG.sub("", fragment).lower()
    assert "<script" not in rest and "<img" not in rest
    for node in tree.iter():
        assert node.tag not in {"script", "iframe", "object", "embed"}
        assert node.tag != "img" or (node.attrs.get("src") or "").startswith("data:image/png;base64,")
        assert not [name for name in node.attrs if name.startswith("on")], node.attrs
        if node.tag == "a":
            assert re.match(r"https?://", node.attrs["href"] or ""), node.attrs
            assert node.attrs["rel"] == "noopener noreferrer" and node.attrs["target"] == "_blank"
    # `onerror=` may only survive as text inside the escaped form of the payload.
    assert "onerror=" not in fragment.replace(html.escape(IMG, quote=True), "")
    return tree


# --- HTML: layout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4])
def test_grid_has_one_column_per_side(n: int) -> None:
    c = make(n, kinds=KINDS)
    tree = assert_inert(comparison_html(c))
    grid = tree.find("cp-grid")
    assert f"cp-sides-{n}" in grid.classes and grid.attrs["data-sides"] == str(n)
    style = tree.find(tag="style").text()
    assert (
        f".cp-sides-{n} {{ grid-template-columns: minmax(6.5rem, 10rem) repeat({n}, minmax(0, 1fr))" in style
    )
    assert "@container cp-answer" in style and f".cp-sides-{n} .cp-cell-side {{ display: block; }}" in style
    heads = grid.find_all("cp-side-head")
    assert [h.find("cp-side-name").text() for h in heads] == SIDE_NAMES[:n]
    assert [li.text() for li in heads[-1].find_all(tag="li")] == [
        f"{SIDE_NAMES[n - 1]} speaker {x}" for x in "AB"
    ]
    rows = [r for r in grid.find_all("cp-row") if "cp-row-head" not in r.classes]
    assert len(rows) == len(KINDS)
    for row in rows:
        assert len(row.find_all("cp-topic")) == 1
        assert [cell.attrs["data-side"] for cell in row.find_all("cp-cell")] == SIDE_NAMES[:n]


def test_columns_stack_later_with_more_sides() -> None:
    widths = [re.search(r"max-width: (\d+)rem", comparison_html(make(n))).group(1) for n in (2, 3, 4)]
    assert [int(w) for w in widths] == sorted({int(w) for w in widths})


def test_one_sided_point_shows_not_addressed_and_badge() -> None:
    c = make(3, kinds=["one_side_only"])
    row = next(r for r in parse(comparison_html(c)).find_all("cp-row") if "cp-row-head" not in r.classes)
    badge = row.find("cp-kind")
    assert "cp-kind-one_side_only" in badge.classes and badge.text() == "one side only"
    cells = row.find_all("cp-cell")
    assert "cp-missing" not in cells[0].classes and cells[0].find_all("cp-quote")
    for cell in cells[1:]:
        assert "cp-missing" in cell.classes and not cell.find_all("cp-quote")
        assert cell.find("cp-missing-text").text() == "not addressed"


def test_empty_account_counts_as_not_addressed() -> None:
    c = make(2)
    c.points[0].accounts[SIDE_NAMES[1]] = Account(claim="  ")
    cells = parse(comparison_html(c)).find_all("cp-cell")
    assert "cp-missing" in cells[1].classes
    assert "**Management:** *not addressed*" in comparison_markdown(c)


def test_every_kind_is_marked_by_text_and_colour() -> None:
    tree = parse(comparison_html(make(2, kinds=KINDS)))
    badges = tree.find_all("cp-kind")
    assert [b.text() for b in badges] == ["contradiction", "different emphasis", "one side only"]
    assert [b.classes[1] for b in badges] == [f"cp-kind-{k}" for k in KINDS]
    style = tree.find(tag="style").text()
    colours = [re.search(rf"\.cp-kind-{k} {{ color: (#\w+)", style).group(1) for k in KINDS]
    assert len(set(colours)) == 3


def test_quotes_carry_doc_offsets_and_stable_unique_ids() -> None:
    c = make(4, kinds=KINDS)
    out = comparison_html(c)
    buttons = parse(out).find("cp-grid").find_all("cp-quote", tag="button")
    assert len(buttons) == len(c.quotes())
    by_id = {b.attrs["id"]: b for b in buttons}
    assert len(by_id) == len(buttons) and out == comparison_html(c)
    for b in buttons:
        assert b.attrs["type"] == "button" and re.fullmatch(r"cp-q-\d+-\d+-\d+", b.attrs["id"])
    # Reading order of the buttons is the reading order of Comparison.quotes().
    got = [
        (b.attrs["data-doc"], int(b.attrs["data-start"]), int(b.attrs["data-end"]), b.text()) for b in buttons
    ]
    assert got == [(q.doc, q.start, q.end, q.text) for q in c.quotes()]
    # Each names its column, so that a click finds the quote's trace ("Why here?") under that side.
    assert [b.attrs["data-side"] for b in buttons] == [n for p in c.points for n in p.accounts for _ in "q"]
    keys = parse(out).find("cp-keyquotes").find_all("cp-quote", tag="button")
    assert keys and all(re.fullmatch(r"cp-k-\d+-\d+", b.attrs["id"]) for b in keys)


def test_source_line_and_link() -> None:
    c = make(2)
    c.points[0].accounts[SIDE_NAMES[0]].quotes = [
        quote("linked", url="https://news.example.org/a?b=1&c=2"),
        quote("not linked", url="javascript:alert(1)"),
        quote("no source", title="", outlet="", date="", doc="bare-doc"),
    ]
    tree = assert_inert(comparison_html(c))
    sources = tree.find_all("cp-src")
    assert sources[0].text() == "Strike talks stall · The Ledger · 2024-03-01 · news.example.org"
    assert sources[0].find(tag="a").attrs["href"] == "https://news.example.org/a?b=1&c=2"
    assert sources[1].text() == "Strike talks stall · The Ledger · 2024-03-01" and not sources[1].find_all(
        tag="a"
    )
    assert sources[2].text() == "bare-doc"


def test_stats_footer() -> None:
    tree = parse(comparison_html(make(2)))
    stats = {div.find(tag="dt").text(): div.find(tag="dd").text() for div in tree.find("cp-stats").children}
    assert stats["Backend"] == "fake" and stats["Model"] == "test-model"
    assert stats["Strategy"] == "per_statement" and stats["Latency"] == "1.23 s"
    assert stats["LLM calls"] == "3" and stats["Prompt tokens"] == "1,500"
    assert stats["Completion tokens"] == "120" and stats["Dropped ids"] == "2" and stats["Cached"] == "yes"
    assert stats["Injections skipped"] == "1"


def test_missing_stats_show_a_dash() -> None:
    c = make(2, stats=Stats(latency_s=float("nan")))
    footer = parse(comparison_html(c)).find("cp-stats")
    stats = {div.find(tag="dt").text(): div.find(tag="dd").text() for div in footer.children}
    assert stats["Backend"] == stats["Model"] == stats["Latency"] == "—" and stats["Cached"] == "no"


# --- HTML: abstention and odd input --------------------------------------------------------------
def test_abstention_panel_has_reason_and_no_grid() -> None:
    c = make(2, abstained=True, reason="No article reports a dispute about parking.")
    tree = assert_inert(comparison_html(c))
    panel = tree.find("cp-abstain")
    assert panel.attrs["role"] == "status"
    assert panel.find("cp-notice-text").text() == "No article reports a dispute about parking."
    assert not tree.find_all("cp-grid") and not tree.find_all("cp-quote") and tree.find_all("cp-stats")


def test_abstention_without_reason_still_says_something() -> None:
    c = make(2, abstained=True, reason="", points=[])
    assert parse(comparison_html(c)).find("cp-notice-text").text() == "No reason was given."


def test_no_points_is_a_notice_not_an_empty_grid() -> None:
    tree = parse(comparison_html(make(2, points=[], sides=[])))
    assert tree.find_all("cp-notice") and not tree.find_all("cp-grid")


def test_undeclared_and_unnamed_sides_still_get_columns() -> None:
    c = make(2, sides=[Side(name="")])
    c.points[0].accounts[""] = Account(claim="from nobody")
    tree = parse(comparison_html(c))
    names = [h.text() for h in tree.find_all("cp-side-name")]
    assert names == ["(unnamed side)", *SIDE_NAMES[:2]] and "cp-sides-3" in tree.find("cp-grid").classes


# --- HTML: escaping ------------------------------------------------------------------------------
def evil_comparison() -> Comparison:
    q = Quote(
        doc=f"d{EVIL}",
        start=0,
        end=len(EVIL),
        text=EVIL,
        title=EVIL,
        outlet=EVIL,
        date=EVIL,
        url=f"javascript:{IMG}",
    )
    q2 = q.model_copy(update={"url": 'https://ok.example/"><script>alert(1)</script>'})
    return Comparison(
        question=EVIL,
        sides=[Side(name=EVIL, speakers=[EVIL]), Side(name="B")],
        points=[
            Point(topic=EVIL, kind="contradiction", accounts={EVIL: Account(claim=EVIL, quotes=[q, q2])}),
        ],
        stats=Stats(model=EVIL, backend=EVIL, strategy=EVIL),
    )


def test_html_escapes_model_output_and_article_text() -> None:
    c = evil_comparison()
    out = comparison_html(c)
    tree = assert_inert(out)
    assert html.escape(SCRIPT) in out
    buttons = tree.find_all("cp-quote")
    # Escaped, not mangled: the attributes and text read back as the original strings.
    assert buttons[0].attrs["data-doc"] == f"d{EVIL}" and buttons[0].text() == EVIL
    assert tree.find_all("cp-side-name")[0].text() == EVIL and tree.find("cp-claim").text() == EVIL
    links = tree.find_all(tag="a")
    assert [a.attrs["href"] for a in links] == ['https://ok.example/"><script>alert(1)</script>']


def test_abstention_reason_is_escaped() -> None:
    assert_inert(comparison_html(make(2, abstained=True, reason=EVIL, question=EVIL)))


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a", True),
        ("HTTP://EXAMPLE.COM", True),
        ("  https://example.com/x  ", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("\x01javascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("//example.com/a", False),
        ("/relative", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("", False),
    ],
)
def test_safe_url_only_accepts_absolute_http(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


RENDER_MODULES = ["render", "common", "render_html", "coverage_html", "render_markdown", "terminal"]


@pytest.mark.parametrize("name", RENDER_MODULES)
def test_render_modules_have_no_gradio_no_inline_handlers_and_stay_short(name: str) -> None:
    source = (Path(render.__file__).parent / f"{name}.py").read_text(encoding="utf-8")
    imported = [
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ] + [node.module or "" for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)]
    assert not [m for m in imported if m.startswith("gradio")]
    assert not re.search(r"\son[a-z]+=", source)
    assert len(source.splitlines()) < 400
