"""The answer cache, over the real ingest, store and retrieval with a scripted model: the same
question is answered once, and a new or deleted document, another question or collection, a prompt
change or a code change misses it. Split from test_chain.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_chain import OTHER_ARTICLE, QUESTION, Chain, full_answer, not_answerable, open_chain

from service.core import Counterpoint
from service.library import Loaded, load_file
from service.llm import prompts
from service.llm.fake import ScriptedChatModel
from service.settings import Settings


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch, seed_path: Path) -> Iterator[Chain]:
    monkeypatch.setenv("COUNTERPOINT_STRATEGY", "batch")
    with open_chain(Settings(), seed_path) as opened:
        yield opened


def test_same_question_twice_is_cached(chain: Chain) -> None:
    first = chain.ask(full_answer())
    second = chain.ask(question=f"  {QUESTION.replace(' ', '   ')} ")  # the same question, spaced out
    assert second.stats.cached and not first.stats.cached
    assert len(chain.model.history) == 1
    assert second.model_dump(exclude={"stats"}) == first.model_dump(exclude={"stats"})
    assert chain.ask(not_answerable, use_cache=False).abstained  # use_cache=False asks again
    assert len(chain.model.history) == 2


def test_the_cache_outlives_the_service(chain: Chain) -> None:
    first = chain.ask(full_answer())
    silent = ScriptedChatModel()  # any call would fail: its script is empty
    service = Counterpoint(chain.settings, chain.service.store, silent)
    again = service.ask(QUESTION)
    assert again.stats.cached and silent.history == []
    assert again.points == first.points


def test_a_new_document_misses_the_cache(chain: Chain) -> None:
    chain.ask(full_answer())
    chain.service.ingest(Loaded(text=OTHER_ARTICLE, source="test", title="Ferry fares"))
    result = chain.ask(full_answer())
    assert not result.stats.cached and len(chain.model.history) == 2


def test_a_deleted_document_misses_the_cache(chain: Chain) -> None:
    extra = chain.service.ingest(Loaded(text=OTHER_ARTICLE, source="test", title="Ferry fares")).meta
    chain.ask(full_answer())
    chain.service.delete(extra.id)
    assert not chain.ask(full_answer()).stats.cached


def test_another_question_or_collection_misses_the_cache(chain: Chain) -> None:
    chain.ask(full_answer())
    assert not chain.ask(
        full_answer(), question="Who is to blame for the failed Istanbul talks?"
    ).stats.cached
    chain.service.ingest(load_file(Path(chain.doc.meta.source), chain.settings), collection="copy")
    chain.model.enqueue([full_answer()])
    assert not chain.service.ask(QUESTION, collection="copy").stats.cached


def test_a_prompt_change_misses_the_cache(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain.ask(full_answer())
    copy = tmp_path / "prompts"
    shutil.copytree(prompts.prompt_dir(), copy)
    batch = copy / "batch.yaml"
    batch.write_text(batch.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    monkeypatch.setattr(prompts, "_CANDIDATES", (copy,))
    prompts.load.cache_clear()
    prompts.version.cache_clear()
    try:
        result = chain.ask(full_answer())
    finally:
        monkeypatch.undo()
        prompts.load.cache_clear()
        prompts.version.cache_clear()
    assert not result.stats.cached and result.stats.prompt_version != prompts.version()


def test_a_code_change_misses_the_cache(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    answer = importlib.import_module("service.chain.answer")  # the package exports a function of that name
    cache = importlib.import_module("service.chain.cache")

    code = tmp_path / "chain"
    code.mkdir()
    (code / "rules.py").write_text("ON_SUBJECT = 0.25\n", encoding="utf-8")
    before = cache.code_version((code,))
    (code / "rules.py").write_text("ON_SUBJECT = 0.3\n", encoding="utf-8")
    assert cache.code_version.__wrapped__((code,)) != before  # an edit changes the version
    assert cache.code_version() == cache.code_version()  # the package's own is stable

    chain.ask(full_answer())
    assert chain.ask().stats.cached
    monkeypatch.setattr(answer, "code_version", lambda: "another-release")
    assert not chain.ask(full_answer()).stats.cached
