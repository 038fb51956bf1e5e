"""The service facade: one store and one chat backend, used by the CLI, the page and the eval."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .chain import ProgressFn, answer, is_cached
from .coverage import with_coverage
from .errors import CounterpointError
from .library import IngestItem, IngestResult, Loaded, Store, ingest_many, open_store
from .library import ingest as ingest_loaded
from .llm import Backend, BackendInfo, describe_backend, local, make_backend
from .models import Comparison, Document, DocumentMeta
from .settings import Settings


class Counterpoint:
    """Ingest documents and answer questions over one configured store and backend."""

    def __init__(self, settings: Settings, store: Store, chat_model: Any | None = None) -> None:
        self.settings = settings
        self.store = store
        self._chat_model = chat_model
        self._backend: Backend | None = None

    # --- library -----------------------------------------------------------------------------
    def ingest(
        self,
        loaded: Loaded,
        collection: str = "default",
        doc_id: str | None = None,
        title: str | None = None,
        outlet: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IngestResult:
        """Store one loaded document; the same text again is a no-op."""
        return ingest_loaded(
            self.store,
            collection,
            loaded,
            self.settings,
            doc_id=doc_id,
            title=title,
            outlet=outlet,
            on_progress=on_progress,
        )

    def ingest_many(
        self,
        items: list[IngestItem],
        collection: str = "default",
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[IngestResult | CounterpointError]:
        """Store several documents in one embedding pass and a few writes; one outcome per item."""
        return ingest_many(self.store, collection, items, self.settings, on_progress=on_progress)

    def documents(self, collection: str = "default") -> list[DocumentMeta]:
        return self.store.list(collection)

    def document(self, doc_id: str, collection: str = "default") -> Document:
        return self.store.get(collection, doc_id)

    def delete(self, doc_id: str, collection: str = "default") -> DocumentMeta:
        return self.store.delete(collection, doc_id)

    def collections(self) -> list[str]:
        return self.store.collections()

    def drop_collection(self, collection: str) -> None:
        self.store.drop(collection)

    # --- answers -----------------------------------------------------------------------------
    def backend(self) -> Backend:
        """The chat backend, created (and for the local model, started) on first use."""
        if self._backend is None:
            self._backend = make_backend(self.settings, self._chat_model)
        return self._backend

    def backend_info(self) -> BackendInfo:
        """Which backend, model and strategy answer, without starting anything."""
        return describe_backend(self.settings, self._chat_model)

    def _local_backend(self) -> bool:
        """Whether a model call goes to the embedded llama.cpp server (it takes seconds to start)."""
        return self._chat_model is None and self.settings.resolved_backend == "local"

    def uses_local_model(self) -> bool:
        """True when the embedded server answers every question, so it is warmed up and its state
        shown; not with the `rules` strategy, the local default, which calls it only for a debate's
        stance call."""
        return self._local_backend() and self.settings.resolved_strategy != "rules"

    def warm_up(self) -> None:
        """Start the local model server in the background, so that the first question needn't wait
        for it (the page calls this once it is up); nothing for other backends."""
        if self.uses_local_model():
            local.warm_up(self.settings)

    def model_state(self) -> str:
        """The local model server: "off", "warming up", "ready" or "failed: why"; "" for others."""
        return local.state(self.settings) if self.uses_local_model() else ""

    def ask(
        self,
        question: str,
        collection: str = "default",
        on_progress: ProgressFn | None = None,
        use_cache: bool = True,
    ) -> Comparison:
        """Line up each side's account of `question` over the documents in `collection`, with who
        reports each side (its coverage; a cached answer gets it too)."""

        def ready_backend() -> Backend:
            # A question asked while the model warms up waits for it (shared_server blocks); say so. The
            # rules strategy starts it only for its one stance call, so it may still be off: say so too.
            if (
                self._backend is None
                and on_progress
                and self._local_backend()
                and local.state(self.settings) != "ready"
            ):
                on_progress("model: warming up", 0.25)
            return self.backend()

        result = answer(
            question,
            store=self.store,
            settings=self.settings,
            info=self.backend_info(),
            backend=ready_backend,
            collection=collection,
            on_progress=on_progress,
            use_cache=use_cache,
        )
        return with_coverage(result)

    def preliminary(
        self, question: str, collection: str = "default", use_cache: bool = True
    ) -> Comparison | None:
        """The rules' answer (no model call), marked preliminary, for the page to show while the model
        works; None when the rules are the configured strategy, or the model's answer is stored."""
        if self.settings.resolved_strategy == "rules":
            return None
        info = self.backend_info()
        where = {"store": self.store, "settings": self.settings, "collection": collection}
        if use_cache and is_cached(question, info=info, **where):
            return None
        settings = self.settings.model_copy(update={"strategy": "rules"})
        info = info.model_copy(update={"strategy": "rules"})
        result = answer(
            question,
            store=self.store,
            settings=settings,
            info=info,
            backend=self.backend,
            collection=collection,
        )
        return with_coverage(result).model_copy(update={"preliminary": True})


@contextmanager
def open_service(settings: Settings, chat_model: Any | None = None) -> Iterator[Counterpoint]:
    """A ready service; in embedded mode this process holds the data dir until the block exits.
    The local model server, once started, is shared by the whole process and stops at exit."""
    with open_store(settings) as store:
        yield Counterpoint(settings, store, chat_model)
