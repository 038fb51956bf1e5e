"""The package layout holds: each subpackage imports only what the others name, LangChain enters
only through service/llm, and the page and the chain load without each other's heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"
PACKAGES = {"library", "chain", "llm", "eval", "page"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) for every `from X import ...` in a service module."""
    rel = path.relative_to(SERVICE.parent).with_suffix("")
    parts = list(rel.parts[:-1])  # the package a relative import starts from
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "service" and parts[1] in PACKAGES else None


MODULES = sorted(SERVICE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SERVICE)))
def test_no_underscore_names_cross_a_package(path: Path) -> None:
    here = _package_of(".".join(path.relative_to(SERVICE.parent).with_suffix("").parts))
    for module, names in _imports(path):
        there = _package_of(module)
        if there is None or there == here:
            continue
        assert not any(n.startswith("_") for n in names), f"{path.name} imports private {names} from {module}"
        private = [p for p in module.split(".")[2:] if p.startswith("_")]
        assert not private, f"{path.name} imports the private module {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SERVICE)))
def test_only_the_llm_package_imports_langchain(path: Path) -> None:
    if path.relative_to(SERVICE).parts[0] == "llm":
        return
    assert not [m for m, _ in _imports(path) if m.startswith("langchain")], path


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SERVICE)))
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 420, f"{path} is over ~400 lines"


@pytest.mark.parametrize(
    ("module", "absent"),
    [("service.page", "langchain"), ("service.chain", "gradio"), ("service.library", "langchain")],
)
def test_importing_a_part_leaves_the_others_unloaded(module: str, absent: str) -> None:
    code = f"import sys, {module}; print(any(m.split('.')[0].startswith({absent!r}) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"import {module} loaded {absent}"
