"""The composition root: `open()` builds the Assistant from settings, `compose()` from an opened store and model,
`open_store()` a store whose writer keeps the BM25 index in step.

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
from .retrieval.lexical import LexicalIndex
from .settings import Settings
from .store.collection import Store


def open(store: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Assistant:
    """Build an Assistant over an existing store (path, or settings/env for everything else)."""
    settings = (settings or Settings()).with_overrides(store=store, **overrides)
    return compose(settings, Store(settings), Embedder(query_settings(settings)))


def open_store(settings: Settings, *, create: bool = False, dimension: int | None = None) -> Store:
    """A store whose writer's commits keep the BM25 index in step (every writer of `index` opens it so): the
    store room sits below retrieval, so the BM25 index is registered here as a follower of the writer."""
    store = Store(settings, create=create, dimension=dimension)
    store.writer.follow("bm25", LexicalIndex(settings))
    return store


def query_settings(settings: Settings) -> Settings:
    """The settings the model runs with when answering: the query backend and thread count."""
    return settings.model_copy(update={"embedding_backend": settings.query_backend or settings.embedding_backend,
                                       "threads": settings.query_threads})


def compose(settings: Settings, store: Store, embedder: Embedder) -> Assistant:
    """An Assistant over an opened store and embedder, with the answerer and rewriter the settings name."""
    tracing.configure(settings)  # OpenTelemetry spans when settings ask for them (off by default)
    answerer = make_answerer(settings, embed=embedder.embed_texts)
    assistant = Assistant(settings, store, embedder, answerer, rewriter_for(answerer, settings))
    store.writer.follow("bm25", assistant.retriever.lexical)  # one BM25 index in memory, kept in step by commits
    return assistant
