"""Answerers behind one interface, chosen by name (`Settings.answerer`) and imported lazily."""

from __future__ import annotations

import importlib

from ..errors import ConfigError
from ..settings import Settings
from .base import REFUSAL, Answerer

# name -> "module:factory"; a factory takes Settings and returns an Answerer
ANSWERERS: dict[str, str] = {
    "extractive": "rag.answering.extractive:ExtractiveAnswerer",
    "llm": "rag.answering.llm:LLMAnswerer",
}


def make_answerer(settings: Settings, name: str | None = None) -> Answerer:
    """Build the answerer called `name` (default: the one in settings)."""
    name = name or settings.answerer
    target = ANSWERERS.get(name)
    if target is None:
        raise ConfigError(f"answerer {name!r} is unknown; choose one of: {', '.join(sorted(ANSWERERS))}")
    module_name, factory = target.split(":")
    module = importlib.import_module(module_name)
    answerer: Answerer = getattr(module, factory)(settings)
    return answerer


__all__ = ["ANSWERERS", "REFUSAL", "Answerer", "make_answerer"]
