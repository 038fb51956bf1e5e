"""The page against hostile content and hostile requests: script and event-handler HTML in articles
and model output shows as text; partial and preliminary answers say so (escaped) on every surface;
uploads outside the upload folder or over the limit are refused; with COUNTERPOINT_AUTH the page and
its API answer nothing without signing in; the page listens on loopback unless told otherwise."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port, start_app, stop_app
from markdown_it import MarkdownIt
from rich.console import Console
from test_render import EVIL, IMG, SCRIPT, assert_inert, evil_comparison, make

from service.core import Counterpoint, open_service
from service.errors import InputError
from service.library import Loaded
from service.models import Comparison
from service.page import handlers as h
from service.page.render import (
    NOTES_TITLE,
    PARTIAL_TITLE,
    PRELIMINARY_TITLE,
    comparison_html,
    comparison_markdown,
    print_comparison,
    source_html,
)
from service.settings import Settings

HOSTILE_ARTICLE = (
    "Harbour fees rise in Tollby\n\n"
    f"The Tollby port board said fees would double. {SCRIPT} The pilots' guild said the board lied. "
    f"{IMG} “We will strike,” said guild chair Runa Ekdal."
)


def markdown_html(md: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).render(md)


def terminal(c: Comparison) -> str:
    console = Console(record=True, width=160, color_system=None)
    print_comparison(c, console)
    return console.export_text()


# --- escaping: model output, articles, notes ------------------------------------------------------
def test_every_string_a_model_or_article_controls_is_shown_as_text() -> None:
    c = evil_comparison().model_copy(update={"notes": [EVIL, f"call 2 failed: {IMG}"], "partial": True})
    out = comparison_html(c)
    assert_inert(out)
    assert out.count(html.escape(SCRIPT, quote=True)) >= 8  # question, side, speaker, topic, claim, quote...
    md = comparison_markdown(c)
    assert "\\<script\\>" in md
    assert_inert(markdown_html(md))  # as a Markdown viewer that allows raw HTML would show it


@pytest.mark.parametrize(
    ("flags", "titles"),
    [
        ({"partial": True}, [PARTIAL_TITLE]),
        ({"preliminary": True}, [PRELIMINARY_TITLE]),
        ({"partial": True, "preliminary": True}, [PRELIMINARY_TITLE, PARTIAL_TITLE]),
        ({}, [NOTES_TITLE]),
    ],
)
def test_partial_and_preliminary_answers_say_so_everywhere(flags: dict[str, bool], titles: list[str]) -> None:
    notes = [f"the point on fees was not labelled: {SCRIPT}", "the call budget ran out"]
    c = make(2, notes=notes, **flags)
    out = comparison_html(c)
    tree = assert_inert(out)
    shown = [n.find("cp-notice-title").text() for n in tree.find_all("cp-notice")]
    assert shown == titles
    assert out.index('class="cp-notice') < out.index('class="cp-grid')  # read before the answer
    assert [li.text() for li in tree.find_all(tag="li") if "fees" in li.text()] == [notes[0]]
    md = comparison_markdown(c)
    for title in titles:
        assert f"**{title}**" in md
    assert "- the point on fees was not labelled: \\<script\\>" in md
    assert_inert(markdown_html(md))
    text = terminal(c)
    label = {PARTIAL_TITLE: "Partial answer", PRELIMINARY_TITLE: "Preliminary answer"}
    assert all(label.get(t, t) in text for t in titles) and "• the call budget ran out" in text


def test_a_plain_answer_has_no_notice() -> None:
    c = make(2)
    assert 'class="cp-notice' not in comparison_html(c) and "Partial" not in comparison_markdown(c)
    assert "Partial" not in terminal(c) and "Preliminary" not in terminal(c)


def test_an_abstained_partial_answer_still_says_it_is_partial() -> None:
    c = make(2, abstained=True, reason="no sides found", partial=True, notes=["the sides call failed"])
    assert PARTIAL_TITLE in html.unescape(comparison_html(c))
    assert "Partial answer" in terminal(c) and "the sides call failed" in comparison_markdown(c)


@pytest.fixture
def fake_service(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> Iterator[Counterpoint]:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    with open_service(Settings()) as service:
        yield service


def test_the_source_view_shows_a_hostile_article_as_text(fake_service: Counterpoint) -> None:
    meta = fake_service.ingest(
        Loaded(text=HOSTILE_ARTICLE, source="x", title=EVIL, outlet=EVIL, url=f"javascript:{IMG}")
    ).meta
    start = HOSTILE_ARTICLE.index(SCRIPT)
    view = h.source_view(fake_service, None, {"doc": meta.id, "start": start, "end": start + len(SCRIPT)})
    assert_inert(view)
    mark = re.search(r'<mark id="cp-highlight"[^>]*>(.*?)</mark>', view, flags=re.S)
    assert mark and html.unescape(mark.group(1)) == SCRIPT
    assert_inert(source_html(fake_service.document(meta.id), 0, len(HOSTILE_ARTICLE)))
    assert_inert(h.library_html(fake_service.documents(), EVIL))
    bad = h.source_view(fake_service, None, {"doc": EVIL, "start": 0, "end": 1})
    assert_inert(bad) and "cp-msg-error" in bad


def test_an_answer_over_a_hostile_article_is_inert(fake_service: Counterpoint) -> None:
    fake_service.ingest(Loaded(text=HOSTILE_ARTICLE, source="x", title="Harbour fees"))
    answer = fake_service.ask(f"What do the Tollby port board and the pilots' guild say? {SCRIPT}")
    assert_inert(comparison_html(answer))
    assert_inert(markdown_html(comparison_markdown(answer)))


# --- uploads --------------------------------------------------------------------------------------
@pytest.fixture
def uploads(tmp_path: Path, settings: Settings) -> tuple[Settings, Path]:
    folder = tmp_path / "gradio"
    (folder / "abc123").mkdir(parents=True)
    (folder / "abc123" / "note.txt").write_text("An uploaded note about the harbour fees.", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("A file the page must never read.", encoding="utf-8")
    return settings.model_copy(update={"upload_dir": folder}), folder


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("../outside.txt", "path parts"),
        ("abc123/note.txt", "path parts"),  # relative: not what Gradio hands over
        ("{folder}/abc123/../../outside.txt", "path parts"),
        ("{folder}/../outside.txt", "path parts"),
        ("{tmp}/outside.txt", "outside the upload folder"),
        ("/etc/hostname", "outside the upload folder"),
        ("{folder}/abc123/link.txt", "outside the upload folder"),  # a symlink pointing out
        ("{folder}/abc123/missing.txt", "missing"),
    ],
)
def test_uploads_are_read_only_from_the_upload_folder(
    uploads: tuple[Settings, Path], given: str, message: str
) -> None:
    settings, folder = uploads
    (folder / "abc123" / "link.txt").symlink_to(folder.parent / "outside.txt")
    path = given.format(folder=folder, tmp=folder.parent)
    with pytest.raises(InputError, match=message):
        h.upload_path(path, settings)
    (source,) = h.page_sources(settings, [path])
    with pytest.raises(InputError, match=message):
        source.load()


def test_an_upload_in_the_folder_is_read(uploads: tuple[Settings, Path]) -> None:
    settings, folder = uploads
    (source,) = h.page_sources(settings, [str(folder / "abc123" / "note.txt")])
    loaded = source.load()
    assert (source.name, loaded.source) == ("note.txt", "note.txt") and "harbour fees" in loaded.text


def test_an_oversized_upload_is_refused_before_it_is_read(
    uploads: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, folder = uploads
    big = folder / "abc123" / "big.txt"
    with big.open("wb") as f:
        f.truncate(6 * 1024 * 1024)
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the oversized upload was opened"))
    with pytest.raises(InputError, match=r"big\.txt is 6\.0 MB, over the 5 MB limit"):
        h.page_sources(settings, [str(big)])[0].load()


def test_the_api_refuses_a_server_path_as_its_file(fake_service: Counterpoint) -> None:
    before = fake_service.documents()
    with pytest.raises(InputError, match="outside the upload folder"):
        h.api_ingest(fake_service, "", "", "/etc/hostname", "default")
    assert fake_service.documents() == before


# --- sign-in --------------------------------------------------------------------------------------
@contextmanager
def launched(service: Counterpoint, settings: Settings, export_dir: Path) -> Iterator[str]:
    """The real page on a free loopback port in this process; yields its URL."""
    from service.page.ui import Page, launch_options

    demo = Page(service, export_dir=export_dir).build()
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


API_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "config", {}),
    ("GET", "gradio_api/info", {}),
    ("GET", "gradio_api/openapi.json", {}),
    ("POST", "gradio_api/call/ask", {"json": {"data": ["What does each side say?", "default"]}}),
    ("POST", "gradio_api/call/documents", {"json": {"data": ["default"]}}),
    ("POST", "gradio_api/call/ingest", {"json": {"data": ["Some text.", "", None, "default", "", "", ""]}}),
    ("POST", "gradio_api/run/ask", {"json": {"data": ["What does each side say?", "default"]}}),
    ("POST", "gradio_api/queue/join", {"json": {"data": ["default"], "fn_index": 0, "session_hash": "s1"}}),
    ("GET", "gradio_api/queue/data?session_hash=s1", {}),
    ("POST", "gradio_api/upload", {"files": {"files": ("a.txt", b"Uploaded text.")}}),
    ("GET", "gradio_api/file=/etc/hostname", {}),
]


def test_with_auth_nothing_answers_without_signing_in(
    fake_service: Counterpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_service.ingest(Loaded(text=HOSTILE_ARTICLE, source="x", title="Harbour fees rise in Tollby"))
    before = fake_service.documents()
    monkeypatch.setenv("COUNTERPOINT_AUTH", "runa:quay-7-pw")
    settings = Settings()
    with launched(fake_service, settings, tmp_path) as url:
        for method, path, kwargs in API_REQUESTS:
            response = httpx.request(method, url + path, timeout=30, **kwargs)
            assert response.status_code == 401, (path, response.status_code, response.text[:200])
        shell = httpx.get(url, timeout=30).text  # the sign-in page: nothing of the library
        assert "Harbour fees" not in shell and "quay-7-pw" not in shell
        with httpx.Client(base_url=url, timeout=30) as wrong:
            assert wrong.post("login", data={"username": "runa", "password": "nope"}).status_code >= 400
            assert wrong.get("config").status_code == 401
        with httpx.Client(base_url=url, timeout=30) as signed_in:
            assert (
                signed_in.post("login", data={"username": "runa", "password": "quay-7-pw"}).status_code == 200
            )
            assert signed_in.get("config").status_code == 200
            # Uploads: over the limit refused at the door; a name with path parts lands inside the folder.
            big = signed_in.post("gradio_api/upload", files={"files": ("big.txt", b"x" * (6 * 1024 * 1024))})
            assert big.status_code == 413
            for name in ("../../escaped.txt", "/tmp/escaped.txt", "a/b/escaped.txt"):
                [stored] = signed_in.post("gradio_api/upload", files={"files": (name, b"Fees.")}).json()
                assert Path(stored).name == "escaped.txt"
                assert h.upload_path(stored, settings).is_relative_to(settings.upload_dir.resolve())
            # Signed in, a path on the server is still not a file the API will read.
            assert signed_in.get("gradio_api/file=/etc/hostname").status_code in (403, 404)
            event = signed_in.post(
                "gradio_api/call/ingest",
                json={
                    "data": [
                        "",
                        "",
                        {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}},
                        "default",
                        "",
                        "",
                        "",
                    ]
                },
            ).json()["event_id"]
            stream = signed_in.get(f"gradio_api/call/ingest/{event}").text
            assert "event: error" in stream and "event: complete" not in stream
    assert fake_service.documents() == before


@pytest.mark.e2e
def test_python_app_py_with_auth_refuses_plain_requests(tmp_path: Path) -> None:
    app = start_app(tmp_path, COUNTERPOINT_BACKEND="fake", COUNTERPOINT_AUTH="runa:quay-7-pw")
    try:
        for method, path, kwargs in API_REQUESTS:
            response = httpx.request(method, app.url + path, timeout=30, **kwargs)
            assert response.status_code == 401, (path, response.status_code, response.text[:200])
        with httpx.Client(base_url=app.url, timeout=60) as signed_in:
            assert (
                signed_in.post("login", data={"username": "runa", "password": "quay-7-pw"}).status_code == 200
            )
            event = signed_in.post("gradio_api/call/documents", json={"data": ["default"]}).json()["event_id"]
            assert "event: complete" in signed_in.get(f"gradio_api/call/documents/{event}").text
    finally:
        stop_app(app)
    log = app.log.read_text(encoding="utf-8")
    assert "quay-7-pw" not in log and "Running on local URL:  http://127.0.0.1:" in log


# --- where the page listens -----------------------------------------------------------------------
def test_the_page_listens_on_loopback_without_a_share_link(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    import gradio as gr

    from service.page import ui

    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-shown-443322")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: seen.update(kwargs))
    ui.serve(Settings())  # the entry point of `counterpoint serve` and `python app.py`
    assert (seen["server_name"], seen["server_port"], seen["share"], seen["auth"]) == (
        "127.0.0.1",
        7860,
        False,
        None,
    )
    assert seen["max_file_size"] == 5 * 1024 * 1024
    assert "sk-never-shown-443322" not in repr(seen)
    assert os.environ.get("GRADIO_SHARE") is None


@pytest.mark.parametrize("gradio_dir", [None, "{tmp}/gradio-elsewhere"])
def test_the_upload_folder_is_the_one_gradio_uses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gradio_dir: str | None
) -> None:
    from gradio.utils import get_upload_folder

    if gradio_dir is None:
        monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    else:
        monkeypatch.setenv("GRADIO_TEMP_DIR", gradio_dir.format(tmp=tmp_path))
    assert Settings().upload_dir.resolve() == Path(get_upload_folder()).resolve()
