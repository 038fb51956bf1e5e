"""Ingest: loaders for files, directories, stdin and URLs, and storing documents exactly once."""

from __future__ import annotations

import codecs
import io
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from conftest import MODEL_DIR, NetworkBlockedError, StoreEnv, WebServer, free_port, make_pdf

from service.errors import InputError
from service.library import Loaded, content_hash, expand_paths, ingest, load_file, load_stream, load_url
from service.library.load import from_bytes
from service.settings import Settings

ARTICLE = [
    "Pakistan’s defence minister said on Friday that the talks had reached a complete impasse.",
    "“The Afghan delegation wanted verbal guarantees, but that is impossible,” he told reporters.",
    "The Afghan spokesperson rejected that account and said Pakistan shifted the burden onto Kabul.",
]
HTML = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Talks collapse in Istanbul | The Daily Test</title>
<meta property="og:title" content="Talks collapse in Istanbul">
<meta property="og:site_name" content="The Daily Test">
<meta property="article:published_time" content="2025-10-31T09:00:00Z">
</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Talks collapse in Istanbul</h1>
{"".join(f"<p>{p}</p>" for p in ARTICLE)}
</article><footer>Copyright The Daily Test. All rights reserved.</footer></body></html>"""


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- seed: ingest, list, no-op, exact text and offsets ------------------------------------------
def test_seed_roundtrip(store_env: StoreEnv, seed_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    with store_env.open() as store:
        loaded = load_file(seed_path, store_env.settings)
        first = ingest(
            store, store_env.collection, loaded, store_env.settings, on_progress=lambda *a: progress.append(a)
        )
        meta = first.meta
        assert first.created
        assert meta.id == content_hash(loaded.text)[:16]
        assert meta.title.startswith("Peace Talks Collapse")  # "News" is too short to be the title
        assert meta.source == str(seed_path)
        assert progress[-1] == (meta.n_chunks, meta.n_chunks)
        listing = store.list(store_env.collection)
        assert [m.id for m in listing] == [meta.id]

        again = ingest(
            store, store_env.collection, load_file(seed_path, store_env.settings), store_env.settings
        )
        assert not again.created
        assert again.meta == meta
        assert store.list(store_env.collection) == listing

        doc = store.get(store_env.collection, meta.id)
        assert doc.text.encode("utf-8") == seed_path.read_bytes()
        chunks = store.chunks_of(store_env.collection, meta.id)
        assert len(chunks) == meta.n_chunks > 1
        assert all(doc.text[c.start : c.end] == c.text for c in chunks)


def test_explicit_id(store_env: StoreEnv, seed_path: Path) -> None:
    with store_env.open() as store:
        loaded = load_file(seed_path, store_env.settings)
        meta = ingest(
            store, store_env.collection, loaded, store_env.settings, doc_id="seed-1", title="T"
        ).meta
        assert (meta.id, meta.title) == ("seed-1", "T")
        # The same text under another id is still the same document: a no-op that names the stored one.
        again = ingest(store, store_env.collection, loaded, store_env.settings, doc_id="seed-2")
        assert (again.created, again.meta.id) == (False, "seed-1")
        with pytest.raises(InputError, match="bad document id"):
            ingest(
                store,
                store_env.collection,
                Loaded(text="Other text.", source="t"),
                store_env.settings,
                doc_id="a b",
            )
        with pytest.raises(InputError, match="already exists"):
            ingest(
                store,
                store_env.collection,
                Loaded(text="Other text.", source="t"),
                store_env.settings,
                doc_id="seed-1",
            )
        assert [m.id for m in store.list(store_env.collection)] == ["seed-1"]
        assert store.get(store_env.collection, "seed-1").text == loaded.text


def test_nothing_to_index_is_refused(store_env: StoreEnv) -> None:
    with store_env.open() as store:
        with pytest.raises(InputError, match="no text to index"):
            ingest(store, store_env.collection, Loaded(text=" \n\u00a0", source="t"), store_env.settings)
        assert store.list(store_env.collection) == []


# --- files --------------------------------------------------------------------------------------
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty.txt": (b"", "is empty"),
    "blank.txt": (b" \n\t\r\n ", "is empty"),
    "binary.txt": (b"GIF89a\x00\x01\x02\x00" + bytes(range(256)), "looks binary"),
    "noise.txt": (bytes(range(1, 256)) * 4, "looks binary"),
    "image.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64, "looks binary"),
    "broken.pdf": (b"%PDF-1.4\nnot really a pdf", "not a readable PDF"),
    "blank.html": (
        b"<html><head><title>T</title></head><body><script>x=1</script></body></html>",
        "no article text",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_refused(tmp_path: Path, settings: Settings, name: str) -> None:
    data, message = BAD_FILES[name]
    with pytest.raises(InputError, match=message):
        load_file(write(tmp_path / name, data), settings)


def test_missing_file_and_directory_are_refused(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_file(tmp_path / "nope.txt", settings)
    with pytest.raises(InputError, match="not a regular file"):
        load_file(tmp_path, settings)


def test_oversized_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERPOINT_MAX_FILE_MB", "0.001")  # 1,048 bytes
    settings = Settings()
    ok = write(tmp_path / "ok.txt", b"Short enough to pass. " * 40)
    assert load_file(ok, settings).text.startswith("Short")
    big = write(tmp_path / "big.txt", b"Too long to pass here. " * 50)
    with pytest.raises(InputError, match=r"over the 0\.001 MB limit"):
        load_file(big, settings)
    with pytest.raises(InputError, match=r"over the 0\.001 MB limit"):
        load_stream(io.BytesIO(big.read_bytes()), "stdin", settings)


def test_text_is_kept_exactly(tmp_path: Path, settings: Settings) -> None:
    raw = "Title line that is long\r\n\r\nTabs\there, nbsp\u00a0here, emoji 😀.\r\n".encode()
    loaded = load_file(write(tmp_path / "exact.md", raw), settings)
    assert loaded.text.encode("utf-8") == raw and loaded.encoding == "utf-8"
    assert loaded.title == "Title line that is long"
    # A UTF-8 byte-order mark is how the file was saved, not part of the text; nothing else changes.
    marked = load_file(write(tmp_path / "marked.md", codecs.BOM_UTF8 + raw), settings)
    assert (marked.text, marked.title, marked.encoding) == (loaded.text, loaded.title, "utf-8-sig")


def test_title_falls_back_to_the_file_name(tmp_path: Path, settings: Settings) -> None:
    assert load_file(write(tmp_path / "brief-note.txt", b"Short.\nTiny."), settings).title == "brief-note"


def test_html_file_gives_text_and_metadata(tmp_path: Path, settings: Settings) -> None:
    loaded = load_file(write(tmp_path / "page.html", HTML.encode()), settings)
    assert (loaded.title, loaded.outlet, loaded.date) == (
        "Talks collapse in Istanbul",
        "The Daily Test",
        "2025-10-31",
    )
    assert all(p in loaded.text for p in ARTICLE)
    assert "Home" not in loaded.text and "Copyright" not in loaded.text


def test_pdf_file_gives_its_text(tmp_path: Path, settings: Settings) -> None:
    lines = ["Pakistan said the talks failed (again).", "Afghanistan blamed Pakistan for it."]
    loaded = load_file(write(tmp_path / "talks.pdf", make_pdf(lines, title="Talks PDF")), settings)
    assert loaded.text.splitlines() == lines
    assert loaded.title == "Talks PDF"


@pytest.mark.parametrize(
    ("name", "mangle"),
    [
        ("blank page", lambda pdf: make_pdf([])),
        ("hex length", lambda pdf: re.sub(rb"/Length \d+", b"/Length <18>", pdf)),
        ("broken trailer", lambda pdf: pdf.replace(b"trailer\n", b"trailer4")),
        ("truncated", lambda pdf: pdf[: len(pdf) // 2]),
    ],
)
def test_malformed_pdfs_are_input_errors(settings: Settings, name: str, mangle: Any) -> None:
    data = mangle(make_pdf(["Some text that would be there."]))
    with pytest.raises(InputError, match="PDF"):
        from_bytes(data, "bad.pdf", "bad.pdf")


def test_pdf_is_detected_by_content_too() -> None:
    assert from_bytes(make_pdf(["Hidden PDF text."]), "upload.bin", "upload").text == "Hidden PDF text."


# --- directories and stdin ----------------------------------------------------------------------
def test_directory_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / ".hidden-parent" / "articles"
    for name in ["b.md", "a.txt", "c.HTML", "d.pdf", "sub/e.txt", "skip.jpg", ".secret.txt", ".git/x.txt"]:
        write(root / name, b"x")
    expected = [root / n for n in ["a.txt", "b.md", "c.HTML", "d.pdf", "sub/e.txt"]]
    assert expand_paths([root]) == expected
    # A directory reached through `..` or living under a hidden folder is still searched.
    monkeypatch.chdir(root / "sub")
    assert expand_paths([Path("..")]) == [Path("..") / p.relative_to(root) for p in expected]
    single = root / "a.txt"
    assert expand_paths([single, root / "sub"]) == [single, root / "sub" / "e.txt"]
    write(tmp_path / "empty" / "notes.jpg", b"x")
    with pytest.raises(InputError, match=r"no \.txt, \.md, \.html or \.pdf files inside"):
        expand_paths([tmp_path / "empty"])


def test_stdin(settings: Settings) -> None:
    loaded = load_stream(io.BytesIO("Pasted text, “quoted”.\n".encode()), "stdin", settings)
    assert (loaded.text, loaded.source) == ("Pasted text, “quoted”.\n", "stdin")
    with pytest.raises(InputError, match="stdin is empty"):
        load_stream(io.BytesIO(b""), "stdin", settings)
    legacy = load_stream(io.BytesIO(b"caf\xe9 cr\xe8me"), "stdin", settings)  # saved in windows-1252
    assert (legacy.text, legacy.encoding) == ("café crème", "cp1252")
    with pytest.raises(InputError, match="looks binary"):
        load_stream(io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "stdin", settings)


# --- URLs ---------------------------------------------------------------------------------------
def allowing_loopback(settings: Settings) -> Settings:
    """The test's web server is on loopback, which URL ingest refuses unless allowed (see test_ssrf)."""
    return settings.model_copy(update={"allow_private_urls": True})


def test_urls_from_a_loopback_server(web_server: WebServer, settings: Settings) -> None:
    settings = allowing_loopback(settings)
    web_server.pages["/article"] = (200, "text/html; charset=utf-8", HTML.encode())
    web_server.pages["/plain"] = (200, "text/plain", "Plain text, “exact”.\r\n".encode())
    web_server.pages["/doc"] = (200, "application/pdf", make_pdf(["Served PDF text."]))
    html = load_url(f"{web_server.base}/article", settings)
    assert (html.title, html.outlet, html.url) == (
        "Talks collapse in Istanbul",
        "The Daily Test",
        f"{web_server.base}/article",
    )
    assert all(p in html.text for p in ARTICLE)
    plain = load_url(f"{web_server.base}/plain", settings)
    assert plain.text == "Plain text, “exact”.\r\n"
    assert plain.url == plain.source == f"{web_server.base}/plain"
    assert load_url(f"{web_server.base}/doc", settings).text == "Served PDF text."


def test_bad_urls_are_refused(
    web_server: WebServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNTERPOINT_ALLOW_PRIVATE_URLS", "true")
    settings = Settings()
    with pytest.raises(InputError, match=r"cannot fetch .*404"):
        load_url(f"{web_server.base}/missing", settings)
    with pytest.raises(InputError, match="cannot fetch"):
        load_url(f"http://127.0.0.1:{free_port()}/closed", settings)
    with pytest.raises(InputError, match="only http"):
        load_url("ftp://127.0.0.1/file.txt", settings)
    web_server.pages["/big"] = (200, "text/plain", b"Too long. " * 500)
    monkeypatch.setenv("COUNTERPOINT_MAX_FILE_MB", "0.001")
    with pytest.raises(InputError, match=r"over the 0\.001 MB limit"):
        load_url(f"{web_server.base}/big", Settings())


def test_url_ingest_stores_the_url(store_env: StoreEnv, web_server: WebServer) -> None:
    web_server.pages["/a"] = (200, "text/html", HTML.encode())
    with store_env.open() as store:
        loaded = load_url(f"{web_server.base}/a", allowing_loopback(store_env.settings))
        meta = ingest(store, store_env.collection, loaded, store_env.settings).meta
        stored = store.meta(store_env.collection, meta.id)
        assert (stored.url, stored.outlet, stored.date) == (
            f"{web_server.base}/a",
            "The Daily Test",
            "2025-10-31",
        )
        text = store.get(store_env.collection, meta.id).text
        assert all(text[c.start : c.end] == c.text for c in store.chunks_of(store_env.collection, meta.id))


# --- the harness itself: these guards are what keep every other test offline and isolated ------
def test_network_is_blocked_but_loopback_is_not(
    no_network: list[str], web_server: WebServer, settings: Settings
) -> None:
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("198.51.100.7", 80), timeout=1)
    with pytest.raises(NetworkBlockedError), socket.socket() as s:
        s.connect(("203.0.113.5", 443))
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(NetworkBlockedError):
        load_url("https://example.com/article", settings)
    assert len(no_network) == 4
    no_network.clear()  # the attempts were the point here; the teardown check would fail them
    web_server.pages["/ok"] = (200, "text/plain", b"Loopback is fine.")
    assert (
        load_url(f"{web_server.base.replace('127.0.0.1', 'localhost')}/ok", allowing_loopback(settings)).text
        == "Loopback is fine."
    )


def test_environment_is_isolated(settings: Settings, isolated_env: Path) -> None:
    assert settings.data_dir == isolated_env
    assert settings.model_dir == MODEL_DIR
    assert settings.resolved_backend == "local" and settings.chroma_host is None
    leaked = {k for k in os.environ if k.startswith("COUNTERPOINT_")} - {
        "COUNTERPOINT_DATA_DIR",
        "COUNTERPOINT_MODEL_DIR",
    }
    assert not leaked and "OPENAI_API_KEY" not in os.environ
