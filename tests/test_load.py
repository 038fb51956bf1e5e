"""Load on the page's API (fake backend): twenty questions at once and an ingest in the middle. Every
question is answered (queued, not dropped), each answer is to its own question, the ingest is whole."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_page_security import launched

from service.core import Counterpoint, open_service
from service.library import Loaded
from service.models import Comparison
from service.settings import Settings

ARTICLE = (
    "Ferry timetable row in Ottervale\n\n"
    "The Ottervale ferry company and the Island Residents' Association clashed on Monday over the winter "
    "timetable. Company director Lise Holm said the late sailing had to go because too few people used "
    "it. “The last boat runs empty most nights,” Holm said. Association chair Per Vang said the company "
    "had never counted the passengers properly. “Nurses take that boat home after their shifts,” Vang "
    "said. According to Vang, the company wants to sell one of its two ferries."
)
SECOND = (
    "Ottervale ferry talks resume\n\n"
    "The Ottervale ferry company said on Wednesday that it would meet the Island Residents' Association "
    "again. Director Lise Holm said a trial of the late sailing was possible. Association chair Per Vang "
    "said a trial was not enough and that the timetable must be fixed for the whole winter. "
) * 6  # several chunks, so a torn write would show
N = 20


@pytest.fixture
def app(
    monkeypatch: pytest.MonkeyPatch, isolated_env: Path, tmp_path: Path
) -> Iterator[tuple[Counterpoint, str]]:
    monkeypatch.setenv("COUNTERPOINT_BACKEND", "fake")
    with open_service(Settings()) as service:
        service.ingest(Loaded(text=ARTICLE, source="saltmere.txt", title="Ferry timetable row"))
        with launched(service, service.settings, tmp_path / "exports") as url:
            yield service, url


def call(url: str, api: str, data: list[Any]) -> tuple[str, Any, float]:
    """One call of a named endpoint over plain HTTP: (event, payload, seconds), event being
    `complete` or `error`."""
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=600) as client:
        event_id = client.post(f"gradio_api/call/{api}", json={"data": data}).json()["event_id"]
        event, payload = "", None
        with client.stream("GET", f"gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ").strip()
                elif line.startswith("data: ") and event in ("complete", "error"):
                    payload = json.loads(line.removeprefix("data: "))
                    break
    return event, payload, time.monotonic() - started


def test_twenty_questions_and_an_ingest_at_once(app: tuple[Counterpoint, str]) -> None:
    service, url = app
    questions = [
        f"What do the Ottervale ferry company and the Island Residents' Association say, case {i}?"
        for i in range(N)
    ]
    with ThreadPoolExecutor(max_workers=N + 1) as pool:
        asks = [pool.submit(call, url, "ask", [q, "default"]) for q in questions]
        time.sleep(0.2)  # the ingest arrives while the questions are queued or running
        ingest = pool.submit(call, url, "ingest", [SECOND, "", None, "default", "Ferry talks resume", "", ""])
        results = [f.result(timeout=900) for f in asks]
        added = ingest.result(timeout=900)

    for question, (event, payload, _) in zip(questions, results, strict=True):
        assert event == "complete", payload
        answer = Comparison.model_validate(payload[0])
        assert answer.question == question  # its own answer, not a neighbour's
        assert not answer.abstained and answer.quotes()
        texts = {d.meta.id: d.text for d in (service.document(m.id) for m in service.documents())}
        for q in answer.quotes():
            assert texts[q.doc][q.start : q.end] == q.text

    event, payload, _ = added
    assert event == "complete", payload
    summary = payload[0]
    assert summary["created"] is True and summary["n_chars"] == len(SECOND)
    stored = service.document(summary["id"])
    assert stored.text == SECOND
    chunks = service.store.chunks_of("default", summary["id"])
    assert len(chunks) == summary["n_chunks"] > 1
    assert all(SECOND[c.start : c.end] == c.text for c in chunks)
    assert len(service.documents()) == 2
