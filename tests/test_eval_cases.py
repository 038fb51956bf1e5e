"""The eval command, part two: comparing runs, the terminal summary, loading case files and the
project's own cases. Split from test_evaluate.py, which keeps whole runs, resume and the library."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from eval_fakes import (
    ANSWERABLE,
    CASES,
    FAILS,
    ONE_FAILED,
    FakeService,
    failing_on,
    run,
)

from service.errors import InputError
from service.eval import compare, summary
from service.eval.cases import Case, default_cases_path, load_cases
from service.eval.evaluate import eval_command
from service.eval.store import collection_name
from service.library.store import COLLECTION_RE
from service.settings import Settings


# --- compare --------------------------------------------------------------------------------------
def test_compare_shows_which_scores_moved(tmp_path: Path, settings: Settings) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    run(FakeService(), a, settings)
    run(FakeService(failing_on(FAILS.id)), b, settings)
    text = compare(a, b)
    drop = f"{1 / ANSWERABLE:.3f}"
    assert re.search(rf"side_f1\s+1\.000 → {re.escape(ONE_FAILED)} \(-{re.escape(drop)}\)", text)
    assert "grounding" in text.split("unchanged:")[1].splitlines()[0]  # no defined quote was ungrounded
    block = text.split(f"{FAILS.id}:")[1]
    assert "evidence_recall 1.000 → 0.000 (-1.000)" in block
    assert "grounding 1.000 → –" in block  # defined in A, undefined in B
    assert "now fails: ModelError: the model server went away" in block
    assert f"{len(CASES) - 1} case(s) unchanged" in text
    same = compare(a, a)
    assert f"\n  {len(CASES)} case(s) unchanged" in same and "only in" not in same


def test_summary_for_the_terminal(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    metrics = run(FakeService(failing_on(FAILS.id)), out, settings)
    text = summary(metrics, out)
    assert re.search(rf"^side F1 +{re.escape(ONE_FAILED)}$", text, re.MULTILINE)
    assert re.search(r"^claim fidelity +(1\.000|0\.99\d)$", text, re.MULTILINE)
    assert "evidence kept: retrieved 1.000 > placed " in text
    assert f"{len(CASES)} cases, 1 failed" in text and f"report: {out / 'report.md'}" in text


def test_compare_needs_finished_runs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a finished eval run"):
        compare(tmp_path, tmp_path)


# --- loading cases --------------------------------------------------------------------------------
def good_line() -> str:
    return (default_cases_path() / "smoke.jsonl").read_text(encoding="utf-8").splitlines()[0]


def bad_quote() -> str:
    case = json.loads(good_line())
    case["id"] = "bad"
    side = next(iter(case["points"][0]["accounts"]))
    case["points"][0]["accounts"][side]["evidence"][0]["quote"] = "words that are in no document"
    return json.dumps(case)


FIRST = json.loads(good_line())
FIRST_SIDE = re.escape(next(iter(FIRST["points"][0]["accounts"])))


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ("{not json", r"cases\.jsonl:2: invalid JSON"),
        (json.dumps({"id": "x", "question": "q", "answerable": False, "sides": [], "points": []}),
         r":2 \(x\): missing key 'documents'"),
        (bad_quote(),
         rf":2 \(bad\): points\[0\]\['{FIRST_SIDE}'\]: quote is not an exact substring"),
        (good_line(), rf":2 \({FIRST['id']}\): case id '{FIRST['id']}' already used at .*:1"),
        (json.dumps({**json.loads(good_line()), "id": "y", "notes": "x"}), r"unknown key 'notes'"),
    ],
)  # fmt: skip
def test_bad_case_files_get_clear_errors(tmp_path: Path, second_line: str, message: str) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(good_line() + "\n" + second_line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_cases(path)


def test_cases_from_a_directory_or_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no \.jsonl case files"):
        load_cases(tmp_path)
    with pytest.raises(InputError, match="no such cases file"):
        load_cases(tmp_path / "missing.jsonl")
    assert [c.id for c in load_cases(default_cases_path())] == [c.id for c in CASES]


def test_collection_names_are_valid_and_distinct() -> None:
    assert collection_name("a_plain-id") == "eval-a_plain-id"
    odd = [collection_name(x) for x in ("a b", "a/b", "a" * 80, "a" * 81, "é")]
    assert all(COLLECTION_RE.match(n) for n in odd)
    assert len(set(odd)) == len(odd)


def test_eval_command_defaults_and_backend(tmp_path: Path, settings: Settings) -> None:
    svc = FakeService()
    metrics = eval_command(None, tmp_path / "run", settings, backend="fake", limit=2, progress=False,
                           open_service=svc.opener())  # fmt: skip
    assert svc.settings[0].backend == "fake" and metrics.cases == 2
    assert json.loads((tmp_path / "run" / "run.json").read_text())["source"] == str(default_cases_path())
    with pytest.raises(InputError, match="unknown backend"):
        eval_command(None, tmp_path / "other", settings, backend="gpt", open_service=svc.opener())


# --- the project's own cases ----------------------------------------------------------------------
def test_own_cases_cover_what_the_issue_asks_for() -> None:
    answerable = [c for c in CASES if c.answerable]
    assert len(CASES) >= 8 and len(CASES) - len(answerable) >= 2
    assert {2, 3, 4} <= {len(c.sides) for c in answerable}
    assert any(len(p.accounts) == 1 for c in answerable for p in c.points)  # one-sided points

    # Several documents, with different documents carrying different sides.
    def sides_in(case: Case, doc: str) -> frozenset[str]:
        return frozenset(
            s for p in case.points for s, a in p.accounts.items() if any(e.doc == doc for e in a.evidence)
        )

    split = [c for c in answerable if len({sides_in(c, d.id) for d in c.documents}) > 1]
    assert len(split) >= 3
    injected = [c for c in CASES if any("Ignore previous instructions" in d.text for d in c.documents)]
    assert len(injected) == 1 and injected[0].answerable
    quotes = [e.quote for p in injected[0].points for a in p.accounts.values() for e in a.evidence]
    assert not any("cheese" in q or "Ignore previous" in q for q in quotes)


def test_smoke_cases_are_the_two_smallest_answerable() -> None:
    smoke = load_cases(default_cases_path() / "smoke.jsonl")
    size = {c.id: sum(len(d.text) for d in c.documents) for c in CASES if c.answerable}
    assert {c.id for c in smoke} == set(sorted(size, key=size.__getitem__)[:2])


def test_own_cases_pass_the_shared_checker(shared_dir: Path) -> None:
    for path in sorted(default_cases_path().glob("*.jsonl")):
        done = subprocess.run(
            [sys.executable, str(shared_dir / "eval" / "check.py"), str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout
        assert "WARNING" not in done.stdout
