"""The document commands of the CLI (ingest, list, show, delete; errors and the data-dir lock) on the
invented article and the seed, and the README: every command, option, setting and link it shows exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result
from conftest import Article, WebServer, free_port, make_pdf
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
def test_ingest_list_show_delete(article: Article) -> None:
    doc_id = doc_id_of(article.path.read_text(encoding="utf-8"))
    added = cli("ingest", str(article.path))
    assert added.exit_code == 0, added.stderr
    fields = added.stdout.rstrip("\n").split("\t")
    assert fields[:2] == [doc_id, "added"] and fields[3].startswith(article.title)

    again = cli("ingest", str(article.path))
    assert again.exit_code == 0
    assert again.stdout.split("\t")[:2] == [doc_id, "unchanged (already stored)"]
    assert cli("list").stdout.splitlines()[0].startswith(f"{doc_id}\t")
    assert len(cli("list").stdout.splitlines()) == 1

    shown = cli("show", "--text", doc_id)
    assert shown.exit_code == 0
    assert shown.stdout_bytes == article.path.read_bytes()
    assert shown.stderr == ""
    full = cli("show", doc_id).stdout
    assert f"id: {doc_id}\n" in full and f"source: {article.path}\n" in full

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
def test_cli_against_a_chroma_server(server_settings: Settings, article: Article) -> None:
    collection = f"cli{os.getpid()}{time.monotonic_ns() % 10**9}"
    try:
        added = cli("ingest", "-c", collection, str(article.path))
        assert added.exit_code == 0, added.stderr
        doc_id = added.stdout.split("\t")[0]
        assert cli("show", "-c", collection, "--text", doc_id).stdout_bytes == article.path.read_bytes()
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
def test_ingest_and_show_across_processes(article: Article, settings: Settings) -> None:
    # This process writes and closes first: a client still cached here would go stale below.
    with open_store(settings) as store:
        first = ingest(store, "default", Loaded(text=TEXT, source="t"), settings).meta
    ingested = run("ingest", str(article.path))
    assert ingested.returncode == 0, ingested.stderr
    doc_id = ingested.stdout.decode().split("\t")[0]
    shown = run("show", "--text", doc_id)
    assert shown.returncode == 0 and shown.stdout == article.path.read_bytes()
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


# --- the README: what it shows works ------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[list[str]]:
    """Every `counterpoint ...` line of the README's code blocks, as words (comments and [ ] dropped)."""
    import shlex

    blocks = re.findall(r"```(?:bash)?\n(.*?)```", README, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith("counterpoint ")]
    return [shlex.split(line.split("  #")[0].replace("[", "").replace("]", "")) for line in lines]


def readme_settings() -> dict[str, str]:
    """The configuration table: variable -> its default cell (one cell per variable where a row has two)."""
    found: dict[str, str] = {}
    for names, default in re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| ([^|]*) \|", README, flags=re.M):
        variables = re.findall(r"`([A-Z_]+)`", names)
        defaults = [d.strip() for d in default.split(", ")] if "," in default else [default.strip()]
        for i, name in enumerate(variables):
            found[name] = defaults[i] if len(defaults) == len(variables) else ""
    return found


def test_the_readme_stays_short_and_its_links_resolve() -> None:
    assert len(README.splitlines()) <= 210, "user documentation only: history goes to docs/RESULTS.md"
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README):
        assert (REPO / target).exists(), f"the README links to {target}, which is not in the repo"


def test_the_readme_names_the_two_commands_ci_runs() -> None:
    block = re.search(r"## Two commands\n\n```bash\n(.*?)```", README, flags=re.S)
    assert block, "the README lost its 'Two commands' block"
    assert [line.split("#")[0].strip() for line in block[1].splitlines()] == ["make app", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("app", "test", "bench"):
        assert re.search(rf"^{target}:", makefile, flags=re.M), f"no `make {target}`"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "make test" in ci, "CI must run exactly the README's test command"


def test_every_command_and_option_the_readme_shows_exists() -> None:
    import typer.main

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    shown = readme_commands()
    assert {words[1] for words in shown} == set(commands), "the README shows each command once at least"
    for words in shown:
        command = commands[words[1]]
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for word in words[2:]:
            if word.startswith("-") and word != "-":
                assert word.split("=")[0] in options, f"`counterpoint {words[1]}` has no option {word}"
        for word in words[2:]:
            if word.startswith("eval/") or word.startswith("tests/"):
                assert (REPO / word).exists(), f"the README's `{' '.join(words)}` names a missing {word}"


def test_every_setting_is_in_the_readme_with_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = readme_settings()
    fields = {f"COUNTERPOINT_{name.upper()}" for name in Settings.model_fields} - {
        "COUNTERPOINT_OPENAI_API_KEY", "COUNTERPOINT_OPENAI_BASE_URL",  # documented as OPENAI_*
    }  # fmt: skip
    assert set(documented) == fields | {"OPENAI_API_KEY", "OPENAI_BASE_URL"}
    checked = 0
    for name, cell in documented.items():
        literal = re.fullmatch(r"`([^`~]+)`", cell)
        if not literal or not name.startswith("COUNTERPOINT_"):
            continue  # "auto", "–", a sentence, or a path under ~
        field = name.removeprefix("COUNTERPOINT_").lower()
        monkeypatch.setenv(name, literal[1])  # read as the service reads it, then against the default
        default = Settings.model_fields[field].get_default(call_default_factory=True)
        assert getattr(Settings(), field) == default, f"{name}: the README says {cell}"
        monkeypatch.delenv(name)
        checked += 1
    assert checked >= 15


def test_the_readme_results_table_is_kept_in_docs_results() -> None:
    """The one current table also heads docs/RESULTS.md, where it stays when newer numbers come."""
    section = README.split("**Current results**", 1)[1]
    table = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    assert len(table) >= 9, "the README lost its results table"
    results = (REPO / "docs" / "RESULTS.md").read_text(encoding="utf-8")
    assert "\n".join(table) in results
    assert "2026-12-06" in results.split("\n## ", 1)[0], "RESULTS.md must say when the eval sets changed"
