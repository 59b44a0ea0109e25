"""The Gradio chat: questions in, answers with their cited passages out."""

from __future__ import annotations

from typing import Any

from rag import Assistant, NewsragError
from rag.runtime import go_offline

from .render import answer_markdown

EXAMPLES = [
    "What did Milley say about ISIS-K?",
    "How many civilians were killed in the Kabul drone strike on Sunday?",
    "Why did the Bank of Eastland raise interest rates?",
]


def build_chat(assistant: Assistant) -> Any:
    """A Gradio ChatInterface over `assistant`."""
    go_offline()
    import gradio as gr

    def respond(message: str, history: list[Any]) -> str:
        try:
            return answer_markdown(assistant.ask(message))
        except NewsragError as exc:
            return f"⚠️ {exc}"

    return gr.ChatInterface(
        respond,
        title="newsrag",
        description="Ask about the stored news articles. Every sentence of an answer cites its passage.",
        examples=EXAMPLES,
        cache_examples=False,
    )


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve the chat and block; prints the URL."""
    app = build_chat(assistant)
    print(f"newsrag chat on http://{host}:{port}", flush=True)
    app.launch(server_name=host, server_port=port, share=False, show_error=True, quiet=True)
