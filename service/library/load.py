"""Turn files, URLs, pasted text and stdin into `Loaded` text, with size limits and clear errors."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import logging
import re
from pathlib import Path
from typing import NamedTuple, NoReturn

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
    encoding: str = ""


def _check_size(n: int, what: str, settings: Settings) -> None:
    if n > settings.max_file_bytes:
        raise InputError(
            f"{what} is {n / 1048576:.1f} MB, over the {settings.max_file_mb:g} MB limit "
            "(COUNTERPOINT_MAX_FILE_MB)"
        )


# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Files people pick by mistake, named so that the refusal says what was given.
SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive, as .docx and .epub files are"),
    (b"\x1f\x8b", "a gzip archive"),
)
# Without a byte-order mark these are never guessed: four ISO-8859-1 bytes read as two CJK characters.
UNMARKED = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le", "utf_7"]
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Decoded(NamedTuple):
    """Text decoded from bytes, and the codec that decoded it."""

    text: str
    encoding: str


def _refuse_binary(what: str, kind: str = "") -> NoReturn:
    raise InputError(
        f"{what} looks binary{f' ({kind})' if kind else ''}, not text; give a .txt, .md, .html or .pdf file"
    )


def _declared_codec(label: str) -> str | None:
    """The codec for a declared charset label, read as a browser reads it; None when unusable."""
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        return None  # a declaration cannot say UTF-16 without a byte-order mark (WHATWG reads it as UTF-8)
    # Pages labelled ISO-8859-1 or ASCII use windows-1252's quotes and dashes in 0x80-0x9F; browsers
    # decode these labels as windows-1252 for that reason.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def meta_charset(data: bytes) -> str:
    """The charset an HTML page declares in a <meta> tag in its first 4 KB, or ""."""
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else ""


def _detect(data: bytes) -> str | None:
    """The legacy encoding charset-normalizer finds for `data`, or None when none reads as text."""
    from charset_normalizer import from_bytes as detect

    matches = detect(data, cp_exclusion=UNMARKED)
    best = matches.best()
    if best is None:
        return None
    # On short text the detector ranks the single-byte western code pages equal (its own order of
    # trial then decides); where it cannot tell, windows-1252, the web's default for unlabelled
    # Western pages, is the likelier and is named as such.
    if any("cp1252" in m.could_be_from_charset for m in matches if not best < m):
        return "cp1252"
    return best.encoding


def decode_text(data: bytes, what: str, declared: str = "") -> Decoded:
    """Text as saved (byte-order mark, UTF-8, declared charset, detected); only the mark is removed."""
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            _refuse_binary(what, kind)
    bom = next(((mark, codec) for mark, codec in BOMS if data.startswith(mark)), None)
    if bom:
        mark, codec = bom
        try:
            text = data[len(mark) :].decode(codec)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{what} starts with a {codec.upper()} byte-order mark but is not {codec.upper()} "
                f"(byte {exc.start + len(mark)})"
            ) from None
        decoded = Decoded(text, "utf-8-sig" if mark == codecs.BOM_UTF8 else codec)
    else:
        if b"\x00" in data[:8192]:
            _refuse_binary(what, "NUL bytes")
        decoded = _decode_unmarked(data, what, declared)
    if _mostly_controls(decoded.text):
        _refuse_binary(what, "control characters")
    if not decoded.text.strip():
        raise InputError(f"{what} is empty")
    return decoded


def _decode_unmarked(data: bytes, what: str, declared: str) -> Decoded:
    # Valid UTF-8 comes before a declaration: legacy text almost never forms valid UTF-8 by chance,
    # while UTF-8 pages under a server's default "ISO-8859-1" label are common.
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # A declaration that does not decode the bytes is wrong; detection comes next.
    found = _strict(data, _declared_codec(declared) if declared else None) or _strict(data, _detect(data))
    if found:
        return found
    raise InputError(
        f"{what} looks binary: not UTF-8 (byte {first_bad}), and no other encoding reads it as text; "
        "if it is text, save it as UTF-8"
    )


def _strict(data: bytes, codec: str | None) -> Decoded | None:
    if codec is None:
        return None
    try:
        return Decoded(data.decode(codec), codecs.lookup(codec).name)
    except UnicodeDecodeError:
        return None


def _mostly_controls(text: str) -> bool:
    """More than 1% control characters (other than whitespace) in the first 8,192: not prose."""
    sample = text[:8192]
    controls = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f\v") or "\x7f" <= c < "\xa0")
    return "\x00" in sample or controls * 100 > len(sample)


def iso_date(value: str) -> str:
    """A calendar date as ISO `YYYY-MM-DD`, or "" when `value` is not one (nothing is guessed)."""
    value = value.strip()[:10]
    if not _ISO_DATE.fullmatch(value):
        return ""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        return ""


def check_date(value: str) -> str:
    """A user-given date, checked: "" stays "", anything but a real `YYYY-MM-DD` date is an InputError."""
    value = value.strip()
    if value and (not _ISO_DATE.fullmatch(value) or not iso_date(value)):
        raise InputError(f"bad date {value!r}: give the publication date as YYYY-MM-DD, e.g. 2025-10-31")
    return value


def from_html(html: str, source: str, url: str = "", encoding: str = "") -> Loaded:
    """Main text and metadata (title, outlet, publication date) of an HTML page, via trafilatura."""
    import trafilatura

    # favor_precision: by default trafilatura returns a page of only menus as its "text" (and puts
    # menu items above a real article); a page with no article must be refused, not stored.
    text = trafilatura.extract(
        html, url=url or None, include_comments=False, include_tables=False, favor_precision=True
    )
    if not text or not text.strip():
        raise InputError(f"{source}: no article text found in the HTML")
    # extensive=False: dates from the page's markup (meta tags, JSON-LD, <time>, the URL) only. The
    # extensive search takes "© 2023" for 2023-01-01, or a date the article mentions for its own.
    meta = trafilatura.extract_metadata(html, default_url=url or None, extensive=False)
    return Loaded(
        text=text,
        source=source,
        title=(meta.title or "").strip(),
        outlet=(meta.sitename or "").strip(),
        date=iso_date(meta.date or ""),
        url=(meta.url or url or "").strip(),
        encoding=encoding,
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


def from_bytes(data: bytes, name: str, source: str, url: str = "", charset: str = "") -> Loaded:
    """Dispatch on the file name's suffix (text when unknown); `charset` is the one the server declared."""
    suffix = Path(name).suffix.lower()
    if not data.strip():
        raise InputError(f"{source} is empty")
    if suffix in PDF_SUFFIXES or data[:5] == b"%PDF-":
        return from_pdf(data, source)
    if suffix in HTML_SUFFIXES:
        # The server's charset first, then the page's own <meta>, as browsers order them.
        decoded = decode_text(data, source, charset or meta_charset(data))
        return from_html(decoded.text, source, url, decoded.encoding)
    text, encoding = decode_text(data, source, charset)
    return Loaded(text=text, source=source, title=_title_from_text(text, name), url=url, encoding=encoding)


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
    return from_bytes(fetched.data, name, url, url=url, charset=fetched.charset)


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
