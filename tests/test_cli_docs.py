"""The document commands of the CLI: ingest, list, show, delete; errors and the data-dir lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result
from conftest import WebServer, free_port, make_pdf
from typer.testing import CliRunner

from service.cli import app
from service.library import Loaded, content_hash, ingest
from service.library.store import open_store
from service.settings import Settings

COUNTERPOINT = Path(sys.executable).parent / "counterpoint"
TEXT = "Kabul said the talks failed because Pakistan refused.\n\nIslamabad said Kabul wanted only promises.\n"


def cli(*args: str, input: bytes | None = None) -> Result:
    """Run the CLI in this process, with stdout and stderr kept apart."""
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


def error_lines(result: Result) -> list[str]:
    return result.stderr.splitlines()


def assert_one_error(result: Result, contains: str) -> None:
    """Exactly one line on stderr, `error: ...`, a non-zero exit, and nothing on stdout."""
    assert result.exit_code != 0, result.stdout
    lines = error_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and contains in lines[0], lines[0]
    assert result.stdout == ""


def doc_id_of(text: str) -> str:
    return content_hash(text)[:16]


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    """A data dir holding one document; returns the `list` output to compare against."""
    path = tmp_path / "talks.txt"
    path.write_text(TEXT, encoding="utf-8")
    result = cli("ingest", str(path))
    assert result.exit_code == 0, result.stderr
    listing = cli("list").stdout
    assert doc_id_of(TEXT) in listing
    return listing


# --- the happy path -----------------------------------------------------------------------------
def test_ingest_list_show_delete(seed_path: Path) -> None:
    doc_id = doc_id_of(seed_path.read_text(encoding="utf-8"))
    added = cli("ingest", str(seed_path))
    assert added.exit_code == 0, added.stderr
    fields = added.stdout.rstrip("\n").split("\t")
    assert fields[:2] == [doc_id, "added"] and fields[3].startswith("Peace Talks Collapse")

    again = cli("ingest", str(seed_path))
    assert again.exit_code == 0
    assert again.stdout.split("\t")[:2] == [doc_id, "unchanged (already stored)"]
    assert cli("list").stdout.splitlines()[0].startswith(f"{doc_id}\t")
    assert len(cli("list").stdout.splitlines()) == 1

    shown = cli("show", "--text", doc_id)
    assert shown.exit_code == 0
    assert shown.stdout_bytes == seed_path.read_bytes()
    assert shown.stderr == ""
    full = cli("show", doc_id).stdout
    assert f"id: {doc_id}\n" in full and f"source: {seed_path}\n" in full

    deleted = cli("delete", doc_id)
    assert deleted.exit_code == 0 and deleted.stdout.startswith(f"{doc_id}\tdeleted\t")
    empty = cli("list")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "is empty" in empty.stderr


def test_show_and_delete_unknown_ids_fail_clearly(seeded: str) -> None:
    assert_one_error(cli("show", "nope"), "no document 'nope' in collection 'default'")
    assert_one_error(cli("show", "--text", "nope"), "no document 'nope'")
    assert_one_error(cli("delete", "nope"), "no document 'nope'")
    assert cli("list").stdout == seeded


def test_stdin_with_id_title_and_outlet() -> None:
    text = "Pasted “exactly”,\r\nwith CRLF.\n"
    result = cli(
        "ingest", "-", "--id", "pasted", "--title", "My title", "--outlet", "Ledger", input=text.encode()
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("pasted\tadded\t1 chunks\tMy title")
    assert cli("show", "--text", "pasted").stdout_bytes == text.encode()
    assert "outlet: Ledger\n" in cli("show", "pasted").stdout


def test_directory_and_url(tmp_path: Path, web_server: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_ALLOW_PRIVATE_URLS", "true")  # the test's web server is on loopback
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("First article says one thing.", encoding="utf-8")
    (folder / "b.pdf").write_bytes(make_pdf(["Second article says another."]))
    web_server.pages["/c"] = (200, "text/plain; charset=utf-8", b"Third article from the web.")
    result = cli("ingest", str(folder), f"{web_server.base}/c")
    assert result.exit_code == 0, result.stderr
    assert [line.split("\t")[1] for line in result.stdout.splitlines()] == ["added"] * 3
    assert len(cli("list").stdout.splitlines()) == 3


# --- bad input: one error line, nothing stored --------------------------------------------------
def bad_cases(tmp_path: Path) -> dict[str, tuple[list[str], bytes | None, str]]:
    """name -> (arguments, stdin, part of the message)."""

    def file(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return str(path)

    (tmp_path / "no-articles").mkdir()
    long_name = str(tmp_path / ("x" * 120) / "missing-article-with-a-long-name.txt")
    return {
        "empty": (["ingest", file("empty.txt", b"")], None, "is empty"),
        "binary": (["ingest", file("bin.txt", b"\x00\x01\x02binary")], None, "looks binary"),
        "noise": (["ingest", file("noise.txt", bytes(range(1, 256)) * 4)], None, "looks binary"),
        "pdf": (["ingest", file("bad.pdf", b"%PDF-1.4\ngarbage")], None, "not a readable PDF"),
        "missing": (["ingest", long_name], None, "no such file"),
        "empty-dir": (["ingest", str(tmp_path / "no-articles")], None, "no .txt, .md"),
        "stdin-empty": (["ingest", "-"], b"", "stdin is empty"),
        "url-closed": (["ingest", f"http://127.0.0.1:{free_port()}/a"], None, "cannot fetch"),
        "id-two-inputs": (["ingest", "--id", "x", file("a.txt", b"A."), file("b.txt", b"B.")], None, "--id"),
        "bad-id": (["ingest", "--id", "bad id", file("c.txt", b"Some text.")], None, "bad document id"),
        "bad-collection": (["ingest", "-c", "bad.name", file("d.txt", b"Some text.")], None, "collection"),
        "taken-id": (
            ["ingest", "--id", doc_id_of(TEXT), file("e.txt", b"Other text.")],
            None,
            "already exists",
        ),
    }


CASE_NAMES = [
    "empty",
    "binary",
    "noise",
    "pdf",
    "missing",
    "empty-dir",
    "stdin-empty",
    "url-closed",
    "id-two-inputs",
    "bad-id",
    "bad-collection",
    "taken-id",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input_is_one_error_line_and_stores_nothing(seeded: str, tmp_path: Path, name: str) -> None:
    args, stdin, message = bad_cases(tmp_path)[name]
    assert_one_error(cli(*args, input=stdin), message)
    assert cli("list").stdout == seeded


def test_oversized_file(seeded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"Too long for the limit. " * 100)
    monkeypatch.setenv("COUNTERPOINT_MAX_FILE_MB", "0.001")
    assert_one_error(cli("ingest", str(big)), "over the 0.001 MB limit")
    assert cli("list").stdout == seeded


def test_bad_setting_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_CHUNK_SIZE", "5")
    result = cli("list")
    assert result.exit_code == 2
    assert error_lines(result) == [
        "error: bad setting chunk_size: Input should be greater than or equal to 100"
    ]


def test_one_bad_input_among_good_ones(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("A perfectly fine article.", encoding="utf-8")
    bad.write_bytes(b"")
    result = cli("ingest", str(bad), str(good))
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {bad} is empty"]
    assert result.stdout.split("\t")[1] == "added"


# --- server mode --------------------------------------------------------------------------------
@pytest.mark.e2e
def test_cli_against_a_chroma_server(server_settings: Settings, seed_path: Path) -> None:
    collection = f"cli{os.getpid()}{time.monotonic_ns() % 10**9}"
    try:
        added = cli("ingest", "-c", collection, str(seed_path))
        assert added.exit_code == 0, added.stderr
        doc_id = added.stdout.split("\t")[0]
        assert cli("show", "-c", collection, "--text", doc_id).stdout_bytes == seed_path.read_bytes()
        assert not server_settings.data_dir.exists(), "server mode must not touch the data dir"
    finally:
        with open_store(server_settings) as store:
            store.drop(collection)


# --- separate processes: restart and the data-dir lock ------------------------------------------
def run(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The installed `counterpoint` command in a fresh process (the environment is the test's)."""
    return subprocess.run(
        [str(COUNTERPOINT), *args],
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.e2e
def test_ingest_and_show_across_processes(seed_path: Path, settings: Settings) -> None:
    # This process writes and closes first: a client still cached here would go stale below.
    with open_store(settings) as store:
        first = ingest(store, "default", Loaded(text=TEXT, source="t"), settings).meta
    ingested = run("ingest", str(seed_path))
    assert ingested.returncode == 0, ingested.stderr
    doc_id = ingested.stdout.decode().split("\t")[0]
    shown = run("show", "--text", doc_id)
    assert shown.returncode == 0 and shown.stdout == seed_path.read_bytes()
    with open_store(settings) as store:
        assert {m.id for m in store.list("default")} == {first.id, doc_id}
        hits = store.search("default", store.embedder.embed_one("Who blamed whom for the talks?"), k=20)
        assert {h.doc_id for h in hits} == {first.id, doc_id}


@pytest.mark.e2e
def test_a_held_data_dir_fails_fast(settings: Settings) -> None:
    with open_store(settings):
        started = time.monotonic()
        busy = run("list", COUNTERPOINT_LOCK_TIMEOUT_S="0.5")
        elapsed = time.monotonic() - started
    lines = busy.stderr.decode().splitlines()
    assert busy.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "in use by another Counterpoint process" in lines[0]
    assert f"pid {os.getpid()}" in lines[0]
    assert elapsed < 15, f"took {elapsed:.1f} s: the lock timeout was not honoured"
    # Released: the next process gets in.
    assert run("list").returncode == 0
