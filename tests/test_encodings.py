"""Ingest reads text files as people save them: a byte-order mark (UTF-8, UTF-16, UTF-32), else UTF-8,
else the charset the server or page declares, else the legacy code page charset-normalizer detects.
The encoding is recorded; offsets are into the decoded text; binary input is refused clearly."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import pytest
from conftest import StoreEnv, WebServer

from service.errors import InputError
from service.library import ingest, load_file, load_stream, load_url
from service.library.fetch import content_type
from service.settings import Settings

# Invented towns and people; the accents are the point.
FRENCH = (
    "Le conseil municipal de Vérange a voté jeudi la fermeture du théâtre pour l’été. « C’est une "
    "décision prise à contrecœur », a déclaré la maire, Hélène Darbois. Les élèves du conservatoire, "
    "qui répètent là depuis des années, ont réagi avec colère ; leur porte-parole a dénoncé « un "
    "mépris total ».\n"
)
GERMAN = (
    "Der Stadtrat von Kühlingen hat am Donnerstag beschlossen, die alte Brücke für Autos zu sperren. "
    "„Die Brücke ist marode, wir können nicht länger warten“, sagte Bürgermeisterin Jördis Köhl. Die "
    "Händler in der Altstadt befürchten Umsatzeinbußen; ihr Sprecher Günther Maßfeld nannte das "
    "Gutachten übertrieben.\n"
)
POLISH = (
    "Burmistrz Żarnowic powiedział w środę, że most zostanie zamknięty. „To smutna decyzja”, dodała "
    "rzeczniczka Łucja Węgorz. Radni zapowiedzieli, że wrócą do sprawy w przyszłym miesiącu, po "
    "opinii biegłych."
)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- byte-order marks ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bom", "codec", "recorded"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    ],
)
def test_a_byte_order_mark_gives_the_encoding_and_is_not_text(
    tmp_path: Path, settings: Settings, bom: bytes, codec: str, recorded: str
) -> None:
    loaded = load_file(write(tmp_path / "note.txt", bom + FRENCH.encode(codec)), settings)
    assert (loaded.text, loaded.encoding) == (FRENCH, recorded)
    assert not loaded.text.startswith("\ufeff")
    assert loaded.title == FRENCH.splitlines()[0][:200]


def test_a_utf16_file_is_stored_with_offsets_into_its_decoded_text(
    store_env: StoreEnv, tmp_path: Path
) -> None:
    saved = write(tmp_path / "windows-notepad.txt", codecs.BOM_UTF16_LE + (GERMAN * 8).encode("utf-16-le"))
    with store_env.open() as store:
        meta = ingest(
            store, store_env.collection, load_file(saved, store_env.settings), store_env.settings
        ).meta
        assert (meta.encoding, meta.n_chars) == ("utf-16-le", len(GERMAN * 8))
        text = store.get(store_env.collection, meta.id).text
        assert text == GERMAN * 8
        chunks = store.chunks_of(store_env.collection, meta.id)
        assert len(chunks) > 1 and all(text[c.start : c.end] == c.text for c in chunks)
        # The content hash is over the decoded text: the same article saved as UTF-8 is the same document.
        utf8 = load_file(write(tmp_path / "same.txt", (GERMAN * 8).encode()), store_env.settings)
        again = ingest(store, store_env.collection, utf8, store_env.settings)
        assert (again.created, again.meta.id, again.meta.encoding) == (False, meta.id, "utf-16-le")
        assert len(store.list(store_env.collection)) == 1


# --- legacy code pages --------------------------------------------------------------------------
@pytest.mark.parametrize("text", [FRENCH, GERMAN, FRENCH + GERMAN], ids=["french", "german", "both"])
def test_a_windows_1252_file_is_read_as_written(tmp_path: Path, settings: Settings, text: str) -> None:
    loaded = load_file(write(tmp_path / "latin.txt", text.encode("cp1252")), settings)
    assert (loaded.text, loaded.encoding) == (text, "cp1252")


def test_a_latin1_file_without_windows_quotes_reads_the_same(tmp_path: Path, settings: Settings) -> None:
    text = "Die Brücke über den Fluß ist gesperrt, sagte Jördis Köhl; à Vérange, l'été sera long.\n"
    loaded = load_file(write(tmp_path / "latin1.txt", text.encode("latin-1")), settings)
    assert loaded.text == text


def test_stdin_in_a_legacy_encoding(settings: Settings) -> None:
    loaded = load_stream(io.BytesIO(FRENCH.encode("cp1252")), "stdin", settings)
    assert (loaded.text, loaded.encoding) == (FRENCH, "cp1252")


def zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("article.txt", text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), r"looks binary \(a PNG image\)"),
        (zipped(FRENCH), r"looks binary \(a ZIP archive"),
        (b"\x7fELF\x02\x01\x01" + bytes(range(1, 256)) * 3, "looks binary: not UTF-8"),
        (
            b"\x01\x02\x03\x04 plain words \x05\x06\x07\x08\x0e\x0f" * 40,
            r"looks binary \(control characters\)",
        ),
        (codecs.BOM_UTF16_LE + b"\x00\xd8" * 20, "UTF-16-LE byte-order mark but is not UTF-16-LE"),
        (codecs.BOM_UTF16_LE + b"\x01\x00\x02\x00\x03\x00" * 50, r"looks binary \(control characters\)"),
    ],
    ids=["png", "zip", "elf", "controls", "broken-utf16", "utf16-mark-on-binary"],
)
def test_binary_input_is_refused_clearly(
    tmp_path: Path, settings: Settings, data: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        load_file(write(tmp_path / "upload.txt", data), settings)
    assert "upload.txt" in str(caught.value) and "\n" not in str(caught.value)


# --- declared charsets --------------------------------------------------------------------------
def page_in(charset_tag: str, body: str) -> str:
    paragraphs = "".join(f"<p>{body} ({n})</p>" for n in range(3))
    head = f"<head>{charset_tag}<title>Most</title></head>"
    return f"<html>{head}<body><article>{paragraphs}</article></body></html>"


@pytest.mark.parametrize(
    "tag",
    [
        '<meta charset="windows-1250">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1250">',
    ],
    ids=["meta-charset", "http-equiv"],
)
def test_an_html_files_declared_charset_is_honoured(tmp_path: Path, settings: Settings, tag: str) -> None:
    # Short Central European text in windows-1250 is what detection alone cannot tell from windows-1252.
    html = page_in(tag, POLISH)
    loaded = load_file(write(tmp_path / "strona.html", html.encode("cp1250")), settings)
    assert POLISH in loaded.text and loaded.encoding == "cp1250"


def test_a_latin1_label_is_read_as_windows_1252_and_a_wrong_one_falls_back(
    tmp_path: Path, settings: Settings
) -> None:
    # Browsers read "ISO-8859-1" as windows-1252: the curly quotes sit in 0x80-0x9F.
    html = page_in('<meta charset="ISO-8859-1">', FRENCH.strip())
    loaded = load_file(write(tmp_path / "page.html", html.encode("cp1252")), settings)
    assert FRENCH.strip() in loaded.text and loaded.encoding == "cp1252"
    # UTF-8 bytes under a Latin-1 label (a common server default) stay UTF-8.
    mislabelled = load_file(write(tmp_path / "utf8.html", html.encode("utf-8")), settings)
    assert FRENCH.strip() in mislabelled.text and mislabelled.encoding == "utf-8"
    # A label that does not decode the bytes is wrong; detection reads them.
    wrong = page_in('<meta charset="shift_jis">', FRENCH.strip()).encode("cp1252")
    assert FRENCH.strip() in load_file(write(tmp_path / "wrong.html", wrong), settings).text


def test_a_servers_charset_is_honoured(web_server: WebServer, settings: Settings) -> None:
    settings = settings.model_copy(update={"allow_private_urls": True})  # the test server is on loopback
    web_server.pages["/pl"] = (200, "text/html; charset=windows-1250", page_in("", POLISH).encode("cp1250"))
    web_server.pages["/txt"] = (200, 'text/plain; charset="windows-1250"', POLISH.encode("cp1250"))
    page = load_url(f"{web_server.base}/pl", settings)
    assert POLISH in page.text and page.encoding == "cp1250"
    assert load_url(f"{web_server.base}/txt", settings).text == POLISH
    assert content_type('Text/HTML; Charset="UTF-8"') == ("text/html", "UTF-8")
    assert content_type("application/pdf") == ("application/pdf", "")
