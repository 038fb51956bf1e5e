"""Turn files, URLs, pasted text and stdin into `Loaded` text, with size limits and clear errors."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from pydantic import BaseModel

from ..errors import InputError
from ..settings import Settings
from .fetch import fetch

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


class Loaded(BaseModel):
    """Text extracted from one input, before it has an id."""

    text: str
    source: str
    title: str = ""
    outlet: str = ""
    date: str = ""
    url: str = ""


def _check_size(n: int, what: str, settings: Settings) -> None:
    if n > settings.max_file_bytes:
        raise InputError(
            f"{what} is {n / 1048576:.1f} MB, over the {settings.max_file_mb:g} MB limit "
            "(COUNTERPOINT_MAX_FILE_MB)"
        )


def decode_text(data: bytes, what: str) -> str:
    """Strict UTF-8 text, or a clear error for binary and other encodings. Nothing is normalised."""
    if b"\x00" in data[:8192]:
        raise InputError(f"{what} looks binary (NUL bytes); give a .txt, .md, .html or .pdf file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start}); convert it to UTF-8 first") from None
    if not text.strip():
        raise InputError(f"{what} is empty")
    return text


def from_html(html: str, source: str, url: str = "") -> Loaded:
    """Main text and metadata of an HTML page, via trafilatura."""
    import trafilatura

    # favor_precision: by default trafilatura returns a page of only menus as its "text" (and puts
    # menu items above a real article); a page with no article must be refused, not stored.
    text = trafilatura.extract(
        html, url=url or None, include_comments=False, include_tables=False, favor_precision=True
    )
    if not text or not text.strip():
        raise InputError(f"{source}: no article text found in the HTML")
    meta = trafilatura.extract_metadata(html, default_url=url or None)
    return Loaded(
        text=text,
        source=source,
        title=(meta.title if meta and meta.title else "") or "",
        outlet=(meta.sitename if meta and meta.sitename else "") or "",
        date=(meta.date if meta and meta.date else "") or "",
        url=(meta.url if meta and meta.url else url) or "",
    )


def from_pdf(data: bytes, source: str) -> Loaded:
    from pypdf import PdfReader

    # pypdf logs what it repairs as warnings, which would land on stderr next to the one error line.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError(f"{source}: the PDF is encrypted")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "")
    except InputError:
        raise
    except Exception as exc:  # malformed PDFs also raise TypeError, AttributeError, LimitReachedError...
        raise InputError(f"{source}: not a readable PDF ({exc})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise InputError(f"{source}: the PDF has no extractable text (scanned images?)")
    return Loaded(text=text, source=source, title=title)


def from_bytes(data: bytes, name: str, source: str, url: str = "") -> Loaded:
    """Dispatch on the file name's suffix (text when unknown)."""
    suffix = Path(name).suffix.lower()
    if not data.strip():
        raise InputError(f"{source} is empty")
    if suffix in PDF_SUFFIXES or data[:5] == b"%PDF-":
        return from_pdf(data, source)
    text = decode_text(data, source)
    if suffix in HTML_SUFFIXES:
        return from_html(text, source, url)
    return Loaded(text=text, source=source, title=_title_from_text(text, name), url=url)


def _title_from_text(text: str, name: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if len(line) >= 12:
            return line[:200]
    return Path(name).stem


def load_file(path: Path, settings: Settings) -> Loaded:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    # The size comes first, so an oversized file is refused without being read; the bounded read
    # then also covers a file that grows in between.
    _check_size(path.stat().st_size, str(path), settings)
    with path.open("rb") as stream:
        data = stream.read(settings.max_file_bytes + 1)
    _check_size(len(data), str(path), settings)
    return from_bytes(data, path.name, str(path))


def load_stream(stream: io.BufferedIOBase, name: str, settings: Settings) -> Loaded:
    data = stream.read(settings.max_file_bytes + 1)
    _check_size(len(data), name, settings)
    return from_bytes(data, name, name)


def load_url(url: str, settings: Settings) -> Loaded:
    """Fetch a page (HTML, PDF or text) with the size limit and a total time limit; addresses on this
    machine or its networks are refused unless COUNTERPOINT_ALLOW_PRIVATE_URLS is set (see fetch)."""
    url = url.strip()
    fetched = fetch(
        url,
        check_size=lambda n: _check_size(n, url, settings),
        timeout_s=settings.url_timeout_s,
        allow_private=settings.allow_private_urls,
    )
    if fetched.content_type in ("text/html", "application/xhtml+xml"):
        name = "page.html"
    elif fetched.content_type == "application/pdf":
        name = "page.pdf"
    else:
        name = "page.txt"
    return from_bytes(fetched.data, name, url, url=url)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given, and the supported files inside directories (sorted, hidden ones skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED
                # Relative parts only: the directory itself may be `..` or sit under a hidden folder.
                and not any(s.startswith(".") for s in p.relative_to(path).parts)
            )
            if not found:
                raise InputError(f"{path}: no .txt, .md, .html or .pdf files inside")
            out.extend(found)
        else:
            out.append(path)
    return out
