"""Where the eval's documents go: one collection per case (or one shared), each document stored once
under a planned id that predictions map back to the case's own document ids."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from ..library import IngestResult, Loaded, content_hash
from ..models import Comparison
from ..settings import Settings
from .cases import Case

PREFIX = "eval-"
SHARED = "eval-shared"
ProgressFn = Callable[[str, float], None]


class EvalService(Protocol):
    """What the runner needs from `Counterpoint` (tests pass fakes)."""

    def ingest(self, loaded: Loaded, collection: str = ..., doc_id: str | None = ...) -> IngestResult: ...

    def ask(
        self,
        question: str,
        collection: str = ...,
        on_progress: ProgressFn | None = ...,
        use_cache: bool = ...,
    ) -> Comparison: ...

    def drop_collection(self, collection: str) -> None: ...


OpenService = Callable[[Settings], AbstractContextManager[EvalService]]


# --- cases --------------------------------------------------------------------------------------
def collection_name(case_id: str) -> str:
    """`eval-<case id>`, made a valid collection name; altered ids get a hash so they stay distinct."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", case_id)
    if clean == case_id and len(PREFIX) + len(clean) <= 63:
        return PREFIX + clean
    return f"{PREFIX}{clean[:48]}-{content_hash(case_id)[:8]}"


# --- where each document is stored --------------------------------------------------------------
@dataclass
class Library:
    """The planned store ids of the cases' documents, mirroring the store's dedup by content hash."""

    texts: dict[str, str] = field(default_factory=dict)  # store id -> text
    owners: dict[str, dict[str, str]] = field(default_factory=dict)  # case id -> {store id: doc id}
    notes: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # case id -> why its documents failed

    def name_for(self, case: Case, store_id: str) -> str:
        """The id a prediction uses: the case's own doc id, else the library id (prefixed on a clash)."""
        own = self.owners.get(case.id, {})
        if store_id in own:
            return own[store_id]
        return f"shared:{store_id}" if store_id in case.texts() else store_id

    def extra_texts(self, case: Case) -> dict[str, str]:
        """Texts of the library documents that are not the case's own, under their prediction ids."""
        own = self.owners.get(case.id, {})
        return {self.name_for(case, sid): t for sid, t in self.texts.items() if sid not in own}


def plan_library(cases: Sequence[Case]) -> Library:
    """Store ids for every document: its own id, the first copy's id for repeated text, or a derived id
    when another document already holds that id with other text."""
    lib = Library()
    by_hash: dict[str, str] = {}
    for case in cases:
        own = lib.owners.setdefault(case.id, {})
        for doc in case.documents:
            digest = content_hash(doc.text)
            sid = by_hash.get(digest)
            if sid is None:
                sid = doc.id if doc.id not in lib.texts else f"{doc.id}.{digest[:8]}"
                by_hash[digest] = sid
                lib.texts[sid] = doc.text
            if sid in own:
                lib.notes.setdefault(case.id, []).append(
                    f"document {doc.id!r} has the same text as {own[sid]!r}: quotes cite {own[sid]!r}"
                )
                continue
            own[sid] = doc.id
    return lib


def ingest_planned(service: EvalService, lib: Library, cases: Sequence[Case], collection: str) -> None:
    """Store each planned document once; a failure marks every case that owns the document."""
    stored: set[str] = set()
    for case in cases:
        by_doc = {d.id: d for d in case.documents}
        for sid, doc_id in list(lib.owners[case.id].items()):
            if sid in stored or case.id in lib.errors:
                continue
            doc = by_doc[doc_id]
            try:
                got = service.ingest(
                    Loaded(text=doc.text, source=doc.source, title=doc.title), collection, doc_id=sid
                )
            except Exception as exc:  # recorded on the cases that need the document; the run goes on
                for cid, own in lib.owners.items():
                    if sid in own:
                        lib.errors.setdefault(cid, f"ingest of {own[sid]!r} failed: {describe_error(exc)}")
                continue
            stored.add(sid)
            if got.meta.id != sid:  # the store deduplicated against something the plan did not know
                for cid, own in lib.owners.items():
                    if sid in own:
                        own[got.meta.id] = own.pop(sid)
                        lib.notes.setdefault(cid, []).append(
                            f"document {own[got.meta.id]!r} was stored as {got.meta.id!r} (same text)"
                        )


def describe_error(exc: BaseException) -> str:
    """An exception as `Type: message`, the form recorded in a failed prediction."""
    return f"{type(exc).__name__}: {exc}"
