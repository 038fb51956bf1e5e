"""Rendering, part two: the source view, the Markdown and JSON exports, the terminal table and the
library list. Split from test_render.py, which keeps the page's HTML answer."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt  # a dependency of rich, so always present
from rich.console import Console
from test_render import (
    EVIL,
    IMG,
    KINDS,
    SCRIPT,
    SIDE_NAMES,
    assert_inert,
    make,
    parse,
    quote,
)

from service.coverage import coverage, with_coverage
from service.models import (
    Account,
    Comparison,
    Document,
    DocumentMeta,
    Point,
)
from service.page import render
from service.page.render import (
    comparison_html,
    comparison_json,
    comparison_markdown,
    print_comparison,
    source_html,
)

# --- source view ---------------------------------------------------------------------------------
ARTICLE = (
    "Opening 😀 line with “curly” quotes.\n\n"
    "The mayor said:\u00a0“We will not 😀 back down,” before leaving.\n"
    f"Final line {SCRIPT} & more 🇫🇷."
)


def article(text: str = ARTICLE, **meta: str) -> Document:
    fields = {"id": "doc-7", "title": "Mayor digs in", "outlet": "Ledger", "date": "2024-05-02"} | meta
    return Document(meta=DocumentMeta(content_hash="h", n_chars=len(text), **fields), text=text)


def highlighted(out: str) -> tuple[str, str, str]:
    """The text before, inside and after the mark, unescaped."""
    body = re.search(r'<div class="cp-doc-text">(.*)</div></article>$', out, re.S).group(1)
    before, inside, after = re.fullmatch(
        r'(.*)<mark id="cp-highlight"[^>]*>(.*)</mark>(.*)', body, re.S
    ).groups()
    assert "<" not in before + inside + after  # no other markup inside the text
    return html.unescape(before), html.unescape(inside), html.unescape(after)


@pytest.mark.parametrize(
    "needle",
    ["“We will not 😀 back down,”", "\u00a0“We", "😀", "🇫🇷", SCRIPT, "Opening", "more 🇫🇷.", ARTICLE],
)
def test_source_highlights_exactly_the_slice(needle: str) -> None:
    start = ARTICLE.rindex(needle)
    end = start + len(needle)
    out = source_html(article(), start, end)
    assert_inert(out)
    assert highlighted(out) == (ARTICLE[:start], ARTICLE[start:end], ARTICLE[end:])


def test_source_offsets_are_code_points_not_utf16() -> None:
    # Guards the premise of the test above: after an emoji the two counts differ.
    start = ARTICLE.index("“We")
    assert len(ARTICLE[:start].encode("utf-16-le")) // 2 != start
    assert highlighted(source_html(article(), start, start + 3))[1] == "“We"


def test_source_empty_highlight_and_empty_text() -> None:
    assert highlighted(source_html(article(), 5, 5)) == (ARTICLE[:5], "", ARTICLE[5:])
    assert highlighted(source_html(article(""), 0, 0)) == ("", "", "")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (-1, 3),
        (5, 4),
        (0, len(ARTICLE) + 1),
        (len(ARTICLE) + 1, len(ARTICLE) + 1),
        (True, 3),
        ("1", 3),
        (0, 2.0),
    ],
)
def test_source_rejects_bad_offsets(start: object, end: object) -> None:
    with pytest.raises(ValueError):
        source_html(article(), start, end)  # type: ignore[arg-type]


def test_source_header_and_links() -> None:
    tree = assert_inert(source_html(article(url="https://gazette.example/mayor"), 0, 1))
    assert tree.find("cp-doc-title").text() == "Mayor digs in"
    meta = tree.find("cp-doc-meta")
    assert meta.text() == "Ledger · 2024-05-02 · https://gazette.example/mayor"
    assert meta.find(tag="a").attrs["href"] == "https://gazette.example/mayor"
    assert "white-space: pre-wrap" in tree.find(tag="style").text()
    bad = assert_inert(source_html(article(url="javascript:alert(1)", title=EVIL, outlet=EVIL), 0, 1))
    assert not bad.find_all(tag="a") and "javascript:alert(1)" in bad.find("cp-doc-meta").text()
    assert bad.find("cp-doc-title").text() == EVIL
    assert parse(source_html(article(title=""), 0, 1)).find("cp-doc-title").text() == "doc-7"


# --- Markdown ------------------------------------------------------------------------------------
def md_tokens(text: str) -> list:
    return MarkdownIt("commonmark").parse(text)


def unescape_md(text: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def test_markdown_has_every_quote_with_its_source() -> None:
    c = make(3, kinds=KINDS)
    c.points[0].accounts[SIDE_NAMES[0]].quotes[0].url = "https://ledger.example/strike"
    md = comparison_markdown(c)
    tokens = md_tokens(md)
    keys = sum(len(s.key_quotes) for s in coverage(c).sides)
    assert sum(t.type == "blockquote_open" for t in tokens) == len(c.quotes()) + keys
    for q in c.quotes():
        link = f"<{q.url}> · " if q.url else ""
        source = (
            f"Strike talks stall · The Ledger · 2024-03-01 · {link}doc ` {q.doc} ` chars {q.start}–{q.end}"
        )
        assert f"> {q.text}\n>\n> — {source}\n" in md
    for side in c.sides:
        assert f"- **{unescape_md(side.name)}** — {', '.join(side.speakers)}" in unescape_md(md)
    assert "*Kind: different emphasis*" in md and "*not addressed*" in md
    assert "- LLM calls: 3" in md and "- Prompt tokens: 1,500" in md and md.startswith("# What do the sides")


def test_markdown_structure_survives_hostile_model_output() -> None:
    c = make(2, question="# Who is #1? #")
    account = c.points[0].accounts[SIDE_NAMES[0]]
    account.claim = "# Not a heading | with a pipe *and* [a link](javascript:x) <b>bold</b> $x$"
    account.quotes = [quote("- not a list\n1. nor this\n\n> nor a quote\n===\n" + IMG, doc="we`ird")]
    c.points[0].topic = "## topic"
    md = comparison_markdown(c)
    tokens = md_tokens(md)
    headings = [
        "".join(x.content for x in tokens[i + 1].children or [])
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    ]
    assert headings == ["# Who is #1? #", "Key quotes", "Coverage", "Sides", "Points", "1. ## topic", "Stats"]
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in t.children or []}
    assert not kinds & {"html_block", "html_inline", "link_open", "ordered_list_open", "hr"}
    claim = next(t for t in tokens if t.type == "inline" and "Not a heading" in t.content)
    assert [x.type for x in claim.children if x.content or x.type != "text"] == [
        "strong_open",
        "text",
        "strong_close",
        "text",
    ]
    assert claim.children[-1].content == " " + account.claim
    # The coverage, the sides and the stats, plus a nested list under each side with flags.
    lists = sum(t.type == "bullet_list_open" for t in tokens)
    assert lists == 3 + sum(bool(s.flags) for s in coverage(c).sides)
    # Each side's one quote, once under its point and once as its key quote.
    assert sum(t.type == "blockquote_open" for t in tokens) == 2 * len(c.quotes()) == 4
    rendered = MarkdownIt("commonmark").render(md)
    assert (
        "<b>" not in rendered
        and "<img" not in rendered
        and "# Not a heading | with a pipe *and*" in html.unescape(rendered)
    )
    assert "`` we`ird ``" in md  # the doc id survives in a code span


def test_markdown_abstention() -> None:
    md = comparison_markdown(make(2, abstained=True, reason="Nothing *here*."))
    assert "**Abstained:** Nothing \\*here\\*." in md and "## Points" not in md and "## Stats" in md


# --- JSON ----------------------------------------------------------------------------------------
def test_json_round_trips_and_keeps_unicode() -> None:
    c = make(4, kinds=KINDS, question="Qui a dit « non » 😀 ?")
    text = comparison_json(c)
    assert Comparison.model_validate_json(text) == with_coverage(c)  # the export carries the coverage
    assert "« non » 😀" in text and "\\u" not in text and text.startswith('{\n  "question"')


# --- terminal ------------------------------------------------------------------------------------
def columns(table: str) -> list[str]:
    """The text of each table column, cell lines joined, so wrapping does not split a quote."""
    cols: list[list[str]] = []
    for line in table.splitlines():
        parts = line.split("│")[1:-1]
        cols += [[] for _ in range(len(parts) - len(cols))]
        for k, part in enumerate(parts):
            cols[k].append(part.strip())
    return [" ".join(" ".join(col).split()) for col in cols]


def rendered(c: Comparison) -> str:
    console = Console(record=True, width=160, color_system=None)
    print_comparison(c, console)
    return console.export_text()


@pytest.mark.parametrize("n", [2, 3, 4])
def test_rich_table_shows_sides_topics_and_quotes(n: int) -> None:
    c = make(n, kinds=KINDS)
    out = rendered(c)
    tags = render.source_tags(c)
    flat = " ".join(out.replace("│", " ").split())
    for name in SIDE_NAMES[:n]:
        assert name in out and f"{name} speaker A" in flat
    for i in range(3):
        assert f"Topic {i}" in out
    cols = columns(out)
    assert len(cols) == n + 1
    for p in c.points:
        for j, name in enumerate(SIDE_NAMES[:n]):
            for q in p.accounts[name].quotes if name in p.accounts else []:
                assert f"“{q.text}” [{tags[q.doc]}]" in cols[j + 1]
    assert "Topic 1 different emphasis" in cols[0] and "not addressed" in cols[-1]
    assert "LLM calls: 3" in flat and c.question in out
    # A short tag beside each quote; each document's full source once, under the table.
    assert list(tags.values()) == ["The Ledger", *(f"The Ledger ({k})" for k in range(2, n + 1))]
    sources = out[out.index("Sources") :]
    for doc, tag in tags.items():
        assert sources.count(f"[{tag}] Strike talks stall · The Ledger · 2024-03-01 · {doc}") == 1
    assert out.count("Strike talks stall") == n


def test_rich_table_abstention_panel() -> None:
    out = rendered(make(2, abstained=True, reason="No dispute in these articles."))
    assert "Abstained" in out and "No dispute in these articles." in out and "Topic 0" not in out


def test_rich_output_drops_terminal_escapes_and_markup() -> None:
    c = make(2, question="[bold red]not markup[/]")
    c.points[0].accounts[SIDE_NAMES[0]].quotes = [quote("evil \x1b[2J\x1b]0;pwned\x07 text")]
    out = rendered(c)
    assert "\x1b" not in out and "\x07" not in out
    assert "[bold red]not markup[/]" in out and "evil [2J]0;pwned text" in out
    assert "No points to compare." in rendered(make(2, points=[]))


def test_rich_output_drops_bidi_overrides_but_keeps_emoji_joiners() -> None:
    c = make(2)
    text = "safe \u202egnirts\u202c and \u2067x\u2069 👩\u200d💻"
    c.points[0].accounts[SIDE_NAMES[0]].quotes = [quote(text)]
    out = rendered(c)
    assert not set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") & set(out)
    assert "safe gnirts and x 👩\u200d💻" in out


# --- library -------------------------------------------------------------------------------------
def test_quote_with_its_own_quotation_marks_gets_none_added() -> None:
    own = "“We left the room,” Ruse said."
    plain = "The union walked out."
    c = make(
        points=[
            Point(
                topic="Walkout",
                kind="contradiction",
                accounts={
                    SIDE_NAMES[0]: Account(claim="c", quotes=[quote(own)]),
                    SIDE_NAMES[1]: Account(claim="d", quotes=[quote(plain, start=50)]),
                },
            )
        ]
    )
    page = comparison_html(c)
    assert re.search(r'class="cp-quote-text cp-own-marks">' + re.escape(html.escape(own)), page)
    assert re.search(r'class="cp-quote-text">' + re.escape(html.escape(plain)), page)
    console = Console(record=True, width=200)
    render.print_comparison(c, console)
    out = console.export_text()
    assert own in out and "““" not in out and f"“{plain}”" in out
