"""The answer cache: same question, documents, backend, model and prompts give the stored answer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from ..models import Comparison


def cache_key(**parts: Any) -> str:
    """A stable hash of everything that decides an answer."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


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
