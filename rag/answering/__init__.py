"""The answering room: answerers behind one interface, chosen by name (`Settings.answerer`) and imported lazily.

`extractive` (the default, no LLM) quotes the sentences a fitted selector rates most likely to answer
(`selector`, `features`) and leads with a short answer (`short`); `llm` asks a language model through
`llm_clients`, with article text defused by `injection`. Around them: follow-up rewriting
(`followups`), the refusal message (`refusal`) and timelines (`timeline`). It may use the retrieval,
store and embedding rooms and the shared modules, never citing or the assistant.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConfigError
from ..settings import Settings
from .base import REFUSAL, Answerer, Finding
from .followups import HeuristicRewriter, LLMRewriter, Rewriter

# name -> "module:factory"; a factory takes Settings and returns an Answerer
ANSWERERS: dict[str, str] = {
    "extractive": "rag.answering.extractive:ExtractiveAnswerer",
    "llm": "rag.answering.llm:LLMAnswerer",
}


def make_answerer(settings: Settings, name: str | None = None, embed: Any = None) -> Answerer:
    """Build the answerer called `name` (default: the one in settings); `embed` (texts -> unit vectors)
    is the embedding model, for answerers that compare sentences with the question."""
    name = name or settings.answerer
    target = ANSWERERS.get(name)
    if target is None:
        raise ConfigError(f"answerer {name!r} is unknown; choose one of: {', '.join(sorted(ANSWERERS))}")
    module_name, factory = target.split(":")
    module = importlib.import_module(module_name)
    answerer: Answerer = getattr(module, factory)(settings, embed=embed)
    return answerer


__all__ = ["ANSWERERS", "REFUSAL", "Answerer", "Finding", "make_answerer"]


def rewriter_for(answerer: Answerer, settings: Settings) -> Rewriter:
    """The follow-up rewriter for an answerer: its LLM when it has one and `llm_rewrite` is on (the heuristic
    rewriter stays its fallback), else the heuristic."""
    client = answerer.client  # declared by every answerer (rag.answering.base.Answerer)
    return LLMRewriter(client) if client is not None and settings.llm_rewrite else HeuristicRewriter()
