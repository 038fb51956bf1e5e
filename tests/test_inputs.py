"""Hostile and broken input through every door (the loaders, the CLI as a subprocess, the page's
handlers): a clear message, a non-zero exit or an error notice, and the store exactly as it was."""

from __future__ import annotations

import codecs
import io
import json
import os
import socket
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MODEL_DIR, WebServer, make_pdf

from service.core import Counterpoint, open_service
from service.errors import InputError
from service.library import Loaded, load_file
from service.models import Comparison, DocumentMeta
from service.page import handlers as h
from service.settings import Settings

COUNTERPOINT = Path(sys.executable).parent / "counterpoint"
ARTICLE = (
    "Bridge tolls split the twin towns\n\n"
    "The Kestrel Bay council and the Merrin ferry collective traded blame on Friday over the new bridge "
    "toll. Council treasurer Ysolde Marrak said the toll was the only way to pay for repairs. “Without the "
    "toll the bridge closes in two years,” Marrak said. Collective head Oskar Pell said the council had "
    "hidden the repair costs for a decade. “They spent the money on a town hall,” Pell said."
)
NAV_ONLY = (
    "<html><head><title>Kestrel Bay Daily</title></head><body><nav><ul><li><a href='/'>Home</a></li>"
    "<li><a href='/local'>Local</a></li><li><a href='/sport'>Sport</a></li><li><a href='/tides'>Tides</a>"
    "</li></ul></nav><footer><a href='/about'>About</a> <a href='/contact'>Contact</a></footer></body></html>"
)
MB = 1024 * 1024


def zipped(name: str, text: str) -> bytes:
    """A real ZIP archive holding one text file (a .docx is one too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def bad_files(folder: Path) -> dict[str, str]:
    """Broken inputs written into `folder`: file name -> part of the message it must get."""
    folder.mkdir(parents=True, exist_ok=True)
    contents: dict[str, tuple[bytes, str]] = {
        "empty.txt": (b"", "is empty"),
        "blank.md": (b"  \n\n\t \n", "is empty"),
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "looks binary"),
        "archive.txt": (zipped("notes.txt", ARTICLE), "a ZIP archive"),
        "noise.txt": (bytes(range(1, 256)) * 8, "looks binary: not UTF-8"),
        "bad-bom.txt": (codecs.BOM_UTF16_LE + b"\x00\xd8" * 8, "UTF-16-LE byte-order mark but is not"),
        "scan.pdf": (make_pdf([]), "no extractable text"),
        "broken.pdf": (b"%PDF-1.7\n1 0 obj <<", "not a readable PDF"),
        "menu.html": (NAV_ONLY.encode(), "no article text found"),
    }
    for name, (data, _) in contents.items():
        (folder / name).write_bytes(data)
    with (folder / "huge.txt").open("wb") as f:  # 50 MB, sparse: nothing is written but the end
        f.truncate(50 * MB)
    return {**{name: message for name, (_, message) in contents.items()}, "huge.txt": "over the 5 MB limit"}


@pytest.fixture
def hang_url() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/never"


@pytest.fixture
def stored(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> Iterator[tuple[Settings, list[DocumentMeta]]]:
    """A data dir holding one good article (fake backend, loopback URLs allowed, a short URL timeout)."""
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    monkeypatch.setenv("COUNTERPOINT_ALLOW_PRIVATE_URLS", "true")
    monkeypatch.setenv("COUNTERPOINT_URL_TIMEOUT_S", "1")
    settings = Settings()
    with open_service(settings) as service:  # closed again: a subprocess may need the data dir
        service.ingest(Loaded(text=ARTICLE, source="bridge.txt", title="Bridge tolls"))
        documents = service.documents()
    yield settings, documents


def listing(settings: Settings) -> list[DocumentMeta]:
    with open_service(settings) as service:
        return service.documents()


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`counterpoint ARGS` in its own process on the test's data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERPOINT_", "OPENAI_"))}
    env.update(
        COUNTERPOINT_DATA_DIR=str(settings.data_dir), COUNTERPOINT_MODEL_DIR=str(MODEL_DIR),
        COUNTERPOINT_BACKEND="fake", COUNTERPOINT_ALLOW_PRIVATE_URLS="true", COUNTERPOINT_URL_TIMEOUT_S="1",
        ANONYMIZED_TELEMETRY="False", COLUMNS="200",
    )  # fmt: skip
    return subprocess.run(
        [str(COUNTERPOINT), *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


# --- the loaders --------------------------------------------------------------------------------
def test_each_bad_file_gets_a_clear_message(tmp_path: Path, settings: Settings) -> None:
    for name, message in bad_files(tmp_path).items():
        with pytest.raises(InputError, match=message) as caught:
            load_file(tmp_path / name, settings)
        assert name in str(caught.value) and "\n" not in str(caught.value)


def test_an_oversized_file_is_refused_without_being_read(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(50 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"huge\.txt is 50\.0 MB, over the 5 MB limit"):
            load_file(path, settings)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MB  # nothing near the file's size was read into memory


# --- the command line ---------------------------------------------------------------------------
def test_cli_refuses_each_bad_input_and_stores_nothing(
    stored: tuple[Settings, list[DocumentMeta]], tmp_path: Path, web_server: WebServer, hang_url: str
) -> None:
    settings, before = stored
    expected = {str(tmp_path / "in" / name): message for name, message in bad_files(tmp_path / "in").items()}
    expected[f"{web_server.base}/gone"] = "HTTP 404"
    expected[hang_url] = "total time of 1 s"
    result = run(settings, "ingest", *expected)
    assert result.returncode == 1 and result.stdout == "", result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected), result.stderr
    for line, (name, message) in zip(lines, expected.items(), strict=True):
        assert line.startswith("error: ") and name in line and message in line, line
    assert listing(settings) == before


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("Why " * 25_000, "the question is longer than"),  # 100,000 characters
        ("", "the question is empty"),
        (" \t ", "the question is empty"),
    ],
)
def test_cli_refuses_a_bad_question(
    stored: tuple[Settings, list[DocumentMeta]], question: str, message: str
) -> None:
    settings, before = stored
    result = run(settings, "ask", question)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()] and message in result.stderr
    assert listing(settings) == before


def test_cli_answers_or_abstains_on_a_question_in_another_language(
    stored: tuple[Settings, list[DocumentMeta]],
) -> None:
    settings, before = stored
    result = run(
        settings, "ask", "¿Por qué discuten el consejo de Kestrel Bay y el colectivo de Merrin?", "--json"
    )
    assert result.returncode == 0, result.stderr
    answer = Comparison.model_validate(json.loads(result.stdout))
    assert answer.abstained or answer.points
    assert all(q.text in ARTICLE for q in answer.quotes())
    assert listing(settings) == before


# --- the page -----------------------------------------------------------------------------------
@pytest.fixture
def page(stored: tuple[Settings, list[DocumentMeta]], tmp_path: Path) -> Iterator[tuple[Counterpoint, Path]]:
    """The service the page would use, with the upload folder in the test's tmp dir."""
    settings, _ = stored
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    with open_service(settings.model_copy(update={"upload_dir": uploads})) as service:
        yield service, uploads


def test_page_refuses_each_bad_input_and_stores_nothing(
    page: tuple[Counterpoint, Path], web_server: WebServer, hang_url: str
) -> None:
    service, uploads = page
    before = service.documents()
    messages = bad_files(uploads / "batch1")
    files = [str(uploads / "batch1" / name) for name in messages]
    urls = {f"{web_server.base}/gone": "HTTP 404", hang_url: "total time of 1 s"}
    outcomes = []
    for url in [None, *urls]:
        sources = h.page_sources(service.settings, files if url is None else None, url=url)
        outcomes += h.ingest_sources(service, sources, "default")
    assert [o.result for o in outcomes] == [None] * (len(messages) + len(urls))
    for outcome, message in zip(outcomes, [*messages.values(), *urls.values()], strict=True):
        assert message in outcome.error, outcome.error
    notices = h.outcome_notices(outcomes, "default")
    assert all(kind == "error" for kind, _ in notices)
    for name in messages:
        with pytest.raises(InputError):
            h.api_ingest(service, "", "", str(uploads / "batch1" / name), "default")
    for text in ["", "   \n\t"]:
        with pytest.raises(InputError):
            h.api_ingest(service, text, "", None, "default")
    assert service.documents() == before


def test_page_handles_bad_questions_without_losing_the_page(page: tuple[Counterpoint, Path]) -> None:
    from service.page.ui import Page

    service, _ = page
    ui = Page(service, export_dir=page[1] / "exports")

    def progress(*args: object, **kwargs: object) -> None:
        pass

    for question, message in [("Why " * 25_000, "longer than"), ("", "the question is empty")]:
        html, answer, *_ = ui.on_ask(question, "default", False, progress=progress)
        assert answer is None and 'role="alert"' in html and message in html
    html, answer, *_ = ui.on_ask(
        "Warum streiten Kestrel Bay und Merrin?", "default", False, progress=progress
    )
    assert isinstance(answer, Comparison) and 'class="cp-answer' in html
    assert all(q.text in ARTICLE for q in answer.quotes())
