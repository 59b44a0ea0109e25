"""The chat screen's behaviour: ask with streaming, restore a saved conversation, filters, feedback.

`ChatSession` holds the one shared `Assistant`; everything per reader lives in the browser (the saved
turns), so a reload or a server restart keeps the conversation.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from rag import AnswerStream, ArticleInfo, Assistant, Filters, NewsragError
from rag.errors import QueryError
from rag.settings import Settings

from . import library
from .dates import parse_day
from .feedback import record_feedback
from .render import answer_html, esc, header_html, nice_date, sources_panel_html, streaming_html
from .state import Turn, history_messages, load_turns, save_turns

SECRET_FILE = ".ui-secret"


def browser_secret(settings: Settings) -> str:
    """A key kept in the store dir that encrypts the conversation saved in the browser, stable across restarts."""
    path = Path(settings.store) / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    except OSError:
        return secrets.token_hex(32)  # a read-only store: conversations last until the server restarts
    return path.read_text().strip()


def question_html(question: str) -> str:
    return f'<div class="nr-question">{esc(" ".join(question.split()))}</div>'


class ChatSession:
    """The chat's event handlers over one shared Assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.default_answerer = getattr(assistant.answerer, "name", self.settings.answerer)
        self.max_question_chars = self.settings.max_question_chars
        self._articles: tuple[str, list[ArticleInfo]] | None = None  # (store revision, articles)
        self._examples: tuple[str, list[tuple[str, str]]] | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the embedding model now rather than on the first question."""
        try:
            self.assistant.embedder.embed_query("warm up")
        except NewsragError:
            pass  # the first question reports the problem to the reader

    # ------------------------------------------------------------ collection-derived pieces
    def articles(self) -> list[ArticleInfo]:
        """The stored articles, read again only when the store changed (its revision token moved)."""
        revision = self.assistant.store.revision()
        with self._lock:
            if self._articles is None or self._articles[0] != revision:
                self._articles = (revision, self.assistant.articles())
            return self._articles[1]

    def collection(self) -> library.Collection:
        return library.describe(self.articles())

    def examples(self) -> list[tuple[str, str]]:
        """(question, article id) drawn from the stored articles, worked out again only when the store changed."""
        from .examples import example_questions

        revision = self.assistant.store.revision()
        if self._examples is None or self._examples[0] != revision:
            self._examples = (revision, example_questions(self.articles(), self.assistant.store.article_texts))
        return self._examples[1]

    def example_messages(self) -> list[dict[str, str]]:
        return [{"text": question} for question, _ in self.examples()]

    def placeholder(self, collection: library.Collection) -> str:
        if not collection.articles:
            return "### The library is empty\nAdd articles in the **Library** tab, then ask about them here."
        return f"### Ask the news\n{collection.summary}. Every sentence of an answer cites its passage. Try:"

    def sources_html(self, turns: list[Turn]) -> str:
        return sources_panel_html(turns, {"summary": self.collection().summary} if not turns else None)

    def answerer_choices(self) -> list[tuple[str, str]]:
        """(label, name) of the answerers a reader may pick: more than one only when an LLM is configured."""
        from rag.answering import ANSWERERS

        llm_configured = bool(self.settings.llm_base_url or self.settings.llm_model)
        names = sorted(ANSWERERS) if llm_configured else [self.default_answerer]
        names = names if self.default_answerer in names else [self.default_answerer, *names]
        labels = {"extractive": "Quotes from the articles",
                  "llm": f"Language model ({self.settings.llm_model or 'configured'})"}
        return [(labels.get(name, name), name) for name in names]

    def collection_updates(self, gr: Any) -> tuple[Any, Any, Any]:
        """Header, source choices and example questions after the library changed."""
        collection = self.collection()
        return (
            header_html(collection.summary),
            gr.CheckboxGroup(choices=list(collection.sites)),
            gr.Chatbot(examples=self.example_messages(), placeholder=self.placeholder(collection)),
        )

    # ------------------------------------------------------------ conversation
    @staticmethod
    def messages(turns: list[Turn]) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = []
        for i, turn in enumerate(turns):
            messages.append({"role": "user", "content": question_html(turn.question)})
            messages.append({"role": "assistant", "content": answer_html(i, turn)})
        return messages

    def chatbot(self, turns: list[Turn], **changes: Any) -> Any:
        """The chat component's new value: the messages and the thumbs already given."""
        import gradio as gr

        feedback = [{"up": "Like", "down": "Dislike"}.get(t.feedback or "") for t in turns]
        return gr.Chatbot(value=self.messages(turns), feedback_value=feedback, **changes)  # type: ignore[arg-type]

    def restore(self, saved: Any) -> tuple[Any, str, str, Any]:
        """Page load: the saved conversation, fresh examples and the collection's sources."""
        import gradio as gr

        turns = load_turns(saved)
        collection = self.collection()
        return (
            self.chatbot(turns, examples=self.example_messages(), placeholder=self.placeholder(collection)),
            self.sources_html(turns),
            header_html(collection.summary),
            gr.CheckboxGroup(choices=list(collection.sites)),
        )

    def new_chat(self) -> tuple[Any, str, dict[str, Any], str]:
        return self.chatbot([]), self.sources_html([]), save_turns([]), ""

    def pick_example(self, event: Any = None) -> str:
        import gradio as gr

        value = getattr(event, "value", None) or {}
        return value.get("text", "") if isinstance(value, dict) else str(value) if value else gr.skip()

    def filters(self, since: Any, until: Any, sites: list[str] | None) -> Filters:
        start, end = parse_day(since, "From"), parse_day(until, "To")
        if start and end and start > end:
            raise QueryError(f"“From” ({start}) is after “To” ({end}); swap the dates")
        all_sites = set(self.collection().sites)
        chosen = tuple(s for s in (sites or []) if s)
        if set(chosen) >= all_sites:
            chosen = ()
        return Filters(since=start, until=end, sources=chosen)

    def filter_summary(self, since: Any, until: Any, sites: list[str] | None, answerer: str | None,
                       as_of: Any = None) -> tuple[str, Any]:
        import gradio as gr

        try:
            f = self.filters(since, until, sites)
            day = parse_day(as_of, "As of")
        except QueryError as exc:
            return f'<span class="nr-error">{esc(exc)}</span>', gr.Accordion(label="Filters")
        bits = [f"as of {nice_date(day.isoformat())}"] if day else []
        if f.since or f.until:
            bits.append(f"{nice_date(f.since.isoformat()) if f.since else '…'} – "
                        f"{nice_date(f.until.isoformat()) if f.until else 'today'}")
        if f.sources:
            bits.append(f"{len(f.sources)} source{'s' if len(f.sources) != 1 else ''}")
        label = "Filters · " + " · ".join(bits) if bits else "Filters"
        note = "Searching " + " · ".join(bits) + " only." if bits else ""
        return note, gr.Accordion(label=label)

    def _stream(self, answerer: str | None, question: str, filters: Filters, turns: list[Turn],
                as_of: date | None = None) -> AnswerStream:
        return self.assistant.stream(question, filters=filters, history=history_messages(turns), as_of=as_of,
                                     answerer=answerer or self.default_answerer)

    def ask(self, message: str, saved: Any, since: Any, until: Any, sites: list[str] | None,
            answerer: str | None, as_of: Any = None) -> Iterator[tuple[Any, Any, Any, Any]]:
        """Stream the answer into the chat, then show it with linked citations and its sources."""
        import gradio as gr

        skip = gr.skip()
        turns = load_turns(saved)
        question = " ".join((message or "").split())
        if not question:
            gr.Warning("Type a question first, e.g. one of the examples.")
            yield skip, skip, skip, skip
            return
        messages = [*self.messages(turns),
                    {"role": "user", "content": question_html(question)},
                    {"role": "assistant", "content": streaming_html("")}]
        yield messages, skip, skip, ""
        text = ""
        try:
            filters = self.filters(since, until, sites)
            stream = self._stream(answerer, question, filters, turns, parse_day(as_of, "As of"))
            for piece in stream:
                text += piece
                messages[-1] = {"role": "assistant", "content": streaming_html(text)}
                yield messages, skip, skip, skip
        except NewsragError as exc:
            gr.Warning(str(exc))
            yield self.chatbot(turns), skip, skip, message
            return
        turns.append(Turn.from_answer(stream.answer, filters))
        yield self.chatbot(turns), self.sources_html(turns), save_turns(turns), skip

    def rate(self, saved: Any, like: Any) -> tuple[Any, Any]:
        """Thumbs up/down on an answer: one JSON line in <store>/feedback.jsonl."""
        import gradio as gr

        turns = load_turns(saved)
        index = like.index if isinstance(like.index, int) else like.index[0]
        turn_index = index // 2
        if not 0 <= turn_index < len(turns):
            return gr.skip(), gr.skip()
        liked = like.liked
        rating = "up" if liked is True or liked == "Like" else "down" if liked is False or liked == "Dislike" else None
        record_feedback(Path(self.settings.store), turns[turn_index], rating)  # None: the reader took it back
        turns[turn_index].feedback = rating
        if rating:
            gr.Info("Thanks! Your rating was saved." if rating == "up" else "Thanks — noted. We use this to improve answers.")
        return save_turns(turns), gr.skip()
