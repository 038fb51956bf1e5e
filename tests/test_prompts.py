"""Tests for service/prompts.py and prompts/*.yaml: every prompt renders strictly, the version follows
the files, and the built wheel carries the prompts and the eval cases."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from service.chain.draft import Citation, Draft, DraftAccount, DraftPoint, DraftSide
from service.chain.strategies.voices import Voice
from service.errors import SetupError
from service.llm import prompts
from service.llm.prompts import Prompt
from service.models import Statement

REPO = Path(__file__).resolve().parents[1]
QUESTION = "Why did the Istanbul talks between Afghanistan and Pakistan fail?"


def _statement(sid: str, text: str, speaker: str) -> Statement:
    return Statement(sid=sid, doc_id="d", start=0, end=len(text), text=text, speaker=speaker)


ASIF = _statement("S4", "“Verbal guarantees are impossible,” Asif stated.", "Khawaja Asif")
MUJAHID = _statement("S9", "Mujahid said Pakistan shifted the burden of its security.", "Zabihullah Mujahid")
ERROR = "answerable: Field required"
DRAFT = Draft(
    answerable=True,
    sides=[DraftSide(name="Pakistan", speakers=["Khawaja Asif"]), DraftSide(name="Afghanistan")],
    points=[
        DraftPoint(
            topic="Guarantees",
            kind="contradiction",
            accounts=[
                DraftAccount(
                    side="Pakistan", claim="verbal guarantees are impossible", citations=[Citation(id="S4")]
                ),
                DraftAccount(
                    side="Afghanistan", claim="Pakistan shifted the burden", citations=[Citation(id="S9")]
                ),
            ],
        )
    ],
)
# A value for every variable a prompt may declare, and text that must then show in the output.
SAMPLES: dict[str, tuple[Any, str]] = {
    "question": (QUESTION, QUESTION),
    "statements": ([ASIF, MUJAHID], MUJAHID.text),
    "accounts": ({"Pakistan": [ASIF], "Afghanistan": [MUJAHID]}, MUJAHID.text),
    "error": (ERROR, ERROR),
    "sides": (["backers of the levy", "critics of the levy"], "critics of the levy"),
    "placed": ({"S4": "Pakistan", "S9": "Afghanistan"}, "side: Afghanistan."),
    "draft": (DRAFT, '- Afghanistan: "Pakistan shifted the burden" [S9]'),
    "speakers": (
        [Voice("v1", "Ana Ruse", "Ana Ruse said the levy was unfair.")],
        '[v1] Ana Ruse: "Ana Ruse said',
    ),
}


def _clear_caches() -> None:
    prompts.load.cache_clear()
    prompts.version.cache_clear()


# --- every prompt file --------------------------------------------------------------------------
def test_prompt_files_exist() -> None:
    names = prompts.names()
    assert {"_framing", "batch", "reask"} <= set(names)
    assert names == sorted(p.stem for p in (REPO / "prompts").glob("*.yaml"))


@pytest.mark.parametrize("name", prompts.names())
def test_prompt_renders_with_its_declared_variables(name: str) -> None:
    prompt = prompts.load(name)
    unknown = set(prompt.variables) - set(SAMPLES)
    assert not unknown, f"add a sample value for {sorted(unknown)} to SAMPLES"
    rendered = prompt.render(**{v: SAMPLES[v][0] for v in prompt.variables})
    assert "{{" not in rendered and "{%" not in rendered
    for variable in prompt.variables:  # a declared variable is used
        assert SAMPLES[variable][1] in rendered, f"{name}: {variable!r} does not show in the prompt"
    assert rendered or prompt.system, f"{name} has neither a system nor a user message"


@pytest.mark.parametrize("name", prompts.names())
def test_prompt_rejects_missing_and_undeclared_variables(name: str) -> None:
    prompt = prompts.load(name)
    values = {v: SAMPLES[v][0] for v in prompt.variables}
    if values:
        missing = dict(values)
        dropped = sorted(missing)[0]
        del missing[dropped]
        with pytest.raises(ValueError, match=f"missing \\['{dropped}'\\]"):
            prompt.render(**missing)
    with pytest.raises(ValueError, match=r"unexpected \['surprise'\]"):
        prompt.render(**values, surprise="x")


def test_prompt_files_hold_only_known_keys() -> None:
    for path in (REPO / "prompts").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data) <= set(Prompt.model_fields) - {"name"}, path.name
        assert isinstance(data["version"], int) and data["description"].strip(), path.name


def test_a_prefix_is_rendered_first_so_calls_share_it() -> None:
    claims = {v: SAMPLES[v][0] for v in prompts.load("claims").variables}
    shared = prompts.load("_context").render(question=QUESTION, statements=claims["statements"])
    assert prompts.load("claims").render(**claims).startswith(shared + "\n\n")
    other = prompts.load("claims").render(**{**claims, "accounts": {"Pakistan": [ASIF]}})
    assert other.startswith(shared + "\n\n") and other != prompts.load("claims").render(**claims)


def test_system_message_is_the_framing() -> None:
    assert prompts.system() == prompts.load("_framing").system.strip() != ""


def test_strict_undefined_inside_a_template() -> None:
    typo = Prompt(
        name="t", version=1, description="d", variables=["question"], user="{{ question }} {{ qestion }}"
    )
    with pytest.raises(jinja2.UndefinedError):
        typo.render(question=QUESTION)
    attribute = Prompt(
        name="t", version=1, description="d", variables=["statement"], user="{{ statement.quote }}"
    )
    with pytest.raises(jinja2.UndefinedError):
        attribute.render(statement=ASIF)


def test_article_text_is_not_a_template() -> None:
    sneaky = _statement("S1", "Officials said {{ question }} and {% raw %} twice.", "")
    rendered = prompts.load("batch").render(question=QUESTION, statements=[sneaky])
    assert sneaky.text in rendered


# --- where prompts come from, and their version -------------------------------------------------
@pytest.fixture
def prompt_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of prompts/ that the module reads instead of the real one."""
    copy = tmp_path / "prompts"
    shutil.copytree(prompts.prompt_dir(), copy)
    monkeypatch.setattr(prompts, "_CANDIDATES", (copy,))
    _clear_caches()
    yield copy
    monkeypatch.undo()
    _clear_caches()


def test_version_follows_the_prompt_files(prompt_copy: Path) -> None:
    original = prompts.version()
    assert len(original) == 12
    batch = prompt_copy / "batch.yaml"
    text = batch.read_text(encoding="utf-8")

    batch.write_text(text.replace("point by point", "point-by-point"), encoding="utf-8")
    _clear_caches()
    edited = prompts.version()
    assert edited != original
    assert "point-by-point" in prompts.load("batch").render(question=QUESTION, statements=[ASIF])

    batch.write_text(text, encoding="utf-8")
    _clear_caches()
    assert prompts.version() == original  # content, not modification time

    (prompt_copy / "extra.yaml").write_text("version: 1\ndescription: x\nvariables: []\n", encoding="utf-8")
    _clear_caches()
    assert prompts.version() not in (original, edited)


def test_version_of_an_identical_copy_is_the_same(prompt_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copied = prompts.version()
    monkeypatch.setattr(prompts, "_CANDIDATES", (REPO / "prompts",))
    _clear_caches()
    assert prompts.version() == copied


def test_missing_prompts_are_a_setup_error(prompt_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SetupError, match="no prompt named 'nonexistent'"):
        prompts.load("nonexistent")
    monkeypatch.setattr(prompts, "_CANDIDATES", (prompt_copy.parent / "absent",))
    _clear_caches()
    with pytest.raises(SetupError, match="prompts/ directory is missing"):
        prompts.load("batch")


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ("version: 1\ndescription: [unclosed\n", "malformed"),  # not YAML
        ("- just\n- a list\n", "expected a mapping"),
        ("version: 1\ndescription: x\nvariables: []\nsurprise: 1\n", "malformed"),  # unknown key
    ],
)
def test_malformed_prompt_files_are_a_setup_error(prompt_copy: Path, content: str, detail: str) -> None:
    (prompt_copy / "broken.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(SetupError, match=detail) as caught:
        prompts.load("broken")
    assert "broken.yaml" in str(caught.value)


# --- the built wheel ----------------------------------------------------------------------------
def test_wheel_carries_prompts_and_cases(tmp_path: Path) -> None:
    builders = pytest.importorskip(
        "hatchling.builders.wheel", reason="hatchling (a dev dependency) builds the wheel offline"
    )
    [wheel] = [Path(p) for p in builders.WheelBuilder(str(REPO)).build(directory=str(tmp_path / "dist"))]
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp_path / "site")
    expected_prompts = {f"service/_prompts/{p.name}" for p in (REPO / "prompts").glob("*.yaml")}
    expected_cases = {f"service/_cases/{p.name}" for p in (REPO / "eval" / "cases").glob("*.jsonl")}
    assert expected_prompts and expected_prompts <= names
    assert expected_cases and expected_cases <= names

    # Installed from the wheel (no checkout around it), the package finds both on its own.
    probe = (
        "import json, service, service.llm.prompts as p, service.eval.cases as c; "
        "print(json.dumps([service.__file__, str(p.prompt_dir()), p.version(), str(c.default_cases_path())]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    module, prompt_dir, version, cases_dir = json.loads(out.stdout)
    site = tmp_path / "site" / "service"
    assert Path(module).parent == site
    assert Path(prompt_dir) == site / "_prompts" and Path(cases_dir) == site / "_cases"
    assert version == prompts.version()
