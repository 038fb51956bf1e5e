"""Ingest takes a page's outlet and publication date from its metadata (Open Graph, JSON-LD), as
trafilatura gives them; the user's own fields win; a document with no date has none; `list` and
`show` print them, with the encoding a file was read in."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from click.testing import Result
from conftest import StoreEnv, WebServer
from test_encodings import FRENCH, GERMAN, write
from typer.testing import CliRunner

from service.cli import app
from service.errors import InputError
from service.library import Loaded, check_date, ingest, load_file, load_url
from service.library.load import iso_date
from service.settings import Settings

PARAGRAPHS = [
    "The Tollby harbour board voted on Tuesday to double the mooring fee for fishing boats.",
    "“We cannot keep the quays open on the old fees,” said the board's chair, Mara Quell.",
    "The fishers' cooperative said the rise would drive half of its members out of the harbour.",
]
ARTICLE = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
OG_PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>Fees double | Tollby Herald</title>
<meta property="og:title" content="Harbour fees double">
<meta property="og:site_name" content="Tollby Herald">
<meta property="article:published_time" content="2025-03-04T18:30:00+01:00">
</head><body><article><h1>Harbour fees double</h1>{ARTICLE}</article></body></html>"""
JSON_LD = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Harbour fees double",
    "datePublished": "2024-11-02T08:00:00Z",
    "publisher": {"@type": "Organization", "name": "Quayside Gazette"},
}
JSON_LD_PAGE = f"""<html><head><title>Harbour fees double</title>
<script type="application/ld+json">{json.dumps(JSON_LD)}</script></head>
<body><article>{ARTICLE}</article></body></html>"""
# Years and dates in the footer and the text, but no publication date in the markup.
UNDATED_PAGE = f"""<html><head><title>Harbour fees double</title></head><body><article>
<h1>Harbour fees double</h1>{ARTICLE}<p>The fee was last raised on 3 March 2019.</p></article>
<footer>© 2023 Tollby Herald</footer></body></html>"""


def cli(*args: str, input: bytes | None = None) -> Result:
    """Run the CLI in this process, with stdout and stderr kept apart."""
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


# --- outlet and date from the page ---------------------------------------------------------------
def test_open_graph_gives_outlet_and_date(tmp_path: Path, settings: Settings) -> None:
    loaded = load_file(write(tmp_path / "og.html", OG_PAGE.encode()), settings)
    assert (loaded.title, loaded.outlet, loaded.date) == (
        "Harbour fees double",
        "Tollby Herald",
        "2025-03-04",
    )


def test_json_ld_gives_outlet_and_date(tmp_path: Path, settings: Settings) -> None:
    loaded = load_file(write(tmp_path / "ld.html", JSON_LD_PAGE.encode()), settings)
    assert (loaded.outlet, loaded.date) == ("Quayside Gazette", "2024-11-02")
    assert all(p in loaded.text for p in PARAGRAPHS)


def test_a_page_without_a_date_has_none(tmp_path: Path, settings: Settings) -> None:
    # Neither the copyright year nor a date the article's prose mentions ("3 March 2019") is its own.
    loaded = load_file(write(tmp_path / "undated.html", UNDATED_PAGE.encode()), settings)
    assert loaded.date == "" and loaded.outlet == ""


def test_a_url_gives_outlet_and_date(web_server: WebServer, store_env: StoreEnv) -> None:
    web_server.pages["/fees"] = (200, "text/html", JSON_LD_PAGE.encode())
    web_server.pages["/undated"] = (200, "text/html", UNDATED_PAGE.encode())
    settings = store_env.settings.model_copy(update={"allow_private_urls": True})
    with store_env.open() as store:
        dated = ingest(
            store, store_env.collection, load_url(f"{web_server.base}/fees", settings), settings
        ).meta
        assert (dated.outlet, dated.date, dated.encoding) == ("Quayside Gazette", "2024-11-02", "utf-8")
        undated = load_url(f"{web_server.base}/undated", settings)
        meta = ingest(store, store_env.collection, undated, settings).meta
        assert meta.date == "" and store.meta(store_env.collection, meta.id).date == ""


def test_the_users_fields_win_over_the_page(store_env: StoreEnv, tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path / "og.html", OG_PAGE.encode()), store_env.settings)
    with store_env.open() as store:
        meta = ingest(
            store,
            store_env.collection,
            loaded,
            store_env.settings,
            title="Fees row",
            outlet="Harbour Newsletter",
            date="2025-03-05",
        ).meta
        stored = store.meta(store_env.collection, meta.id)
        assert (stored.title, stored.outlet, stored.date) == ("Fees row", "Harbour Newsletter", "2025-03-05")


def test_pasted_text_keeps_the_fields_typed_and_invents_no_date(store_env: StoreEnv) -> None:
    with store_env.open() as store:
        plain = ingest(
            store, store_env.collection, Loaded(text=FRENCH, source="pasted text"), store_env.settings
        )
        assert plain.meta.date == "" and plain.meta.outlet == ""
        typed = Loaded(text=GERMAN, source="pasted text", outlet="Kühlinger Bote", date="2025-06-01")
        meta = ingest(store, store_env.collection, typed, store_env.settings).meta
        assert (meta.outlet, meta.date) == ("Kühlinger Bote", "2025-06-01")


@pytest.mark.parametrize("bad", ["31/10/2025", "2025-02-30", "2025-10-31T09:00", "yesterday", "20251031"])
def test_a_bad_date_is_refused_and_nothing_is_stored(store_env: StoreEnv, bad: str) -> None:
    with pytest.raises(InputError, match=r"bad date .*YYYY-MM-DD"):
        check_date(bad)
    with store_env.open() as store:
        with pytest.raises(InputError, match="bad date"):
            ingest(store, store_env.collection, Loaded(text=FRENCH, source="t", date=bad), store_env.settings)
        with pytest.raises(InputError, match="bad date"):
            ingest(store, store_env.collection, Loaded(text=FRENCH, source="t"), store_env.settings, date=bad)
        assert store.list(store_env.collection) == []


def test_iso_date_takes_the_day_and_guesses_nothing() -> None:
    assert iso_date("2025-03-04T18:30:00+01:00") == "2025-03-04"
    assert iso_date(" 2025-03-04 ") == "2025-03-04"
    assert [iso_date(v) for v in ["", "2025", "2025-13-01", "March 4, 2025", "04/03/2025"]] == [""] * 5
    assert check_date("") == "" and check_date("2024-02-29") == "2024-02-29"


# --- the command line ---------------------------------------------------------------------------
def test_cli_list_and_show_give_outlet_date_and_encoding(tmp_path: Path) -> None:
    page = write(tmp_path / "fees.html", OG_PAGE.encode())
    note = write(tmp_path / "note.txt", codecs.BOM_UTF16_BE + FRENCH.encode("utf-16-be"))
    added = cli("ingest", str(page), str(note))
    assert added.exit_code == 0, added.stderr
    page_id, note_id = (line.split("\t")[0] for line in added.stdout.splitlines())
    rows = {line.split("\t")[0]: line.split("\t") for line in cli("list").stdout.splitlines()}
    assert rows[page_id][3:] == ["Tollby Herald", "2025-03-04", "Harbour fees double"]
    assert rows[note_id][3:5] == ["", ""]  # a text file has no outlet or date unless given
    shown = cli("show", note_id).stdout
    assert "encoding: utf-16-be\n" in shown and f"\n\n{FRENCH}" in shown
    assert cli("show", "--text", note_id).stdout_bytes == FRENCH.encode("utf-8")
    assert "encoding: utf-8\n" in cli("show", page_id).stdout


def test_cli_date_option_for_pasted_text_and_its_errors() -> None:
    typed = cli(
        "ingest", "-", "--outlet", "Quay Notes", "--date", "2025-01-15", input=GERMAN.encode("cp1252")
    )
    assert typed.exit_code == 0, typed.stderr
    doc_id = typed.stdout.split("\t")[0]
    assert cli("list").stdout.split("\t")[3:5] == ["Quay Notes", "2025-01-15"]
    assert "encoding: cp1252\n" in cli("show", doc_id).stdout
    bad = cli("ingest", "-", "--date", "15.01.2025", input=FRENCH.encode())
    assert bad.exit_code == 1 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "error: bad date '15.01.2025': give the publication date as YYYY-MM-DD, e.g. 2025-10-31"
    ]
    assert len(cli("list").stdout.splitlines()) == 1
