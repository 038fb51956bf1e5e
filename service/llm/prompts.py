"""Prompt templates: YAML files in the top-level `prompts/`, rendered with Jinja StrictUndefined."""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict

from ..errors import SetupError

# The repo's prompts/ in a checkout or editable install; service/_prompts inside a built wheel.
_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "prompts",
    Path(__file__).resolve().parents[1] / "_prompts",
)


class Prompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int
    description: str
    variables: list[str]
    system: str = ""
    user: str = ""
    prefix: str = ""  # another prompt rendered first: calls that share it share the server's prompt cache

    def render(self, **values: Any) -> str:
        """The user message with `values`; every declared variable is required, no others allowed."""
        missing = set(self.variables) - set(values)
        extra = set(values) - set(self.variables)
        if missing or extra:
            raise ValueError(f"prompt {self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        own = _env().from_string(self.user).render(**values).strip()
        if not self.prefix:
            return own
        head = load(self.prefix)
        return head.render(**{k: values[k] for k in head.variables}) + "\n\n" + own


def prompt_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise SetupError("the prompts/ directory is missing from this installation")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@cache
def load(name: str) -> Prompt:
    """The prompt `prompts/NAME.yaml`."""
    path = prompt_dir() / f"{name}.yaml"
    if not path.is_file():
        raise SetupError(f"no prompt named {name!r} in {prompt_dir()}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"expected a mapping, got {type(data).__name__}")
        return Prompt(name=name, **data)
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise SetupError(f"the prompt file {path} is malformed: {exc}") from exc


def names() -> list[str]:
    return sorted(p.stem for p in prompt_dir().glob("*.yaml"))


@lru_cache(maxsize=1)
def version() -> str:
    """A short hash of every prompt file: part of the answer cache key and of the stats."""
    h = hashlib.sha256()
    for path in sorted(prompt_dir().glob("*.yaml")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def system() -> str:
    return load("_framing").system.strip()
