"""The web page: a thin Gradio layer over `presenting` (formatting) and `feedback` (storage).

    build_server(settings) -> FastAPI   the page at /, documents at /source/..., GET /healthz
    build_app(settings)    -> gr.Blocks the page alone (no /source or /healthz routes)

The assistant is built on first use by an `AssistantHolder`; when that fails (no index
yet, Chroma server down) the page shows the error and how to fix it, and the next
question tries again, so the page recovers without a restart. gradio and fastapi are
imported lazily: importing this module is cheap.
"""


import datetime as dt
import html
import logging
import os
import threading
import traceback
from dataclasses import asdict
from typing import Any, Callable

from . import presenting as P
from .errors import AssistantError, IndexMissingError, StoreUnavailableError
from .feedback import FeedbackStore, scrub
from .records import Answer, Citation

log = logging.getLogger(__name__)


def log_unexpected(what: str) -> None:
    """Log a bug with its traceback, scrubbed: an exception's text may quote the question,
    and the log must not keep an NHS number, phone, email or date of birth typed into it."""
    log.error("%s\n%s", what, scrub(traceback.format_exc()))


SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


def answer_concurrency(settings) -> int:
    """How many answers the page computes at once: one `Assistant` is shared by its threads
    (tests/test_parallel.py shows their answers equal one thread's)."""
    return settings.answer_concurrency or os.cpu_count() or 1


class AssistantHolder:
    """Builds the assistant once, and again after a failure, never two at a time."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._assistant = None
        self._lock = threading.Lock()
        self.error: str | None = None

    def get(self):
        with self._lock:
            if self._assistant is None:
                try:
                    self._assistant = self._factory()
                except AssistantError as exc:
                    self.error = str(exc)
                    raise
                self.error = None
            return self._assistant

    def discard(self, reason: str) -> None:
        """Forget the assistant so that the next question rebuilds it (the index may be back)."""
        with self._lock:
            self._assistant = None
            self.error = reason

    @property
    def ready(self) -> bool:
        return self._assistant is not None


def default_factory(settings) -> Callable[[], Any]:
    embedder = None  # kept across rebuilds: recovering from a Chroma outage need not reload the model

    def build():
        nonlocal embedder
        from .chain import Assistant
        from .embedding import build_embedder

        embedder = embedder or build_embedder(settings)
        return Assistant.from_settings(settings, embedder=embedder)

    return build


# -- what the handlers do, without gradio ----------------------------------------------------
def citation_dicts(citations) -> list[dict]:
    return [asdict(c) for c in citations]


def citations_from(dicts) -> tuple[Citation, ...]:
    return tuple(Citation(**d) for d in dicts or ())


class Conversation:
    """The page's behaviour as plain functions of plain values (tested without a server).

    A conversation's state is `messages` (what the chatbot shows) and `exchanges`
    ({assistant message index: {question, answer, status, audience, citations}}): the raw
    answers feed the chain's history and the feedback rows.
    """

    def __init__(self, holder: AssistantHolder, store: FeedbackStore):
        self.holder = holder
        self.store = store

    def ask(self, question: str, audience: str, messages: list, exchanges: dict) -> tuple[list, dict, dict]:
        """Append the question and the reply; returns (messages, exchanges, this exchange)."""
        audience = audience if audience in P.AUDIENCES else "patient"
        history = P.history_turns(exchanges[k] for k in sorted(exchanges))
        # An earlier question back's buttons go once the conversation moves on: pressed later,
        # they would no longer answer it.
        messages = [{k: v for k, v in m.items() if k != "options"} for m in messages]
        messages.append({"role": "user", "content": P.escape_user_text(question)})
        exchange = {"question": question, "audience": audience, "answer": "", "status": "error", "citations": []}
        try:
            answer: Answer = self.holder.get().ask(question, audience=audience, history=history)
        except (IndexMissingError, StoreUnavailableError) as exc:
            self.holder.discard(str(exc))
            reply = P.error_reply(str(exc))
        except AssistantError as exc:
            reply = P.error_reply(str(exc))
        except Exception:
            log_unexpected("answering failed")
            reply = P.error_reply(P.UNEXPECTED)
        else:
            exchange.update(answer=answer.answer, status=answer.status,
                            citations=citation_dicts(answer.citations))
            reply = P.chat_reply(answer, audience)
        message = {"role": "assistant", "content": reply}
        if exchange["status"] == "clarify":  # each section offered is a button that sends its words
            message["options"] = [{"label": o["label"], "value": o["label"]}
                                  for o in (answer.decision or {}).get("clarify", [])]
        messages.append(message)
        exchanges = {**exchanges, len(messages) - 1: exchange}
        return messages, exchanges, exchange

    def sources_for(self, index: int | None, exchanges: dict) -> str:
        exchange = exchanges.get(index) if index is not None else None
        if not exchange:
            return P.SOURCES_EMPTY
        return P.sources_panel(citations_from(exchange["citations"]), exchange["question"])

    def rate(self, index: int | None, rating: str | None, exchanges: dict, feedback_ids: dict) -> tuple[dict, str]:
        """Store, change or (rating None) withdraw the rating of the answer at `index`."""
        exchange = exchanges.get(index) if index is not None else None
        if exchange is None:
            return feedback_ids, "There is no answer to rate yet."
        feedback_ids = dict(feedback_ids)
        existing = feedback_ids.get(index)
        if rating is None:
            if existing is not None:
                self.store.delete(existing)
                feedback_ids.pop(index)
            return feedback_ids, "Your rating was withdrawn."
        if existing is not None and self.store.update(existing, rating=rating):
            pass
        else:
            feedback_ids[index] = self.store.add(
                rating=rating, question=exchange["question"], answer=exchange["answer"],
                citations=exchange["citations"], audience=exchange["audience"], status=exchange["status"])
        label = "helpful" if rating == "helpful" else "not helpful"
        return feedback_ids, f"Thank you: we recorded this answer as {label}."

    def comment(self, index: int | None, text: str, feedback_ids: dict) -> str:
        feedback_id = feedback_ids.get(index) if index is not None else None
        if feedback_id is None:
            return "Please choose Helpful or Not helpful first."
        if not text.strip():
            return "The comment is empty: type it in the box above."
        self.store.update(feedback_id, comment=text.strip())
        return "Thank you: your comment was saved."

    def status(self) -> str:
        return P.status_banner(self.holder.error)


# -- the page ----------------------------------------------------------------------------------
CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
#app-header { border-bottom: 4px solid #005eb8; padding-bottom: .5rem; }
#app-header h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .25rem; }
#app-header p { margin: .2rem 0; font-size: 1rem; }
.emergency-strip { background: #fff2b3; color: #1b2631; border-left: 6px solid #b00020;
  padding: .5rem .75rem; border-radius: 6px; font-size: 1rem; }
.emergency-strip a, .urgent-banner a, .error-note a, .refusal-note a, .unsure-note a { font-weight: 700; }
.emergency-strip strong { color: #1b2631 !important; }
.emergency-strip a { color: #003d78 !important; }  /* same light box in dark mode: keep dark text */
.urgent-banner { background: #b00020; color: #ffffff !important; padding: .75rem 1rem; border-radius: 8px;
  font-size: 1.1rem; line-height: 1.45; border: 3px solid #6b0013; margin-bottom: .5rem; }
.urgent-banner strong, .urgent-banner a { color: #ffffff !important; }
.refusal-title { margin: 0 0 .25rem !important; color: #7a4100 !important; }
.dark .refusal-title { color: #ffd27a !important; }
.refusal-note, .unsure-note { background: #fff4d6; color: #1b2631 !important; border-left: 6px solid #b36b00;
  padding: .6rem .8rem; border-radius: 6px; margin-bottom: .5rem; }
.refusal-note a, .refusal-note strong, .unsure-note a, .unsure-note strong { color: #1b2631 !important; }
.error-note { background: #fde8e8; color: #4a0000 !important; border-left: 6px solid #b00020;
  padding: .6rem .8rem; border-radius: 6px; }
.error-note a, .error-note strong { color: #4a0000 !important; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.sources h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
.sources-hint, .sources-for { color: var(--body-text-color-subdued); margin: 0 0 .5rem; }
.source-list { list-style: none; padding: 0; margin: 0; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .75rem;
  margin: 0 0 .75rem; background: var(--background-fill-primary); }
.source-title { font-weight: 700; margin: 0 0 .25rem; }
.source-n { color: #005eb8; }
.dark .source-n { color: #8cc4ff; }
.source-meta { display: grid; grid-template-columns: max-content 1fr; gap: 0 .75rem; margin: 0 0 .4rem;
  font-size: .92rem; }
.source-meta dt { font-weight: 600; } .source-meta dd { margin: 0; }
.source-excerpt { margin: .25rem 0 .5rem; padding: .25rem .75rem; border-left: 4px solid #768692;
  font-size: .95rem; max-height: 16rem; overflow-y: auto; }
.source-excerpt:focus-visible { outline: 3px solid #ffcc00; outline-offset: 2px; }
.source-excerpt p, .source-excerpt ul { margin: .25rem 0; }
.source-open { font-weight: 600; }
#feedback-panel { padding: .5rem .75rem; }
a:focus-visible, button:focus-visible { outline: 3px solid #ffcc00 !important; outline-offset: 2px; }
footer { display: none !important; }
#chat .message-wrap .prose.chatbot.md { opacity: 1 !important; }  /* gradio dims chat text to 0.8 */
.chips { flex-wrap: wrap !important; gap: .5rem !important; }
.chips > button { flex: 0 1 auto !important; min-width: 0 !important; width: auto !important;
  text-align: left; white-space: normal; min-height: 2.25rem; font-size: .95rem !important; }
#chat .placeholder-content { text-align: center; padding: 0 1.5rem; color: var(--body-text-color-subdued); }
#chat .placeholder-content h2 { color: var(--body-text-color); font-size: 1.15rem; }
#feedback-panel .chips > button { border: 1px solid var(--border-color-primary); }
.emergency-strip a { padding: 0 !important; margin: 0 !important; }
@media (max-width: 480px) {
  #app-header h1 { font-size: 1.3rem; }
  .gradio-container { padding: 0 6px !important; }
}
"""


def theme():
    import gradio as gr

    return gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=SYSTEM_FONTS,
                             font_mono=MONO_FONTS).set(
        button_primary_background_fill="#005eb8",
        button_primary_background_fill_hover="#003d78",
        button_primary_text_color="#ffffff",
        body_text_color_subdued="#4c6272",
        link_text_color="#004b93",
        link_text_color_visited="#4c2c92",
    )


PLACEHOLDER = """## Ask a question about CAR-T therapy

Type it below, or choose one of the common questions. Every answer shows where it comes from: the numbers such as [1] lead to the approved document."""

# Show the start of the newest message (an urgent banner opens the reply): the chat box scrolls
# to it, and on a narrow screen the page scrolls to the conversation too.
SCROLL_TO_LATEST = """() => { setTimeout(() => {
  const rows = document.querySelectorAll('#chat .message-row');
  const last = rows[rows.length - 1];
  if (!last) return;
  const box = last.closest('.bubble-wrap, .panel-wrap');
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 40;
  if (window.innerWidth < 700) document.getElementById('chat').scrollIntoView({block: 'start'});
}, 60); }"""

HEADER = f"""
<header id="app-header">
<h1>CAR-T therapy questions</h1>
<p>Riverside Cellular Therapy Centre. Answers come only from the centre's approved leaflets and
guides, with the source of each statement. The assistant does not know your own case: it does not
replace your care team.</p>
<p class="emergency-strip">Feeling unwell after CAR-T? Call the 24-hour CAR-T line on
<a href="tel:01632960123">{P.LINE_24H}</a>. Emergency (a fit, a collapse, cannot be woken): call <strong>999</strong>.</p>
</header>
"""


def build_app(settings, assistant_factory: Callable[[], Any] | None = None, *,
              holder: AssistantHolder | None = None):
    """The page. Serve it with `build_server` to get the /source and /healthz routes too."""
    import gradio as gr

    holder = holder or AssistantHolder(assistant_factory or default_factory(settings))
    convo = Conversation(holder, FeedbackStore(settings.feedback_db))

    def accept(text, messages):
        text = (text or "").strip()
        if not text:
            return gr.skip(), gr.skip(), "", gr.skip()
        shown = list(messages) + [{"role": "user", "content": P.escape_user_text(text)}]
        return shown, text, "", gr.update(interactive=False)

    def answer(pending, audience, messages, exchanges):
        if not pending:
            return (gr.skip(),) * 10 + ("", gr.update(interactive=True))
        messages, exchanges, exchange = convo.ask(pending, audience, messages, exchanges)
        index = len(messages) - 1
        rated = exchange["status"] != "error"
        return (messages, messages, exchanges, convo.sources_for(index, exchanges), _status(convo.status()),
                index, gr.update(visible=rated), gr.update(visible=False, value=""),
                gr.update(visible=False), "", "", gr.update(interactive=True))

    def _status(html):
        return gr.update(value=html, visible=bool(html))

    def rate_latest(rating, index, exchanges, feedback_ids):
        feedback_ids, note = convo.rate(index, rating, exchanges, feedback_ids)
        ok = index in feedback_ids
        return feedback_ids, _note(note), gr.update(visible=ok), gr.update(visible=ok)

    def on_like(exchanges, feedback_ids, data: gr.LikeData):
        index = data.index if isinstance(data.index, int) else data.index[0]
        rating = {True: "helpful", False: "not_helpful"}.get(data.liked)
        feedback_ids, note = convo.rate(index, rating, exchanges, feedback_ids)
        ok = index in feedback_ids
        return (index, feedback_ids, _note(note), gr.update(visible=True), gr.update(visible=ok, value=""),
                gr.update(visible=ok))

    def on_comment(text, index, feedback_ids):
        note = convo.comment(index, text or "", feedback_ids)
        saved = note.startswith("Thank you")
        return _note(note), gr.update(value="" if saved else text)

    def _note(text):
        return f'<p role="status" class="feedback-note">{html.escape(text)}</p>' if text else ""

    def on_select(exchanges, data: gr.SelectData):
        index = data.index if isinstance(data.index, int) else data.index[0]
        return convo.sources_for(index, exchanges) if index in exchanges else gr.skip()

    def on_audience(audience):
        return gr.update(visible=audience != "clinician"), gr.update(visible=audience == "clinician")

    def new_conversation():
        return ([], [], {}, {}, None, P.SOURCES_EMPTY, gr.update(visible=False),
                gr.update(visible=False, value=""), gr.update(visible=False), "")

    with gr.Blocks(title="CAR-T therapy questions - Riverside Cellular Therapy Centre",
                   analytics_enabled=False) as demo:
        messages = gr.State([])
        exchanges = gr.State({})
        feedback_ids = gr.State({})
        active = gr.State(None)  # index of the answer the feedback panel is about
        pending = gr.State("")

        gr.HTML(HEADER, js_on_load=None, padding=False)
        status = gr.HTML("", visible=False, elem_id="status", js_on_load=None)
        audience = gr.Radio([(label, key) for key, label in P.AUDIENCES.items()], value="patient",
                            label="I am asking as a", elem_id="audience")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Conversation", elem_id="chat", height=480, buttons=["copy"], autoscroll=False,
                    feedback_options=("Like", "Dislike"), layout="bubble", line_breaks=False,
                    placeholder=PLACEHOLDER,
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="Your question", placeholder="Type your question here",
                                          lines=1, max_lines=4, scale=5, elem_id="question",
                                          autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="send")
                with gr.Column(visible=True, elem_id="examples-patient") as patient_examples:
                    gr.Markdown("**Questions patients and carers often ask** (select one to ask it):")
                    with gr.Row(elem_classes="chips"):
                        patient_buttons = [gr.Button(q, size="sm", variant="secondary") for q in P.EXAMPLES["patient"]]
                with gr.Column(visible=False, elem_id="examples-clinician") as clinician_examples:
                    gr.Markdown("**Questions clinicians often ask** (select one to ask it):")
                    with gr.Row(elem_classes="chips"):
                        clinician_buttons = [gr.Button(q, size="sm", variant="secondary") for q in P.EXAMPLES["clinician"]]
                with gr.Column(visible=False, elem_id="feedback-panel", variant="panel") as feedback_panel:
                    gr.Markdown("**Was this answer helpful?** You can also use the thumbs under any answer.")
                    with gr.Row(elem_classes="chips"):
                        helpful = gr.Button("Helpful", size="sm", elem_id="helpful")
                        not_helpful = gr.Button("Not helpful", size="sm", elem_id="not-helpful")
                    comment = gr.Textbox(label="Comment (optional)", visible=False, lines=2, elem_id="comment",
                                         info="Please leave out names, NHS numbers and contact details.")
                    with gr.Row(elem_classes="chips"):
                        send_comment = gr.Button("Send comment", size="sm", visible=False, elem_id="send-comment")
                    feedback_note = gr.HTML("", js_on_load=None, elem_id="feedback-note")
                with gr.Row(elem_classes="chips"):
                    clear = gr.Button("Start a new conversation", variant="secondary", size="sm", elem_id="clear")
            with gr.Column(scale=2, min_width=280):
                sources = gr.HTML(P.SOURCES_EMPTY, elem_id="sources", js_on_load=None)

        answer_outputs = [chatbot, messages, exchanges, sources, status, active, feedback_panel, comment,
                          send_comment, feedback_note, pending, send]

        def wire(event, fill=None):
            """Question -> chat at once (accept), then the answer; an example first fills the box."""
            if fill is not None:
                event = event(fill, None, question, queue=False, api_visibility="private").then
            event(accept, [question, messages], [chatbot, pending, question, send],
                  queue=False, api_visibility="private").then(
                None, js=SCROLL_TO_LATEST).then(
                answer, [pending, audience, messages, exchanges], answer_outputs,
                api_visibility="private", show_progress="minimal",
                concurrency_limit=answer_concurrency(settings), concurrency_id="answer").then(
                None, js=SCROLL_TO_LATEST)

        wire(question.submit)
        wire(send.click)

        def chosen_option(data: gr.SelectData):
            return data.value

        wire(chatbot.option_select, chosen_option)
        for button, text in zip(patient_buttons + clinician_buttons, P.EXAMPLES["patient"] + P.EXAMPLES["clinician"]):
            wire(button.click, lambda t=text: t)

        audience.change(on_audience, audience, [patient_examples, clinician_examples],
                        queue=False, api_visibility="private")
        helpful.click(lambda i, e, f: rate_latest("helpful", i, e, f), [active, exchanges, feedback_ids],
                      [feedback_ids, feedback_note, comment, send_comment], api_visibility="private")
        not_helpful.click(lambda i, e, f: rate_latest("not_helpful", i, e, f), [active, exchanges, feedback_ids],
                          [feedback_ids, feedback_note, comment, send_comment], api_visibility="private")
        chatbot.like(on_like, [exchanges, feedback_ids],
                     [active, feedback_ids, feedback_note, feedback_panel, comment, send_comment],
                     api_visibility="private")
        chatbot.select(on_select, [exchanges], [sources], api_visibility="private")
        send_comment.click(on_comment, [comment, active, feedback_ids], [feedback_note, comment],
                           api_visibility="private")
        comment.submit(on_comment, [comment, active, feedback_ids], [feedback_note, comment],
                       api_visibility="private")
        chatbot.clear(new_conversation, None,
                      [chatbot, messages, exchanges, feedback_ids, active, sources, feedback_panel, comment,
                       send_comment, feedback_note], queue=False, api_visibility="private")
        clear.click(new_conversation, None,
                    [chatbot, messages, exchanges, feedback_ids, active, sources, feedback_panel, comment,
                     send_comment, feedback_note], queue=False, api_visibility="private")
        demo.load(lambda: _status(convo.status()), None, status, queue=False, api_visibility="private")

        def ask(question: str, audience: str = "patient") -> dict:
            """Answer one question from the approved documents: status, answer text, citations."""
            # A user-facing error is an answer, not a crash: no traceback in the server log.
            if audience not in P.AUDIENCES:
                raise gr.Error(f"audience must be one of {', '.join(P.AUDIENCES)}", print_exception=False)
            try:
                result = holder.get().ask(question, audience=audience, history=[])
            except (IndexMissingError, StoreUnavailableError) as exc:
                holder.discard(str(exc))
                raise gr.Error(str(exc), print_exception=False) from None
            except AssistantError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            except Exception:
                log_unexpected("answering failed")
                raise gr.Error(P.UNEXPECTED, print_exception=False) from None
            data = result.to_json()
            data.pop("passages", None)
            return data

        gr.api(ask, api_name="ask", concurrency_limit=answer_concurrency(settings), concurrency_id="answer")
    return demo


# -- the server: page, documents, health --------------------------------------------------------
def check_index(settings) -> str:
    """Cheap readiness check of the store behind the assistant; raises AssistantError."""
    from .store import IndexStore

    generation = IndexStore.connect(settings).live_generation()
    if generation is None:
        raise IndexMissingError(f"the index has no published collection '{settings.collection}' yet: "
                                "run `python ingest.py`")
    return f"index {generation.name} published {generation.published}"


def build_server(settings, assistant_factory: Callable[[], Any] | None = None):
    """FastAPI app: the page at /, whole documents at /source/<corpus>/<file>, GET /healthz,
    and the JSON API at /api/v1 (api.py)."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

    from .loading import Rejected, load_document

    holder = AssistantHolder(assistant_factory or default_factory(settings))
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.holder = holder
    from .api import build_api

    app.mount("/api/v1", build_api(settings, holder, log_unexpected=log_unexpected,
                                   concurrency=answer_concurrency(settings)))
    security_headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

    @app.get("/healthz")
    def healthz():
        try:
            holder.get()
            detail = check_index(settings)
        except AssistantError as exc:
            return JSONResponse({"status": "error", "detail": str(exc)}, status_code=503)
        except Exception as exc:  # a health check reports, it does not crash
            log_unexpected("health check failed")
            return JSONResponse({"status": "error", "detail": f"unexpected error: {type(exc).__name__}"},
                                status_code=503)
        return {"status": "ok", "detail": detail}

    @app.get("/source/{requested:path}")
    def source(requested: str):
        missing = HTMLResponse(P.not_found_page("There is no approved document at this address."),
                               status_code=404, headers={"Content-Security-Policy": P.DOCUMENT_CSP,
                                                         **security_headers})
        path = P.resolve_source(settings.corpus_dir, requested)
        if path is None:
            return missing
        try:
            document = load_document(path, source=requested)
        except Rejected:
            return missing
        if not P.servable(document.meta, dt.date.today()):
            return missing
        if document.format == "pdf":
            return FileResponse(path, media_type="application/pdf", headers={
                "Content-Disposition": f'inline; filename="{path.name}"', **security_headers})
        return HTMLResponse(P.document_page(document),
                            headers={"Content-Security-Policy": P.DOCUMENT_CSP, **security_headers})

    # The page takes no files, but gradio's routes for them would let anyone store files on
    # this server's disk. Registered before the page is mounted, so these win.
    @app.post("/gradio_api/upload")
    @app.post("/gradio_api/process_recording")
    def no_files():
        return JSONResponse({"detail": "this service does not accept files"}, status_code=403)

    demo = build_app(settings, holder=holder)
    gr.mount_gradio_app(
        app, demo, path="/", server_name=settings.host, server_port=settings.port,
        footer_links=[], run_history=False, ssr_mode=False, show_error=False, mcp_server=False,
        theme=theme(), css=CSS,
    )
    return app
