"""The Gradio chat: a conversation with cited answers, a sources panel, filters, feedback and the article library.

`build_chat(assistant)` returns the Blocks; `newsrag ui` serves it alone (ui.http.server.serve_chat) and `newsrag serve` mounts it
at "/" beside the HTTP API. Styles and scripts travel inside the Blocks, so both ways look the same.
"""

import os
import threading
from typing import Any

from rag import Assistant

from . import library
from .assets import asset_text
from .conversation import ChatSession, browser_secret
from .http.auth import Access
from .library_tab import build_library_tab
from .render import header_html
from .timeline_tab import build_timeline_tab

CHAT_HEIGHT = "max(380px, calc(100vh - 340px))"


def build_chat(assistant: Assistant, *, max_upload_bytes: int | None = None, warm_up: bool = True,
               access: Access | None = None) -> Any:
    """The chat and library screens over `assistant` as a `gr.Blocks` (not launched).

    `max_upload_bytes` caps each uploaded file (default: the max_article_bytes setting); `warm_up` loads
    the embedding model in the background so the first question is answered without waiting for it;
    with keys in `access`, only the admin login may add or delete articles.
    """
    os.environ.setdefault("GRADIO_RUN_HISTORY", "False")  # the conversation is kept by the app itself
    import gradio as gr

    session = ChatSession(assistant)
    if warm_up:
        threading.Thread(target=session.warm_up, name="newsrag-warm-up", daemon=True).start()
    collection = session.collection()
    with gr.Blocks(title="newsrag", fill_width=True) as demo:
        header = gr.HTML(
            header_html(collection.summary), head=f"<style>{asset_text('newsrag.css')}</style>", js_on_load=None,
        )
        saved = gr.BrowserState(
            None, storage_key=f"newsrag-chat-{assistant.settings.collection}", secret=browser_secret(assistant.settings)
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                ui = _chat_tab(gr, session, collection)
            with gr.Tab("Timeline", id="timeline"):
                build_timeline_tab(gr, session)
            with gr.Tab("Library", id="library") as library_tab:
                lib = build_library_tab(gr, session, max_upload_bytes, access)
        _wire_chat(gr, demo, session, ui, saved, header)
        refresh_outputs = [header, ui["sites"], ui["chatbot"]]
        lib.on_change(lambda: session.collection_updates(gr), refresh_outputs)
        library_tab.select(lib.refresh, lib.inputs, lib.outputs, **lib.REFRESH_QUEUE)
    return demo


def _chat_tab(gr: Any, session: ChatSession, collection: library.Collection) -> dict[str, Any]:
    with gr.Row(equal_height=False, elem_id="nr-chat-row"):
        with gr.Column(scale=3, min_width=340):
            chatbot = gr.Chatbot(
                elem_id="nr-chatbot", show_label=False, height=CHAT_HEIGHT, buttons=[],
                placeholder=session.placeholder(collection), feedback_options=("Like", "Dislike"),
                examples=session.example_messages(), layout="bubble", autoscroll=True,
            )
            question = gr.Textbox(
                elem_id="nr-question", show_label=False, placeholder="Ask about the articles…", lines=1,
                max_lines=5, submit_btn="Ask", autofocus=True, max_length=session.max_question_chars,
            )
            with gr.Row():
                new_chat = gr.Button("+ New chat", size="sm", variant="secondary", elem_id="nr-new-chat", scale=0)
                filter_note = gr.Markdown("", elem_id="nr-filter-summary")
            with gr.Accordion("Filters", open=False, elem_id="nr-filters") as filters:
                with gr.Row():
                    since = gr.Textbox(label="From", placeholder="2021-08-01", max_lines=1, elem_id="nr-since")
                    until = gr.Textbox(label="To", placeholder="today", max_lines=1, elem_id="nr-until")
                    as_of = gr.Textbox(label="As of", placeholder="now", max_lines=1, elem_id="nr-as-of",
                                       info="Empty: now. Later articles are left out; 'last week' counts from it.")
                sites = gr.CheckboxGroup(
                    label="Sources", choices=list(collection.sites), elem_id="nr-sites",
                    info="None ticked: all sources.",
                )
                answerer = gr.Radio(
                    label="Answerer", choices=session.answerer_choices(), value=session.default_answerer,
                    visible=len(session.answerer_choices()) > 1, elem_id="nr-answerer",
                    info="Either way, every sentence is checked against its cited passage.",
                )
                clear = gr.Button("Clear filters", size="sm", variant="secondary")
        with gr.Column(scale=2, min_width=300):
            gr.HTML('<div class="nr-panel-title">Sources</div>', js_on_load=None)
            sources = gr.HTML(
                session.sources_html([]), elem_id="nr-sources-panel", js_on_load=asset_text("newsrag.js"),
            )
    return {"chatbot": chatbot, "question": question, "new_chat": new_chat, "filter_note": filter_note,
            "filters": filters, "since": since, "until": until, "sites": sites, "answerer": answerer,
            "clear": clear, "sources": sources, "as_of": as_of}


def _wire_chat(gr: Any, demo: Any, session: ChatSession, ui: dict[str, Any], saved: Any, header: Any) -> None:
    chatbot, question, sources = ui["chatbot"], ui["question"], ui["sources"]
    filter_inputs = [ui["since"], ui["until"], ui["sites"], ui["answerer"], ui["as_of"]]
    demo.load(session.restore, [saved], [chatbot, sources, header, ui["sites"]])
    ask_outputs = [chatbot, sources, saved, question]
    question.submit(
        session.ask, [question, saved, *filter_inputs], ask_outputs, concurrency_limit=4, show_progress="hidden",
    )
    def pick_example(event: gr.SelectData) -> str:
        return session.pick_example(event)

    def rate(saved_value: Any, like: gr.LikeData) -> tuple[Any, Any]:
        return session.rate(saved_value, like)

    chatbot.example_select(pick_example, None, question).then(
        session.ask, [question, saved, *filter_inputs], ask_outputs, concurrency_limit=4, show_progress="hidden",
    )
    ui["new_chat"].click(session.new_chat, None, [chatbot, sources, saved, question])
    chatbot.clear(session.new_chat, None, [chatbot, sources, saved, question])
    chatbot.like(rate, [saved], [saved, chatbot])
    summary = {"fn": session.filter_summary, "inputs": filter_inputs, "outputs": [ui["filter_note"], ui["filters"]],
               "show_progress": "hidden"}
    for day in (ui["since"], ui["until"], ui["as_of"]):  # typed dates: checked when the box is left, then shown as understood
        day.blur(**summary)
        day.submit(**summary)
    ui["sites"].change(**summary)
    ui["clear"].click(lambda: ("", "", [], ""), None, [*filter_inputs[:3], ui["as_of"]]).then(**summary)
