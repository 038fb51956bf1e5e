"""The Gradio page: a thin layer over the service, `render` and the pure helpers in `ui_handlers`.

Import it after analytics and Hugging Face Hub lookups are switched off in the environment, as
`counterpoint serve` does: Gradio and huggingface_hub read those switches when they are imported.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from ..core import Counterpoint, open_service
from ..errors import CounterpointError
from ..models import Comparison
from ..settings import Settings
from . import handlers as h
from .css import PAGE_CSS
from .render import comparison_html
from .scripts import DELETE_JS, QUOTE_JS, SOURCE_JS

log = logging.getLogger(__name__)

# System fonts: nothing to fetch, and headless Chromium renders Gradio's bundled font poorly in bold.
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "sans-serif"]
FILE_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]

MODEL_POLL_S = 2.0


def model_html(state: str) -> str:
    """The local model's state for the page header: warming up, ready or failed; empty for others."""
    kind, text = {
        "ready": ("ready", "Model ready"),
        "off": ("warming", "Model starts with the first question"),
        "warming up": ("warming", "Model warming up… a question asked now waits for it"),
    }.get(state, ("failed", f"Model {state} (it is tried again on the next question)"))
    return "" if not state else f'<p class="cp-model cp-model-{kind}" role="status">{escape(text)}</p>'


def _collection(name: str | None) -> str:
    """The collection a page event is about; an emptied picker means the default."""
    return (name or "").strip() or "default"


def _failure(what: str, exc: Exception) -> str:
    """A one-line message for the page; unexpected errors are logged with their traceback."""
    if isinstance(exc, CounterpointError):
        return f"{what}: {exc}"
    log.exception("%s", what)
    return f"{what}: unexpected {type(exc).__name__}; the details are in the server log."


class Page:
    """The page's handlers over one service; `build()` wires them into Gradio Blocks."""

    def __init__(self, service: Counterpoint, export_dir: Path | None = None) -> None:
        self.service = service
        self.export_dir = export_dir or Path(tempfile.mkdtemp(prefix="counterpoint-export-"))

    # --- library -------------------------------------------------------------------------------
    def _library(self, collection: str) -> tuple[str, Any, Any]:
        """Library HTML, example questions and collection choices for `collection`."""
        collection = _collection(collection)
        names: list[str] = []
        try:
            names = self.service.collections()
            metas = self.service.documents(collection)
            library = h.library_html(metas, collection)
        except Exception as exc:  # the page's edge: show why, keep the page alive
            metas, library = [], h.notice_html([("error", _failure("Cannot list the library", exc))])
        examples = gr.Dataset(samples=[[q] for q in h.example_questions(metas)])
        choices = gr.Dropdown(choices=h.collection_choices(names, collection))
        return library, examples, choices

    def on_refresh(self, collection: str) -> tuple[str, Any, Any]:
        """Reload the library panel (page load, collection change)."""
        return self._library(collection)

    def on_add(
        self,
        files: list[str] | None,
        text: str,
        title: str,
        outlet: str,
        date: str,
        url: str,
        collection: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's documented way to get a tracker)
    ) -> tuple[Any, ...]:
        """Add the uploaded files, pasted text and URL; one message per input."""
        collection = _collection(collection)
        outcomes: list[h.Outcome] = []
        try:
            sources = h.page_sources(self.service.settings, files, text, url, title, outlet, date)
            outcomes = h.ingest_sources(self.service, sources, collection, lambda f, m: progress(f, desc=m))
            status = h.notice_html(h.outcome_notices(outcomes, collection))
        except Exception as exc:  # the page's edge
            status = h.notice_html([("error", _failure("Could not add", exc))])
        # Clear the inputs only when everything went in, so that a failed input can be fixed.
        done = bool(outcomes) and all(o.result is not None for o in outcomes)
        cleared = (None, "", "", "", "", "") if done else (gr.skip(),) * 6
        return (status, *self._library(collection), *cleared)

    def on_delete(self, collection: str, evt: gr.EventData) -> tuple[Any, ...]:
        """Delete the document whose Delete button was clicked."""
        collection = _collection(collection)
        data = evt._data if isinstance(evt._data, dict) else {}
        try:
            meta = self.service.delete(str(data.get("doc", "")), collection)
            status = h.notice_html([("ok", f"Deleted “{meta.title}” from {collection}.")])
        except Exception as exc:  # the page's edge
            status = h.notice_html([("error", _failure("Could not delete", exc))])
        return (status, *self._library(collection))

    # --- answers -------------------------------------------------------------------------------
    def on_ask(
        self,
        question: str,
        collection: str,
        use_cache: bool,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[Any, ...]:
        """Answer, and offer it for download; a failure shows in the answer panel."""
        collection = _collection(collection)
        progress(0.0, desc="Starting…")
        try:
            answer = self.service.ask(
                question or "",
                collection,
                on_progress=lambda stage, f: progress(f, desc=h.stage_label(stage)),
                use_cache=bool(use_cache),
            )
            json_path, md_path = h.export_files(answer, self.export_dir)
        except Exception as exc:  # the page's edge
            message = h.notice_html([("error", _failure("Could not answer", exc))])
            off = gr.DownloadButton(value=None, interactive=False)
            return message, None, off, off, h.SOURCE_PLACEHOLDER, gr.Sidebar(open=False), gr.skip()
        # The library steps aside so that the columns get the page's width; the old source goes.
        return (
            comparison_html(answer),
            answer,
            gr.DownloadButton(value=str(json_path), interactive=True),
            gr.DownloadButton(value=str(md_path), interactive=True),
            h.SOURCE_PLACEHOLDER,
            gr.Sidebar(open=False),
            gr.Sidebar(open=False),
        )

    def on_ask_live(
        self,
        question: str,
        collection: str,
        use_cache: bool,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Iterator[tuple[Any, ...]]:
        """`on_ask`, after showing the rules' preliminary answer (no model call) while the model works."""
        early = None
        try:
            early = self.service.preliminary(question or "", _collection(collection), bool(use_cache))
        except Exception:  # the model's answer below reports any problem with the question
            log.debug("no preliminary answer", exc_info=True)
        if early is not None and early.points:
            yield (comparison_html(early), early, *(gr.skip(),) * 5)
        yield self.on_ask(question, collection, use_cache, progress)

    def on_model(self) -> tuple[str, Any]:
        """The model state for the header; the poll stops once the model is ready or failed."""
        state = self.service.model_state()
        return model_html(state), gr.Timer(active=state in ("warming up", "off"))

    def on_quote(self, answer: Comparison | None, evt: gr.EventData) -> tuple[str, Any]:
        """The clicked quote's article, highlighted (sliced on the server, see render.source_html)."""
        return h.source_view(self.service, answer, evt._data), gr.Sidebar(open=True)

    # --- API -----------------------------------------------------------------------------------
    def api_ingest(
        self, text: str, url: str, file: str | None, collection: str, title: str, outlet: str, doc_id: str
    ) -> dict[str, Any]:
        """Store one document (exactly one of text, url or file); returns its summary."""
        return self._api(
            lambda: h.api_ingest(self.service, text, url, file, collection, title, outlet, doc_id)
        )

    def api_ask(self, question: str, collection: str) -> dict[str, Any]:
        """Compare the sides on `question`; returns the Comparison as a dict."""
        return self._api(lambda: self.service.ask(question, collection or "default").model_dump(mode="json"))

    def api_documents(self, collection: str) -> list[dict[str, Any]]:
        """The documents of a collection (metadata only)."""
        return self._api(lambda: [m.model_dump() for m in self.service.documents(collection or "default")])

    @staticmethod
    def _api(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except CounterpointError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    # --- layout --------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        """The page's Blocks; UI events are private, /ingest, /ask and /documents are the API."""
        private: dict[str, Any] = {"api_visibility": "private"}
        # delete_cache: uploads and exports older than a day leave Gradio's cache, checked hourly.
        blocks = {"title": "Counterpoint", "fill_width": True, "delete_cache": (3600, 86400)}
        with gr.Blocks(analytics_enabled=False, **blocks) as demo:
            gr.HTML(h.header_html(self.service.backend_info()), elem_id="cp-header-block")
            model_state = gr.HTML(model_html(self.service.model_state()), elem_id="cp-model-state")
            model_poll = gr.Timer(MODEL_POLL_S, active=self.service.uses_local_model())
            answer_state = gr.State(None)
            with gr.Sidebar(label="Library", width=380, elem_id="cp-library-panel") as library_bar:
                gr.Markdown("## Library")
                with gr.Tabs():
                    with gr.Tab("Files", elem_id="cp-tab-files"):
                        files = gr.File(
                            label="Articles (.txt, .md, .html, .pdf)", file_count="multiple",
                            file_types=FILE_TYPES, type="filepath", elem_id="cp-files",
                        )  # fmt: skip
                    with gr.Tab("Paste", elem_id="cp-tab-paste"):
                        text = gr.Textbox(label="Article text", lines=6, elem_id="cp-paste")
                        title = gr.Textbox(
                            label="Title", placeholder="from the first line", elem_id="cp-title"
                        )
                        with gr.Row():
                            outlet = gr.Textbox(label="Outlet", min_width=100, elem_id="cp-outlet")
                            date = gr.Textbox(
                                label="Date", placeholder="2025-11-07", min_width=100, elem_id="cp-date"
                            )
                    with gr.Tab("URL", elem_id="cp-tab-url"):
                        url = gr.Textbox(label="Web page", placeholder="https://…", elem_id="cp-url")
                add = gr.Button("Add to library", variant="primary", elem_id="cp-add")
                lib_status = gr.HTML(elem_id="cp-library-status")
                library = gr.HTML(js_on_load=DELETE_JS, apply_default_css=False, elem_id="cp-library")
            with gr.Group(elem_id="cp-ask-panel"):
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        label="Question", lines=2, scale=4, elem_id="cp-question",
                        placeholder="What does each side say about …?",
                    )  # fmt: skip
                    # One collection for the library and the question: the sidebar lists what is asked.
                    collection = gr.Dropdown(
                        choices=["default"], value="default", label="Collection", allow_custom_value=True,
                        info="Pick one, or type a new name to start one.", scale=1, min_width=200,
                        elem_id="cp-collection",
                    )  # fmt: skip
                examples = gr.Dataset(
                    components=[question], samples=[], label="Examples", elem_id="cp-examples"
                )
            with gr.Row(equal_height=True):
                ask = gr.Button("Compare the sides", variant="primary", scale=3, elem_id="cp-ask")
                use_cache = gr.Checkbox(value=True, label="Reuse a cached answer", scale=2, min_width=120)
                json_btn = gr.DownloadButton("JSON", interactive=False, size="md", scale=1, elem_id="cp-json")
                md_btn = gr.DownloadButton("Markdown", interactive=False, size="md", scale=1, elem_id="cp-md")
            answer = gr.HTML(
                h.ANSWER_PLACEHOLDER, js_on_load=QUOTE_JS, apply_default_css=False, elem_id="cp-answer-panel"
            )
            with gr.Sidebar(
                label="Source", width=540, open=False, position="right", elem_id="cp-source-panel"
            ) as source_bar:
                source = gr.HTML(
                    h.SOURCE_PLACEHOLDER, js_on_load=SOURCE_JS, apply_default_css=False, elem_id="cp-source"
                )

            model_poll.tick(self.on_model, None, [model_state, model_poll], show_progress="hidden", **private)
            lib_outputs = [library, examples, collection]
            demo.load(self.on_refresh, collection, lib_outputs, **private)
            collection.change(self.on_refresh, collection, lib_outputs, **private)
            add.click(
                self.on_add,
                [files, text, title, outlet, date, url, collection],
                [lib_status, *lib_outputs, files, text, title, outlet, date, url],
                show_progress_on=[lib_status],
                **private,
            )
            library.delete_doc(self.on_delete, collection, [lib_status, *lib_outputs], **private)
            examples.click(lambda sample: sample[0], examples, question, **private)
            ask_event: dict[str, Any] = {
                "fn": self.on_ask_live,
                "inputs": [question, collection, use_cache],
                "outputs": [answer, answer_state, json_btn, md_btn, source, source_bar, library_bar],
                "show_progress_on": [answer],
                **private,
            }
            ask.click(**ask_event)
            question.submit(**ask_event)
            answer.quote(self.on_quote, answer_state, [source, source_bar], show_progress="hidden", **private)
            self._api_endpoints()
        return demo

    def _api_endpoints(self) -> None:
        """API-only endpoints: hidden components give them typed, checked inputs (uploads included)."""
        with gr.Column(visible=False):
            text, url = gr.Textbox(label="text"), gr.Textbox(label="url")
            file = gr.File(label="file", type="filepath")
            collection = gr.Textbox(value="default", label="collection")
            title, outlet = gr.Textbox(label="title"), gr.Textbox(label="outlet")
            doc_id, question = gr.Textbox(label="id"), gr.Textbox(label="question")
            out, docs = gr.JSON(label="result"), gr.JSON(label="documents")
        inputs = [text, url, file, collection, title, outlet, doc_id]
        gr.on([], self.api_ingest, inputs, out, api_name="ingest")
        gr.on([], self.api_ask, [question, collection], out, api_name="ask")
        gr.on([], self.api_documents, collection, docs, api_name="documents")


def launch_options(settings: Settings) -> dict[str, Any]:
    """`Blocks.launch` arguments from settings: loopback by default, no share link, optional auth."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": settings.auth_pair,
        "auth_message": "Counterpoint: sign in with the COUNTERPOINT_AUTH user and password.",
        "share": False,
        "max_file_size": settings.max_file_bytes,
        "footer_links": ["api", "settings"],
        "css": PAGE_CSS,
        "theme": gr.themes.Default(font=SYSTEM_FONTS),
    }


def serve(settings: Settings) -> None:
    """Open the service and serve the page until interrupted (`counterpoint serve`, `python app.py`)."""
    with open_service(settings) as service, tempfile.TemporaryDirectory(prefix="counterpoint-") as exports:
        info = service.backend_info()
        store = settings.chroma_host or settings.data_dir
        # Names only: the settings' secrets (API key, auth password) are never printed.
        line = f"Counterpoint: backend {info.backend}, model {info.model}, store {store}"
        print(line, file=sys.stderr)
        demo = Page(service, export_dir=Path(exports)).build()
        demo.queue(default_concurrency_limit=1).launch(prevent_thread_lock=True, **launch_options(settings))
        # The page is up: start the local model now, so that the first question does not wait for it.
        service.warm_up()
        demo.block_thread()
