"""The library: load documents (file, text, URL), split them into sentences and chunks, embed them,
and keep them in Chroma. `Store` is the only importer of chromadb."""

from .chunk import chunks, paragraphs, rejoined, rejoined_in_place, sentences
from .embed import Embedder, sha256_file
from .ingest import IngestItem, IngestResult, content_hash, in_groups, ingest, ingest_many
from .load import SUPPORTED, Loaded, check_date, expand_paths, load_file, load_stream, load_url
from .store import Store, check_collection, check_doc_id, open_store

__all__ = [
    "SUPPORTED",
    "Embedder",
    "IngestItem",
    "IngestResult",
    "Loaded",
    "Store",
    "check_collection",
    "check_date",
    "check_doc_id",
    "chunks",
    "content_hash",
    "expand_paths",
    "in_groups",
    "ingest",
    "ingest_many",
    "load_file",
    "load_stream",
    "load_url",
    "open_store",
    "paragraphs",
    "rejoined",
    "rejoined_in_place",
    "sentences",
    "sha256_file",
]
