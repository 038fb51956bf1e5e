"""Eval cases and predictions: the formats of ../shared/eval/FORMAT.md, loaded with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import InputError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    # FORMAT.md allows extra fields in predictions; keep them so a file round-trips unchanged.
    model_config = ConfigDict(extra="allow")


# --- cases (FORMAT.md "A case") ---------------------------------------------------------------
class Evidence(Strict):
    doc: str
    quote: str = Field(min_length=1)


class LabelAccount(Strict):
    claim: str
    evidence: list[Evidence] = Field(min_length=1)


class LabelPoint(Strict):
    topic: str
    accounts: dict[str, LabelAccount] = Field(min_length=1)


class LabelSide(Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)


class CaseDocument(Strict):
    id: str = Field(min_length=1)
    title: str
    source: str
    license: str
    text: str = Field(min_length=1)


class Case(Strict):
    """One labelled case; every evidence quote is checked to be an exact substring of its document."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answerable: bool
    documents: list[CaseDocument] = Field(min_length=1)
    sides: list[LabelSide]
    points: list[LabelPoint]

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        texts = self.texts()
        if len(texts) != len(self.documents):
            raise ValueError("document ids must be unique within a case")
        if not self.answerable and (self.sides or self.points):
            raise ValueError("an unanswerable case has no sides and no points")
        if self.answerable and (len(self.sides) < 2 or not self.points):
            raise ValueError("an answerable case needs at least 2 sides and 1 point")
        names = {s.name for s in self.sides}
        if len({fold(n) for n in names}) != len(self.sides):
            raise ValueError("side names must be unique (case-insensitive)")
        for pi, point in enumerate(self.points):
            for side, account in point.accounts.items():
                if side not in names:
                    raise ValueError(f"points[{pi}]: {side!r} is not one of the case's sides")
                for ev in account.evidence:
                    if ev.doc not in texts:
                        raise ValueError(f"points[{pi}][{side!r}]: unknown document {ev.doc!r}")
                    if ev.quote not in texts[ev.doc]:
                        raise ValueError(
                            f"points[{pi}][{side!r}]: quote is not an exact substring of "
                            f"{ev.doc!r}: {ev.quote[:80]!r}"
                        )
        return self

    def texts(self) -> dict[str, str]:
        """Document texts by id."""
        return {d.id: d.text for d in self.documents}


# --- predictions (FORMAT.md "A prediction") ---------------------------------------------------
class PredQuote(Open):
    doc: str
    start: int
    end: int
    text: str
    why: dict[str, str] | None = None  # an extra field: how its speaker and side were found


class PredAccount(Open):
    claim: str = ""
    quotes: list[PredQuote] = Field(default_factory=list)


class PredPoint(Open):
    topic: str = ""
    accounts: dict[str, PredAccount] = Field(default_factory=dict)


class PredSide(Open):
    name: str
    speakers: list[str] = Field(default_factory=list)


class PredStats(Open):
    latency_s: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0  # an extra field: failed tries repeated (a timed-out call is a retry, not a call)


class PredCandidate(Open):
    """A sentence the chain considered (an extra field the eval runner writes, for stage diagnostics)."""

    doc: str
    start: int
    end: int
    why: dict[str, str] | None = None  # its speaker, and its side or why it has none


class Prediction(Open):
    """One line of predictions.jsonl; `error` marks a case that failed (not abstained, no sides).

    Extra fields the runner writes: `candidates` (None when unknown: the stage diagnostics then leave
    retrieval out), `partial` (the answer lost part of its model work) and `notes` (what, in words)."""

    id: str
    abstained: bool = False
    sides: list[PredSide] = Field(default_factory=list)
    points: list[PredPoint] = Field(default_factory=list)
    stats: PredStats = Field(default_factory=PredStats)
    error: str | None = None
    candidates: list[PredCandidate] | None = None
    partial: bool = False
    notes: list[str] = Field(default_factory=list)


def fold(name: str) -> str:
    """Case-insensitive, whitespace-folded form of a name (NBSP counts as whitespace)."""
    return " ".join(name.split()).casefold()


# --- files ---------------------------------------------------------------------------------------
def default_cases_path() -> Path:
    """The project's own cases: packaged inside the wheel, or `eval/cases` in a checkout."""
    packaged = Path(__file__).resolve().parents[1] / "_cases"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "eval" / "cases"


def describe(exc: ValidationError) -> str:
    """The first few problems of a validation error, in words."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            parts.append(f"missing key {where!r}")
        elif err["type"] == "extra_forbidden":
            parts.append(f"unknown key {where!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def load_cases(path: Path) -> list[Case]:
    """Cases from a .jsonl file, or from every .jsonl file in a directory; clear errors with line numbers."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise InputError(f"{path}: no .jsonl case files inside")
    elif path.is_file():
        files = [path]
    else:
        raise InputError(f"{path}: no such cases file")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for file in files:
        for ln, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{file}:{ln}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})") from None
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                where += f" ({raw['id']})"
            try:
                case = Case.model_validate(raw)
            except ValidationError as exc:
                raise InputError(f"{where}: {describe(exc)}") from None
            if case.id in seen:
                raise InputError(f"{where}: case id {case.id!r} already used at {seen[case.id]}")
            seen[case.id] = where
            cases.append(case)
    if not cases:
        raise InputError(f"{path}: no cases")
    return cases


def read_predictions(path: Path) -> dict[str, tuple[str, Prediction]]:
    """Each case's last line (as written) and its prediction; a cut-off last line is ignored."""
    out: dict[str, tuple[str, Prediction]] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for ln, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            pred = Prediction.model_validate_json(line)
        except ValidationError as exc:
            if ln == len(lines):  # an interrupted write: that case simply runs again
                continue
            raise InputError(f"{path}:{ln}: not a prediction ({describe(exc)})") from None
        out[pred.id] = (line, pred)
    return out
