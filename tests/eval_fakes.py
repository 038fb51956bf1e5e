"""Scripted stand-ins for the eval runner's service, shared by the eval tests: the project's own cases,
the answer their labels describe, and an in-memory service that can fail, or take its time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.errors import ModelError
from service.eval.cases import Case, default_cases_path, load_cases
from service.eval.evaluate import run_eval
from service.eval.store import EvalService
from service.library import IngestResult, Loaded, content_hash
from service.library.store import COLLECTION_RE
from service.models import Account, Candidate, Comparison, DocumentMeta, Point, Quote, Side, Stats
from service.settings import Settings

CASES = load_cases(default_cases_path())
ANSWERING = [c for c in CASES if c.answerable]
ANSWERABLE = len(ANSWERING)
ONE_FAILED = f"{1 - 1 / ANSWERABLE:.3f}"  # side F1 when one answerable case of all fails
BY_QUESTION = {c.question: c for c in CASES}
PNG = b"\x89PNG\r\n\x1a\n"
# Cases picked by their shape, never by name: the tests hold no text of the cases.
FAILS = ANSWERING[-1]  # the case a broken model server fails
RERUN = ANSWERING[len(ANSWERING) // 2]  # the case a resumed run runs again
ONE_DOC = next(c for c in ANSWERING if len(c.documents) == 1 and len(c.points[0].accounts) == 2)


def labelled_answer(case: Case, stored: dict[str, str]) -> Comparison:
    """The answer the labels describe, citing documents by their store ids (`stored`: text -> id)."""
    if not case.answerable:
        return Comparison(question=case.question, abstained=True, reason="no such dispute")
    texts = case.texts()
    points = []
    for p in case.points:
        accounts = {}
        for side, account in p.accounts.items():
            quotes = []
            for ev in account.evidence:
                start = texts[ev.doc].index(ev.quote)
                sid = stored[texts[ev.doc]]
                quotes.append(
                    Quote(doc=sid, start=start, end=start + len(ev.quote), text=ev.quote, title="T")
                )
            accounts[side] = Account(claim=account.claim, quotes=quotes)
        kind = "contradiction" if len(accounts) > 1 else "one_side_only"
        points.append(Point(topic=p.topic, kind=kind, accounts=accounts))
    # The chain considered every quoted sentence, and the opening of each document besides.
    quoted = [q for p in points for a in p.accounts.values() for q in a.quotes]
    candidates = [Candidate(doc=q.doc, start=q.start, end=q.end) for q in quoted]
    candidates += [Candidate(doc=sid, start=0, end=5) for sid in stored.values()]
    return Comparison(
        question=case.question,
        sides=[Side(name=s.name, speakers=s.aliases) for s in case.sides],
        points=points,
        candidates=candidates,
        stats=Stats(llm_calls=3, prompt_tokens=1200, completion_tokens=80),
    )


class FakeService:
    """Counterpoint's eval surface over an in-memory store; `answer` scripts what `ask` returns."""

    def __init__(self, answer: Callable[[Case, FakeService, str], Comparison] | None = None) -> None:
        self.answer = answer or (lambda case, svc, col: labelled_answer(case, svc.by_text(col)))
        self.docs: dict[str, dict[str, str]] = {}  # collection -> {doc id: text}
        self.asked: list[tuple[str, str]] = []
        self.dropped: list[str] = []
        self.settings: list[Settings] = []
        self.keep_on_drop = False
        self.delay: Callable[[Case], float] = lambda case: 0.0  # seconds each question takes
        self.spans: list[tuple[str, float, float]] = []  # (case id, asked, answered), in answer order

    def by_text(self, collection: str) -> dict[str, str]:
        return {t: i for i, t in self.docs.get(collection, {}).items()}

    def ingest(self, loaded: Loaded, collection: str = "default", doc_id: str | None = None) -> IngestResult:
        assert COLLECTION_RE.match(collection)
        docs = self.docs.setdefault(collection, {})
        digest = content_hash(loaded.text)
        for existing, text in docs.items():  # the real store's dedup by content hash
            if text == loaded.text:
                return IngestResult(meta=DocumentMeta(id=existing, content_hash=digest), created=False)
        assert doc_id and doc_id not in docs
        docs[doc_id] = loaded.text
        return IngestResult(
            meta=DocumentMeta(id=doc_id, content_hash=digest, title=loaded.title), created=True
        )

    def ask(
        self, question: str, collection: str = "default", on_progress: Any = None, use_cache: bool = True
    ) -> Comparison:
        assert use_cache is False
        case, asked = BY_QUESTION[question], time.perf_counter()
        self.asked.append((case.id, collection))
        if on_progress:
            on_progress("thinking", 0.5)
        time.sleep(self.delay(case))
        try:
            return self.answer(case, self, collection)
        finally:
            self.spans.append((case.id, asked, time.perf_counter()))

    def drop_collection(self, collection: str) -> None:
        self.dropped.append(collection)
        if not self.keep_on_drop:
            self.docs.pop(collection, None)

    def opener(self) -> Callable[[Settings], Any]:
        @contextmanager
        def open_service(settings: Settings) -> Iterator[EvalService]:
            self.settings.append(settings)
            yield self

        return open_service


def failing_on(case_id: str) -> Callable[[Case, FakeService, str], Comparison]:
    def answer(case: Case, svc: FakeService, col: str) -> Comparison:
        if case.id == case_id:
            raise ModelError("the model server went away")
        return labelled_answer(case, svc.by_text(col))

    return answer


def lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def run(svc: FakeService, out: Path, settings: Settings, cases: list[Case] = CASES, **kw: Any) -> Any:
    return run_eval(cases, out, svc.opener(), settings, progress=kw.pop("progress", False), **kw)
