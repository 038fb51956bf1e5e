"""The answer cache: same question, documents, backend, model, prompts and code give the stored answer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..models import Comparison


def cache_key(**parts: Any) -> str:
    """A stable hash of everything that decides an answer."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# The code that decides an answer: a new version of the rules or the parse must not serve old answers.
ANSWER_CODE = tuple(Path(__file__).parent.parent / d for d in ("chain", "library", "llm"))


@lru_cache(maxsize=1)
def code_version(dirs: tuple[Path, ...] = ANSWER_CODE) -> str:
    """A short hash of the sources in `dirs`: part of the answer cache key."""
    h = hashlib.sha256()
    for d in dirs:
        for path in sorted(d.rglob("*.py")):
            h.update(path.relative_to(d.parent).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


class AnswerCache:
    """A small SQLite table in the data dir; safe for several processes (SQLite locks)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10)
        con.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")
        return con

    def get(self, key: str) -> Comparison | None:
        with self._connect() as con:
            row = con.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Comparison.model_validate_json(row[0])
        except ValueError:  # written by an older version: ignore, it will be replaced
            return None

    def put(self, key: str, answer: Comparison) -> None:
        with self._connect() as con:
            con.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, answer.model_dump_json()))
