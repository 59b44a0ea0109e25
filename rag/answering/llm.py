"""The LLM answerer: numbered passages in a prompt (rag/prompts/answer_*.txt), the LLM's streamed answer out.

The passages are wrapped in <passage n="..."> tags and the article text inside is defused
(`rag.answering.injection.quote_as_data`: no tag, chat-template token or citation-like marker survives), so
article text stays data; the prompt tells the model to ignore instructions in it. Whatever the model
writes is checked afterwards by citation verification, like every answerer, and a sentence that
instructs a model never supports a claim.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import prompts
from ..records import Source
from ..settings import Settings
from .base import REFUSAL
from .injection import quote_as_data
from .llm_clients import LLMClient

_PROMPT_OVERHEAD_TOKENS = 450  # the instructions and the example around the passages


def passage_block(n: int, source: Source) -> str:
    """One passage as the model sees it: numbered, with its title and date, text defused."""
    attrs = [f'n="{n}"', f'title="{_attr(source.title)}"']
    if source.date:
        attrs.append(f'date="{_attr(source.date)}"')
    if source.site:
        attrs.append(f'source="{_attr(source.site)}"')
    if source.kind == "comment":
        attrs.append('kind="reader comment"')
    return f"<passage {' '.join(attrs)}>\n{quote_as_data(source.text.strip())}\n</passage>"


def _attr(value: str | None) -> str:
    return " ".join((value or "").replace('"', "'").replace("<", "‹").replace(">", "›").split())


def fit_passages(passages: Sequence[Source], budget_tokens: int) -> list[Source]:
    """The best passages that fit the token budget (about 4 characters a token); at least one."""
    kept: list[Source] = []
    used = 0
    for source in passages:
        cost = len(source.text) // 4 + 30
        if kept and used + cost > budget_tokens:
            break
        kept.append(source)
        used += cost
    return kept


class LLMAnswerer:
    """Asks an LLM (OpenAI, an OpenAI-compatible server, or Ollama) to answer from the numbered passages."""

    name = "llm"

    def __init__(self, settings: Settings, client: Any = None, embed: Any = None) -> None:
        self.settings = settings
        self.client = client or LLMClient(settings)

    def stream(self, question: str, passages: Sequence[Source]) -> Iterator[str]:
        if not passages:
            yield REFUSAL
            return
        yield from self.client.stream(*self.prompts(question, passages))

    def prompts(self, question: str, passages: Sequence[Source]) -> tuple[str, str, str]:
        """(system, user, completion prompt) for this question and these passages."""
        budget = self.settings.llm_context_window - self.settings.llm_max_tokens - _PROMPT_OVERHEAD_TOKENS
        shown = fit_passages(passages, budget)
        block = "\n\n".join(passage_block(n, s) for n, s in enumerate(shown, start=1))
        values = {"passages": block, "question": question, "refusal": REFUSAL,
                  "max_sentences": self.settings.max_answer_sentences}
        return (
            prompts.render("answer_system", **values),
            prompts.render("answer_user", **values),
            prompts.render("answer_completion", **values),
        )
