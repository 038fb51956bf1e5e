"""The service facade: one store and one chat backend, used by the CLI, the page and the eval."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .chain import ProgressFn, answer
from .library import IngestResult, Loaded, Store, open_store
from .library import ingest as ingest_loaded
from .llm import Backend, BackendInfo, describe_backend, make_backend
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

    def ask(
        self,
        question: str,
        collection: str = "default",
        on_progress: ProgressFn | None = None,
        use_cache: bool = True,
    ) -> Comparison:
        """Line up each side's account of `question` over the documents in `collection`."""
        return answer(
            question,
            store=self.store,
            settings=self.settings,
            info=self.backend_info(),
            backend=self.backend,
            collection=collection,
            on_progress=on_progress,
            use_cache=use_cache,
        )


@contextmanager
def open_service(settings: Settings, chat_model: Any | None = None) -> Iterator[Counterpoint]:
    """A ready service; in embedded mode this process holds the data dir until the block exits.
    The local model server, once started, is shared by the whole process and stops at exit."""
    with open_store(settings) as store:
        yield Counterpoint(settings, store, chat_model)
