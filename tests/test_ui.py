"""The page without a browser: the pure handlers, the named API through gradio_client against a
launched app (fake backend), launch options (loopback, auth, no share link), and the serve entry points.
The browser itself is exercised in test_browser.py."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import WebServer, free_port, start_app, stop_app

from service.core import Counterpoint, open_service
from service.coverage import with_coverage
from service.errors import InputError
from service.library import Loaded
from service.llm import BackendInfo
from service.models import Account, Comparison, DocumentMeta, Point, Quote, Side, Stats, Why
from service.page import handlers as h
from service.page.render import comparison_markdown
from service.page.ui import Page, launch_options
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
TRICKY = (
    "Northland’s minister 😀 spoke first.\u00a0Then: “We will not sign,” said Ana\u00a0Lund 🇳🇴 on "
    "Monday. Southland replied: “The dam 💧 is theirs, the river is ours.” <b>not a tag</b> & more."
)


def meta(doc_id: str, title: str = "", outlet: str = "", date: str = "", n_chunks: int = 3) -> DocumentMeta:
    return DocumentMeta(
        id=doc_id, title=title, outlet=outlet, date=date, content_hash="0" * 64, n_chunks=n_chunks
    )


@pytest.fixture
def fake_settings(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> Settings:
    """The deterministic rule-based chat model: no LLM, answers in about a second."""
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    return Settings()


@pytest.fixture
def service(fake_settings: Settings) -> Iterator[Counterpoint]:
    with open_service(fake_settings) as svc:
        yield svc


# --- page HTML ---------------------------------------------------------------------------------
def test_library_html_shows_each_field_and_escapes_everything() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    out = h.library_html(
        [meta("a1", hostile, "The <Post>", "2025-11-07", 8), meta("b2", "", "", "", 1)], "default"
    )
    assert "<img" not in out and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in out
    assert "The &lt;Post&gt; · 2025-11-07 · 8 chunks" in out
    # An untitled document is listed under its id; missing fields say so; one chunk is singular.
    assert '<p class="cp-doc-name">b2</p>' in out
    assert "outlet unknown" in out and "date unknown" in out and "· 1 chunk<" in out
    assert out.count('class="cp-delete"') == 2 and 'data-doc="a1"' in out
    assert "2 documents in <b>default</b>" in out


def test_library_html_when_empty_names_the_collection() -> None:
    out = h.library_html([], "<x>")
    assert "No documents in <b>&lt;x&gt;</b> yet" in out and "cp-delete" not in out


def test_notices_escape_and_errors_are_alerts() -> None:
    out = h.notice_html([("ok", "Added <b>"), ("error", "bad & worse")])
    assert '<p class="cp-msg cp-msg-ok" role="status">Added &lt;b&gt;</p>' in out
    assert '<p class="cp-msg cp-msg-error" role="alert">bad &amp; worse</p>' in out
    assert h.notice_html([]) == ""


def test_header_names_backend_model_and_strategy() -> None:
    out = h.header_html(BackendInfo(backend="fake", model="heuristic-<fake>", strategy="per_statement"))
    assert "<dt>Backend</dt><dd>fake</dd>" in out
    assert "<dd>heuristic-&lt;fake&gt;</dd>" in out and "<dd>per statement</dd>" in out
    rules = h.header_html(BackendInfo(backend="local", model="qwen2.5-coder-1.5b", strategy="rules"))
    assert "<dd>rules; qwen2.5-coder-1.5b for unattributed arguments</dd>" in rules


def test_an_api_key_never_reaches_the_page(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    secret = "sk-test-0123456789abcdef-SECRET"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("COUNTERPOINT_AUTH", "ann:pa55-SECRET")
    settings = Settings()
    with open_service(settings) as svc:  # nothing connects until a question is asked
        demo = Page(svc, export_dir=isolated_env / "exports").build()
        config = json.dumps(demo.get_config_file(), default=str)
    assert settings.resolved_backend == "openai" and "gpt-4o-mini" in config
    assert secret not in config and "pa55-SECRET" not in config
    # Launch options carry the auth pair to Gradio, and nothing else from the settings' secrets.
    assert launch_options(settings)["auth"] == ("ann", "pa55-SECRET")
    assert secret not in repr(launch_options(settings))


def test_collection_choices_include_default_and_the_current_one() -> None:
    assert h.collection_choices(["b", "a"], "new") == ["a", "b", "default", "new"]
    assert h.collection_choices([], "  ") == ["default"]


# --- questions and progress --------------------------------------------------------------------
def test_example_questions_come_from_the_library_newest_first() -> None:
    old = meta("1", "Old story about Alpha and Beta")
    new = meta("2", "Peace Talks Collapse: Afghanistan and Pakistan Trade Blame, Raising Specter of Direct "
               "Confrontation over the Border Crossings.")  # fmt: skip
    questions = h.example_questions([old, new, meta("abc123", "abc123")], limit=10)
    assert questions[0] == (
        "What does each side say about Peace Talks Collapse: Afghanistan and Pakistan Trade Blame, "
        "Raising Specter of Direct Confrontation over the…?"
    )
    assert questions[1] == "What does each side say about Old story about Alpha and Beta?"
    # A document titled only by its id gives no question; generic ones follow, without repeats.
    assert questions[2:] == h.GENERIC_QUESTIONS
    assert h.example_questions([], limit=2) == h.GENERIC_QUESTIONS[:2]
    assert len(h.example_questions([old, old, new], limit=10)) == 2 + len(h.GENERIC_QUESTIONS)


@pytest.mark.parametrize(
    ("stage", "label"),
    [
        ("retrieving", "Retrieving passages…"),
        ("statements", "Finding statements…"),
        ("model: naming the sides", "Model: naming the sides"),
        ("verifying", "Verifying quotes…"),
        ("something new", "Something new…"),
    ],
)
def test_stage_labels(stage: str, label: str) -> None:
    assert h.stage_label(stage) == label


# --- ingest ------------------------------------------------------------------------------------
def test_page_inputs_are_added_one_by_one_and_failures_do_not_stop_the_rest(
    service: Counterpoint, fake_settings: Settings, tmp_path: Path
) -> None:
    good = tmp_path / "good story.md"
    good.write_text("# A good story about the river\n\nNorthland said the dam is safe.", encoding="utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not text")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    files = [str(good), str(tmp_path / "notes.docx"), str(tmp_path / "empty.txt")]
    # Uploads are read only from the upload folder: here, the test's own.
    fake_settings = fake_settings.model_copy(update={"upload_dir": tmp_path})
    sources = h.page_sources(
        fake_settings,
        files,
        "Southland said the river is theirs.",
        "",
        "My title",
        " The Post ",
        "2025-11-07",
    )
    assert [s.name for s in sources] == ["good story.md", "notes.docx", "empty.txt", "pasted text"]
    seen: list[tuple[float, str]] = []
    outcomes = h.ingest_sources(service, sources, "news", lambda f, m: seen.append((f, m)))
    assert [bool(o.result) for o in outcomes] == [True, False, False, True]
    assert "unsupported file type" in outcomes[1].error and "empty" in outcomes[2].error
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 < fractions[1] < 1
    assert any(m == "Embedding good story.md" for _, m in seen)
    metas = {m.source: m for m in service.documents("news")}
    # The upload's own name is the source, not the server's temp path.
    assert set(metas) == {"good story.md", "pasted text"}
    assert metas["good story.md"].title == "A good story about the river"
    pasted = metas["pasted text"]
    assert (pasted.title, pasted.outlet, pasted.date) == ("My title", "The Post", "2025-11-07")
    notices = h.outcome_notices(outcomes, "news")
    assert notices[0] == ("ok", "Added “A good story about the river” to news (1 chunk).")
    assert notices[1][0] == "error" and notices[1][1].startswith("Could not add notes.docx: ")
    again = h.ingest_sources(service, h.page_sources(fake_settings, [str(good)]), "news")
    assert h.outcome_notices(again, "news") == [
        ("info", "Already in news: “A good story about the river” (unchanged).")
    ]


def test_a_url_from_the_page_is_fetched_and_stored(
    service: Counterpoint, fake_settings: Settings, web_server: WebServer
) -> None:
    page = (
        "<html><head><title>Dam talks fail</title><meta property='og:site_name' content='River News'>"
        "</head><body><article><h1>Dam talks fail</h1><p>Northland said the dam is safe and that it "
        "shared every study with its neighbours.</p><p>Southland said the river is theirs and that "
        "the farms will dry out.</p></article></body></html>"
    )
    web_server.pages["/dam.html"] = (200, "text/html; charset=utf-8", page.encode())
    url = f"{web_server.base}/dam.html"
    # The test's web server is on loopback, which URL ingest refuses unless allowed (see test_ssrf).
    fake_settings = fake_settings.model_copy(update={"allow_private_urls": True})
    (source,) = h.page_sources(fake_settings, url=f"  {url} ")
    assert source.name == url
    (outcome,) = h.ingest_sources(service, [source], "default")
    assert outcome.result is not None, outcome.error
    assert (outcome.result.meta.title, outcome.result.meta.url) == ("Dam talks fail", url)
    missing = h.page_sources(fake_settings, url=f"{web_server.base}/gone.html")
    (failed,) = h.ingest_sources(service, missing, "default")
    assert failed.result is None and "404" in failed.error


def test_nothing_to_add_and_bad_collections_are_clear_errors(
    service: Counterpoint, fake_settings: Settings
) -> None:
    with pytest.raises(InputError, match="choose a file, paste text or enter a URL first"):
        h.page_sources(fake_settings, None, "  ", " ")
    (outcome,) = h.ingest_sources(service, h.page_sources(fake_settings, text="Some text."), "bad name!")
    assert outcome.result is None and "bad collection name" in outcome.error


def test_api_ingest_takes_exactly_one_input(service: Counterpoint, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="exactly one of text, url or file"):
        h.api_ingest(service, "text", "https://example.org/", None, "default")
    with pytest.raises(InputError, match="exactly one"):
        h.api_ingest(service, "", "", None, "default")
    summary = h.api_ingest(service, TRICKY, "", None, "", title="Tricky", outlet="Ledger", doc_id="t-1")
    assert summary == {
        "collection": "default", "created": True, "id": "t-1", "title": "Tricky", "outlet": "Ledger",
        "date": "", "url": "", "n_chars": len(TRICKY), "n_chunks": 1,
    }  # fmt: skip
    assert service.document("t-1").text == TRICKY


# --- quotes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"doc": "d1", "start": 3, "end": 9, "id": "cp-q-0-0-0"}, ("d1", 3, 9)),
        ({"doc": "d1", "start": "3", "end": "9"}, ("d1", 3, 9)),
    ],
)
def test_quote_target_reads_the_click(data: object, expected: tuple[str, int, int]) -> None:
    assert h.quote_target(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        None,
        "d1:3:9",
        {"start": 1, "end": 2},
        {"doc": "", "start": 1, "end": 2},
        {"doc": "d", "start": True, "end": 2},
        {"doc": "d", "start": 1.5, "end": 2},
        {"doc": "d", "start": -1, "end": 2},
        {"doc": "d", "start": "1e3", "end": 2},
        {"doc": "d", "start": None, "end": 2},
    ],
)
def test_quote_target_refuses_anything_else(data: object) -> None:
    with pytest.raises(InputError):
        h.quote_target(data)


def _highlight(view: str) -> str:
    found = re.search(r'<mark id="cp-highlight"[^>]*>(.*?)</mark>', view, flags=re.DOTALL)
    assert found, view
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    "quote", ["“We will not sign,” said Ana\u00a0Lund 🇳🇴", "The dam 💧 is theirs", "& more."]
)
def test_source_view_highlights_exactly_the_quote(service: Counterpoint, quote: str) -> None:
    doc = service.ingest(Loaded(text=TRICKY, source="t"), "news").meta
    start = TRICKY.index(quote)
    answer = Comparison(question="q", collection="news")
    view = h.source_view(service, answer, {"doc": doc.id, "start": start, "end": start + len(quote)})
    assert _highlight(view) == quote
    assert "<b>" not in view and "&lt;b&gt;not a tag&lt;/b&gt;" in view


def test_source_view_explains_what_it_cannot_open(service: Counterpoint) -> None:
    doc = service.ingest(Loaded(text=TRICKY, source="t"), "default").meta
    gone = h.source_view(service, None, {"doc": "nope", "start": 0, "end": 1})
    assert (
        'role="alert"' in gone
        and "Cannot open this quote&#x27;s source: no document &#x27;nope&#x27;" in gone
    )
    outside = h.source_view(service, None, {"doc": doc.id, "start": 5, "end": 10**6})
    assert "outside the text" in outside and "cp-highlight" not in outside
    assert "the click carried no quote" in h.source_view(service, None, None)


def test_a_clicked_quote_opens_under_one_line_saying_why_it_sits_there(service: Counterpoint) -> None:
    """ "Why here?": the quote's trace (models.Why) in one line above its article, escaped."""
    doc = service.ingest(Loaded(text=TRICKY, source="t"), "news").meta
    text = "“We will not sign,” said Ana\u00a0Lund 🇳🇴"
    start = TRICKY.index(text)
    why = Why(
        speaker="Ana Lund", speaker_rule="subject_of_reporting_verb", cue="said", speaker_words="Ana Lund",
        side="Northland", side_rule="speaker_title", side_words="Northland’s <b>minister</b>",
    )  # fmt: skip
    quote = Quote(doc=doc.id, start=start, end=start + len(text), text=text, why=why)
    other = quote.model_copy(update={"why": why.model_copy(update={"side": "Southland"})})

    def answer(**quotes: Quote) -> Comparison:
        accounts = {side: Account(claim="c", quotes=[q]) for side, q in quotes.items()}
        return Comparison(question="q", collection="news", points=[Point(topic="t", kind="contradiction",
                                                                         accounts=accounts)])  # fmt: skip

    both = answer(Northland=quote, Southland=other)
    click = {"doc": doc.id, "start": start, "end": start + len(text), "side": "Northland"}
    view = h.source_view(service, both, click)
    line = re.search(r'<span class="cp-why-text">(.*?)</span>', view).group(1)
    assert html.unescape(line) == (
        'Said by Ana Lund (subject of "said"). Side: Northland (the title: "Northland’s <b>minister</b>").'
    )
    assert "<b>minister" not in view and view.index("cp-why") < view.index("cp-highlight")
    assert _highlight(view) == text
    # The same span under the other column explains that column's placement.
    assert "Side: Southland" in h.source_view(service, both, click | {"side": "Southland"})
    # A quote with no trace says so; a click the answer does not hold shows the source alone.
    untraced = answer(Northland=quote.model_copy(update={"why": None}))
    assert "No trace was recorded for this quote." in h.source_view(service, untraced, click)
    alone = h.source_view(service, answer(), click)
    assert "cp-why" not in alone and _highlight(alone) == text


def test_find_quote_prefers_the_clicked_column() -> None:
    a = Quote(doc="d", start=1, end=4, text="abc", title="A")
    b = a.model_copy(update={"title": "B"})
    point = Point(topic="t", kind="contradiction", accounts={"X": Account(claim="", quotes=[a]),
                                                             "Y": Account(claim="", quotes=[b])})  # fmt: skip
    answer = Comparison(question="q", points=[point])
    assert h.find_quote(answer, "d", 1, 4, "Y") is b and h.find_quote(answer, "d", 1, 4, "Z") is a
    assert h.find_quote(answer, "d", 1, 5) is None and h.find_quote(None, "d", 1, 4) is None


def test_a_pasted_date_must_be_a_real_date(service: Counterpoint) -> None:
    """The coverage strip and its timeline read dates; a typed date that is not one is refused, alone."""
    bad = h.page_sources(service.settings, None, TRICKY, None, "Dam", "Ledger", "last Tuesday")
    (outcome,) = h.ingest_sources(service, bad, "dates")
    assert outcome.result is None and "bad date 'last Tuesday'" in outcome.error
    assert service.documents("dates") == []
    good = h.page_sources(service.settings, None, TRICKY, None, "Dam", "Ledger", " 2025-03-04 ")
    (outcome,) = h.ingest_sources(service, good, "dates")
    assert outcome.result is not None and outcome.result.meta.date == "2025-03-04"


# --- export ------------------------------------------------------------------------------------
def test_export_files_hold_the_json_and_markdown(tmp_path: Path) -> None:
    quote = Quote(doc="d1", start=0, end=5, text="Hello", title="T")
    answer = Comparison(
        question="What do A & B say about the “dam”?",
        sides=[Side(name="A"), Side(name="B")],
        points=[
            {"topic": "Dam", "kind": "contradiction", "accounts": {"A": {"claim": "c", "quotes": [quote]}}}
        ],
        stats=Stats(latency_s=1.5, llm_calls=3),
    )  # fmt: skip
    json_path, md_path = h.export_files(answer, tmp_path / "exports")
    assert (
        json_path.name.startswith("counterpoint-what-do-a-b-say-about-the-dam-")
        and json_path.suffix == ".json"
    )
    assert md_path.stem == json_path.stem and md_path.suffix == ".md"
    assert Comparison.model_validate_json(json_path.read_text(encoding="utf-8")) == with_coverage(answer)
    assert md_path.read_text(encoding="utf-8") == comparison_markdown(answer)
    assert h.export_files(Comparison(question="¿¿??"), tmp_path)[0].name.startswith("counterpoint-answer-")


# --- launch options ----------------------------------------------------------------------------
def test_launch_binds_loopback_without_share_or_auth_by_default(settings: Settings) -> None:
    opts = launch_options(settings)
    assert (opts["server_name"], opts["server_port"], opts["auth"], opts["share"]) == (
        "127.0.0.1", 7860, None, False,
    )  # fmt: skip
    assert opts["max_file_size"] == settings.max_file_bytes


def test_launch_takes_host_port_and_auth_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_HOST", "0.0.0.0")
    monkeypatch.setenv("COUNTERPOINT_PORT", "8123")
    monkeypatch.setenv("COUNTERPOINT_AUTH", "ann:pw:with:colons")
    opts = launch_options(Settings())
    assert (opts["server_name"], opts["server_port"], opts["auth"]) == (
        "0.0.0.0",
        8123,
        ("ann", "pw:with:colons"),
    )


# --- the launched app, through gradio_client ---------------------------------------------------
@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Makes gradio_client Clients that stay offline: its telemetry default ignores
    GRADIO_ANALYTICS_ENABLED, and huggingface_hub fetches a registry for its User-Agent."""
    from gradio_client import Client

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    return lambda url, **kwargs: Client(url, verbose=False, analytics_enabled=False, **kwargs)


@contextmanager
def launched(svc: Counterpoint, settings: Settings, export_dir: Path) -> Iterator[str]:
    """The page on a free loopback port in this process; yields its URL."""
    demo = Page(svc, export_dir=export_dir).build()
    opts = {
        **launch_options(settings),
        "server_port": free_port(),
        "prevent_thread_lock": True,
        "quiet": True,
    }
    _, url, _ = demo.queue().launch(**opts)
    try:
        yield url
    finally:
        demo.close()


def test_api_has_named_ingest_ask_and_documents_and_nothing_else(
    service: Counterpoint, fake_settings: Settings, tmp_path: Path, client: Callable[..., Any]
) -> None:
    with launched(service, fake_settings, tmp_path) as url:
        api = client(url).view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == {"/ingest", "/ask", "/documents"}
    assert not api["unnamed_endpoints"], "UI events must stay private"
    params = [p["parameter_name"] for p in api["named_endpoints"]["/ingest"]["parameters"]]
    assert params == ["text", "url", "file", "collection", "title", "outlet", "doc_id"]
    assert [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]] == [
        "question", "collection",
    ]  # fmt: skip


def test_gradio_client_ingests_the_seed_and_asks(
    service: Counterpoint,
    fake_settings: Settings,
    seed_path: Path,
    tmp_path: Path,
    client: Callable[..., Any],
) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    seed = seed_path.read_text(encoding="utf-8")
    with launched(service, fake_settings, tmp_path / "exports") as url:
        api = client(url)
        kwargs = {"text": "", "url": "", "collection": "default", "title": "", "outlet": "", "doc_id": ""}
        added = api.predict(file=handle_file(str(seed_path)), **kwargs, api_name="/ingest")
        assert added["created"] is True and added["n_chars"] == len(seed) and added["n_chunks"] > 1
        assert added["title"].startswith("Peace Talks Collapse")
        again = api.predict(file=handle_file(str(seed_path)), **kwargs, api_name="/ingest")
        assert again["created"] is False and again["id"] == added["id"]
        docs = api.predict(collection="default", api_name="/documents")
        assert [d["id"] for d in docs] == [added["id"]] and docs[0]["source"] == seed_path.name

        question = "What do Afghanistan and Pakistan each say about the Istanbul talks?"
        answer = Comparison.model_validate(
            api.predict(question=question, collection="default", api_name="/ask")
        )
        assert not answer.abstained and answer.question == question
        assert {s.name for s in answer.sides} == {"Afghanistan", "Pakistan"}
        quotes = answer.quotes()
        assert quotes and all(seed[q.start : q.end] == q.text and q.doc == added["id"] for q in quotes)
        assert answer.stats.backend == "fake" and answer.stats.llm_calls > 0

        with pytest.raises(AppError, match="exactly one of text, url or file"):
            api.predict(file=None, **kwargs, api_name="/ingest")
        with pytest.raises(AppError, match="the question is empty"):
            api.predict(question="  ", collection="default", api_name="/ask")


def test_gradio_client_asks_and_the_answer_carries_its_coverage(
    service: Counterpoint, fake_settings: Settings, tmp_path: Path, client: Callable[..., Any]
) -> None:
    """/ask on the invented three-outlet collection (tests/data/marrowby): who reports each side."""
    from test_coverage import DATA, MARROWBY, MARROWBY_QUESTION

    for name, outlet, day in MARROWBY:
        text = (DATA / name).read_text(encoding="utf-8")
        service.ingest(Loaded(text=text, source=name, outlet=outlet, date=day), "harbour")
    with launched(service, fake_settings, tmp_path / "exports") as url:
        found = client(url).predict(question=MARROWBY_QUESTION, collection="harbour", api_name="/ask")
    answer = Comparison.model_validate(found)
    assert answer.coverage is not None and answer.coverage == with_coverage(answer).coverage
    assert sorted(answer.coverage.outlets) == sorted(o for _, o, _ in MARROWBY) and answer.coverage.dated
    port = answer.coverage.sides[0]
    assert port.side == "Marrowby Port Authority" and len(port.outlets) == 3 and port.key_quotes


def test_basic_auth_guards_the_page_and_the_api(
    service: Counterpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: Callable[..., Any]
) -> None:
    monkeypatch.setenv("COUNTERPOINT_AUTH", "ann:s3cret-pw")
    settings = Settings()
    with launched(service, settings, tmp_path) as url:
        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        page = httpx.get(url, timeout=10).text
        assert "s3cret-pw" not in page
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises several types for a refused login)
            client(url, auth=("ann", "wrong"))
        api = client(url, auth=("ann", "s3cret-pw"))
        assert api.predict(collection="default", api_name="/documents") == []


# --- serve: `python app.py` is `counterpoint serve` --------------------------------------------
def _python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, env=env, check=False, cwd=REPO
    )


def test_app_py_and_counterpoint_serve_take_the_same_options() -> None:
    from typer.testing import CliRunner

    from service.cli import app

    served = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "100"})
    direct = _python("app.py", "--help", env={**os.environ, "COLUMNS": "100"})
    assert served.exit_code == 0 and direct.returncode == 0, direct.stderr
    assert "--host" in served.stdout and "--port" in served.stdout
    # Same text apart from the program's name (and the padding rich adds around it).
    words = " ".join(direct.stdout.split()).replace("app.py serve", "root serve")
    assert words == " ".join(served.stdout.split())
    bad = _python("app.py", "--port", "0")
    assert bad.returncode == 2 and "Invalid value for '--port'" in " ".join(bad.stderr.split())


@pytest.mark.e2e
def test_python_app_py_serves_holds_the_data_dir_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    secrets = {"OPENAI_API_KEY": "sk-test-KEY-SECRET", "COUNTERPOINT_AUTH": "ann:pw-SECRET"}
    app = start_app(tmp_path, COUNTERPOINT_BACKEND="fake", **secrets)
    env = {**os.environ, "COUNTERPOINT_DATA_DIR": str(tmp_path / "data")}
    env["COUNTERPOINT_LOCK_TIMEOUT_S"] = "0.5"
    cli_list = [sys.executable, "-m", "service", "list"]
    try:
        busy = subprocess.run(cli_list, env=env, capture_output=True, text=True, timeout=60)
        assert busy.returncode == 1 and "in use by another Counterpoint process" in busy.stderr
    finally:
        stop_app(app)
    out = app.log.read_text(encoding="utf-8")
    assert app.proc.returncode == 0, out
    assert f"Running on local URL:  {app.url.rstrip('/')}" in out
    assert "Counterpoint: backend fake, model heuristic-fake, store " in out
    assert "gradio.live" not in out, "no share link"
    assert "SECRET" not in out, "a secret reached the log"
    freed = subprocess.run(cli_list, env=env, capture_output=True, text=True, timeout=60)
    assert freed.returncode == 0, freed.stderr
