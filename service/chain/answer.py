"""The comparison chain: retrieve -> attribution -> sides -> points (a strategy) -> verify.

Every strategy fills one draft that cites statement ids; code turns ids into quotes, so every
quote shown is verbatim by construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from ..library import Store
from ..llm import Backend, BackendInfo, Usage, prompts
from ..models import Candidate, Comparison, Side, Stats
from ..settings import Settings
from . import language
from .cache import AnswerCache, cache_key, code_version
from .retrieve import retrieve
from .sides.backbone import argued
from .sides.question import Question, unmentioned
from .strategies import STRATEGIES, Job, ProgressFn
from .verify import verify

MAX_QUESTION = 1000
FOREIGN = "{what} not in {language}, the one language Counterpoint reads (its parser and word lists)"
# In a list of arguments (no one speaks in the documents), below this subject fit (see
# retrieve.subject_fit) the arguments are from another debate. The dev set's answerable argument
# list sits at 0.71 and one from another debate at 0.44. Not used where people speak: there a
# question's subject can read far from what the speakers say about it (an invented news article on
# "talks" whose speakers talk of fees and dues: 0.28), and the rules' ON_SUBJECT check decides.
MIN_SUBJECT_FIT = 0.5


def answer(
    question: str,
    *,
    store: Store,
    settings: Settings,
    info: BackendInfo,
    backend: Callable[[], Backend],
    collection: str = "default",
    on_progress: ProgressFn | None = None,
    use_cache: bool = True,
) -> Comparison:
    """Line up each side's account of `question` over the documents of `collection`.

    `backend` is called only when a model is needed (starting the local server takes seconds), so
    an empty collection or a cached answer costs nothing."""
    started = time.perf_counter()
    question = " ".join(question.split())
    if not question:
        raise InputError("the question is empty")
    if len(question) > MAX_QUESTION:
        raise InputError(f"the question is longer than {MAX_QUESTION} characters")
    progress: Callable[[str, float], None] = on_progress or (lambda stage, fraction: None)
    docs = store.list(collection)
    stats = Stats(model=info.model, backend=info.backend, strategy=info.strategy,
                  prompt_version=prompts.version())  # fmt: skip

    def done(result: Comparison) -> Comparison:
        result.stats.latency_s = round(time.perf_counter() - started, 3)
        progress("done", 1.0)
        return result

    if not docs:
        return done(_abstain(question, collection, f"collection {collection!r} has no documents", stats))
    key = _key(question, collection, docs, settings, info)
    cache = _cache(settings)
    if use_cache and (hit := cache.get(key)) is not None:
        hit.stats.cached = True
        return done(hit)

    if language.foreign(question):
        reason = FOREIGN.format(what="the question is", language=language.name())
        return done(_abstain(question, collection, reason, stats))
    progress("retrieving", 0.05)
    asked = Question.parse(question)
    found = retrieve(
        store, collection, asked, settings.top_k, settings.max_statements, settings.min_relevance
    )
    if found.documents and language.foreign(" ".join(d.text[:4000] for d in found.documents.values())):
        reason = FOREIGN.format(what="the documents are", language=language.name())
        return done(_abstain(question, collection, reason, stats))
    stats.statements = len(found.statements)
    stats.injections_skipped = found.injections_skipped
    if not found.statements:
        reason = "nothing in the documents is relevant enough to the question"
        return done(_abstain(question, collection, reason, stats))
    # Another matter: arguments (no one speaks) are judged by subject fit, since an argument need not
    # use the question's words; reporting names its matter, so there the matter's nouns must appear.
    argued_ = argued(found.statements)
    if argued_ and found.subject_fit < MIN_SUBJECT_FIT:
        reason = "the arguments in the documents are about something other than what the question asks"
        return done(_abstain(question, collection, reason, stats))
    if not argued_ and (missing := unmentioned(asked, [d.text for d in found.documents.values()])):
        reason = f"the documents never mention what the question asks about ({', '.join(missing)})"
        return done(_abstain(question, collection, reason, stats))
    progress("statements", 0.2)
    usage = Usage()
    outcome = STRATEGIES[info.strategy](Job(question, found, backend, usage, progress, asked))
    progress("verifying", 0.95)
    draft = outcome.draft
    statements = found.statements
    why = outcome.why or {s.sid: s.why for s in statements}
    checked = verify(draft, found.statements, found.documents, why)
    stats.llm_calls, stats.retries = usage.calls, usage.retries
    stats.prompt_tokens, stats.completion_tokens = usage.prompt_tokens, usage.completion_tokens
    stats.dropped_ids = checked.dropped_ids
    result = Comparison(
        question=question,
        collection=collection,
        abstained=checked.abstained,
        reason=checked.reason,
        sides=checked.sides,
        points=checked.points,
        partial=outcome.partial,
        notes=outcome.notes,
        candidates=[
            Candidate(doc=x.doc_id, start=x.start, end=x.end, why=why.get(x.sid)) for x in found.statements
        ],
        stats=stats,
    )
    result = done(result)
    if not result.partial:  # a failed call may succeed next time: don't keep the fallback
        cache.put(key, result)
    return result


def is_cached(question: str, *, store: Store, settings: Settings, info: BackendInfo, collection: str) -> bool:
    """True when `answer` would return a stored answer for this question (no retrieval, no model)."""
    question = " ".join(question.split())
    docs = store.list(collection)
    if not question or not docs:
        return False
    return _cache(settings).get(_key(question, collection, docs, settings, info)) is not None


def _cache(settings: Settings) -> AnswerCache:
    return AnswerCache(settings.data_dir / "answers.sqlite")


def _key(question: str, collection: str, docs: list[Any], settings: Settings, info: BackendInfo) -> str:
    return cache_key(
        question=question, collection=collection, docs=sorted((d.id, d.content_hash) for d in docs),
        backend=info.backend, model=info.model, strategy=info.strategy, prompts=prompts.version(),
        code=code_version(),
        retrieval=[settings.top_k, settings.max_statements, settings.min_relevance],
    )  # fmt: skip


def _abstain(question: str, collection: str, reason: str, stats: Stats) -> Comparison:
    return Comparison(question=question, collection=collection, abstained=True, reason=reason,
                      sides=list[Side](), stats=stats)  # fmt: skip
