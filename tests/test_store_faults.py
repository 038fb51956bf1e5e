"""Store faults: a Chroma server that is down at start or goes away mid-ingest, and `counterpoint ingest`
killed mid-ingest in embedded mode. Afterwards every stored document is whole or absent, a re-run
completes the ingest, and nothing is duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ChromaProcess, assert_whole_or_absent, free_port, wait_until
from test_server_processes import article
from typer.testing import CliRunner

from service.cli import app
from service.library import content_hash
from service.library.store import open_store
from service.settings import Settings

COUNTERPOINT = Path(sys.executable).parent / "counterpoint"
# One chunk per document keeps embedding cheap, so the run is mostly loading, splitting and writing;
# 60 documents of ~18 kB make three ingest groups (service.library.ingest.GROUP_CHARS).
BIG_CHUNKS = {"COUNTERPOINT_CHUNK_SIZE": "20000"}
N_DOCS = 60


def corpus(folder: Path) -> dict[str, str]:
    """Invented articles in `folder`; returns id (as the CLI derives it) -> text."""
    folder.mkdir()
    texts = {}
    for n in range(N_DOCS):
        text = article(n, paragraphs=40)
        (folder / f"{n:03d}.txt").write_text(text, encoding="utf-8")
        texts[content_hash(text)[:16]] = text
    return texts


def start_ingest(folder: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(COUNTERPOINT), "ingest", "-c", "faults", str(folder)],
        env={**os.environ, **BIG_CHUNKS, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rerun(folder: Path, env: dict[str, str]) -> list[str]:
    """A second, undisturbed ingest of the same folder: it must complete."""
    proc = start_ingest(folder, env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return [line.split("\t")[1] for line in out.splitlines()]


# --- a server that is not there -----------------------------------------------------------------
@pytest.mark.parametrize("args", [["list"], ["ingest", "-"], ["ask", "Who said what?"]], ids=lambda a: a[0])
def test_a_server_down_at_start_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    port = free_port()
    monkeypatch.setenv("COUNTERPOINT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("COUNTERPOINT_CHROMA_PORT", str(port))
    started = time.monotonic()
    result = CliRunner().invoke(app, args, input=b"Some text.", catch_exceptions=False)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert f"cannot reach the Chroma server at 127.0.0.1:{port}" in lines[0]
    assert result.stdout == ""
    assert time.monotonic() - started < 30, "an unreachable server must fail fast, not hang"


# --- a server that goes away in the middle ------------------------------------------------------
@pytest.mark.e2e
def test_a_server_killed_mid_ingest(chroma_process: ChromaProcess, tmp_path: Path) -> None:
    texts = corpus(tmp_path / "articles")
    proc = start_ingest(tmp_path / "articles", chroma_process.env)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first group is committed; the next one is on its way
    assert "\tadded\t" in first, proc.communicate()[1]
    settings = chroma_process.settings()
    with open_store(settings) as store:
        chunk_col = store._chunks("faults")
        written = len(chunk_col.get(include=[])["ids"])
        # Kill as soon as the next group's chunk records land, before or while it commits.
        wait_until(lambda: len(chunk_col.get(include=[])["ids"]) > written, timeout=120, interval=0.02)
    chroma_process.kill()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1, (out, err)
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"127.0.0.1:{chroma_process.port}" in last, err

    chroma_process.start()  # the same data and port
    with open_store(settings) as store:
        stored = assert_whole_or_absent(store, "faults", texts)
        assert 0 < len(stored) < len(texts)
    verbs = rerun(tmp_path / "articles", chroma_process.env)
    assert verbs.count("added") == len(texts) - len(stored)
    with open_store(settings) as store:
        assert assert_whole_or_absent(store, "faults", texts) == set(texts)


# --- the ingest process killed, embedded mode ---------------------------------------------------
@pytest.mark.e2e
def test_an_ingest_killed_mid_write_in_embedded_mode(tmp_path: Path, settings: Settings) -> None:
    texts = corpus(tmp_path / "articles")
    proc = start_ingest(tmp_path / "articles", {})
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "\tadded\t" in first, proc.communicate()[1]
    db = settings.data_dir / "chroma"

    def stamp() -> tuple[tuple[str, int], ...]:
        # SQLite's journal comes and goes as the ingest writes: a file that vanishes between the
        # listing and its stat is itself a write, so it leaves the stamp rather than raising.
        marks = []
        for path in sorted(db.glob("chroma.sqlite3*")):
            try:
                marks.append((path.name, path.stat().st_mtime_ns))
            except FileNotFoundError:
                continue
        return tuple(marks)

    before = stamp()
    # Kill as soon as the next group starts writing.
    wait_until(lambda: stamp() != before or proc.poll() is not None, timeout=120, interval=0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with open_store(settings.model_copy(update={"chunk_size": 20000})) as store:  # the lock was freed
        stored = assert_whole_or_absent(store, "faults", texts)
        assert 0 < len(stored) < len(texts)
    verbs = rerun(tmp_path / "articles", {})
    assert verbs.count("added") == len(texts) - len(stored)
    with open_store(settings) as store:
        assert assert_whole_or_absent(store, "faults", texts) == set(texts)
