"""The composition root: `open()` builds the Assistant from settings, `compose()` from an opened store and model.

    import rag
    assistant = rag.open(store=".newsrag")      # this module's `open`
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import tracing
from .answering import make_answerer, rewriter_for
from .assistant import Assistant
from .embedding.embedder import Embedder
from .settings import Settings
from .store.collection import Store


def open(store: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Assistant:
    """Build an Assistant over an existing store (path, or settings/env for everything else)."""
    settings = (settings or Settings()).with_overrides(store=store, **overrides)
    return compose(settings, Store(settings), Embedder(query_settings(settings)))


def query_settings(settings: Settings) -> Settings:
    """The settings the model runs with when answering: the query backend and thread count."""
    return settings.model_copy(update={"embedding_backend": settings.query_backend or settings.embedding_backend,
                                       "threads": settings.query_threads})


def compose(settings: Settings, store: Store, embedder: Embedder) -> Assistant:
    """An Assistant over an opened store and embedder, with the answerer and rewriter the settings name."""
    tracing.configure(settings)  # OpenTelemetry spans when settings ask for them (off by default)
    answerer = make_answerer(settings, embed=embedder.embed_texts)
    return Assistant(settings, store, embedder, answerer, rewriter_for(answerer, settings))
