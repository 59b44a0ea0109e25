"""newsrag in a LlamaIndex pipeline: a retriever of news passages and a query engine of verified, cited answers.

    from rag.integrations.llama_index import NewsragRetriever
    retriever = NewsragRetriever(rag.open(store=".newsrag"), top_k=5)
    response = retriever.as_query_engine().query("What did Milley say about ISIS-K?")

`NewsragRetriever` gives `NodeWithScore`s (score: cosine similarity) whose metadata carry the article's
title, url, date, site, article id and the passage's start/end offsets in the article text; it fits
anywhere LlamaIndex takes a retriever (`RetrieverQueryEngine`, fusion retrievers, agents' tools).
`as_query_engine()` answers with newsrag itself: the `Response` text carries newsrag's verified [n]
citations and its `source_nodes` are exactly the cited passages, in marker order.
"""

from __future__ import annotations

from typing import Any

try:
    from llama_index.core.base.base_query_engine import BaseQueryEngine
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.base.response.schema import Response
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.prompts.mixin import PromptMixinType
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
except ImportError:
    raise ImportError("rag.integrations.llama_index needs the llama-index extra: "
                      "pip install 'newsrag[llama-index]'") from None

from ..assistant import Assistant
from ..records import Answer, Filters, Source
from ..validation import as_filters
from . import search_passages

# metadata a LlamaIndex LLM prompt shows with the passage text (the rest stays for code to read)
SHOWN_METADATA = ("title", "date", "site", "url")


def source_node(source: Source) -> NodeWithScore:
    """A passage as a LlamaIndex node: its text, the article's metadata and the offsets; score = cosine."""
    metadata: dict[str, Any] = {
        "title": source.title, "url": source.url, "date": source.date, "site": source.site,
        "author": source.author, "article_id": source.article_id, "chunk_id": source.chunk_id,
        "start": source.start, "end": source.end, "kind": source.kind,
    }
    hidden = [k for k in metadata if k not in SHOWN_METADATA]
    node = TextNode(id_=source.chunk_id, text=source.text, metadata=metadata,
                    excluded_llm_metadata_keys=hidden, excluded_embed_metadata_keys=list(metadata),
                    start_char_idx=source.start, end_char_idx=source.end)
    return NodeWithScore(node=node, score=float(source.score))


def _bound(assistant: Assistant, filters: Filters | dict[str, Any] | None,
           top_k: int | None) -> tuple[Assistant, Filters | None, int | None]:
    """What a retriever or query engine is bound to; a bad filter is a QueryError now, not at the first query."""
    return assistant, as_filters(filters), top_k


class NewsragRetriever(BaseRetriever):
    """The passages newsrag's hybrid retrieval finds for a query, as `NodeWithScore`s, best first."""

    def __init__(self, assistant: Assistant, filters: Filters | dict[str, Any] | None = None,
                 top_k: int | None = None, callback_manager: CallbackManager | None = None) -> None:
        self.assistant, self.filters, self.top_k = _bound(assistant, filters, top_k)
        super().__init__(callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [source_node(s) for s in search_passages(self.assistant, query_bundle.query_str, self.filters, self.top_k)]

    def as_query_engine(self, **kwargs: Any) -> NewsragQueryEngine:
        """A query engine answering with newsrag's verified, cited answers under this retriever's filters."""
        return NewsragQueryEngine(self.assistant, filters=self.filters, top_k=self.top_k,
                                  callback_manager=kwargs.get("callback_manager", self.callback_manager))


class NewsragQueryEngine(BaseQueryEngine):
    """Answers with `Assistant.ask`: the text has verified [n] markers; `source_nodes` are the cited passages.

    `Response.metadata` holds `refused`, `verified`, the `citations` (marker, supporting sentence offsets)
    and the whole newsrag answer (`answer`, as `Answer.to_dict()`).
    """

    def __init__(self, assistant: Assistant, filters: Filters | dict[str, Any] | None = None,
                 top_k: int | None = None, callback_manager: CallbackManager | None = None) -> None:
        self.assistant, self.filters, self.top_k = _bound(assistant, filters, top_k)
        super().__init__(callback_manager=callback_manager)

    def _query(self, query_bundle: QueryBundle) -> Response:
        return answer_response(self.assistant.ask(query_bundle.query_str, filters=self.filters, top_k=self.top_k))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        import anyio

        return await anyio.to_thread.run_sync(self._query, query_bundle)

    def _get_prompt_modules(self) -> PromptMixinType:
        return {}


def answer_response(answer: Answer) -> Response:
    """A newsrag Answer as a LlamaIndex Response (cited passages as source nodes, newsrag's fields in metadata)."""
    data = answer.to_dict()
    metadata = {"refused": answer.refused, "verified": answer.verified, "citations": data["citations"], "answer": data}
    return Response(response=answer.text, source_nodes=[source_node(s) for s in answer.cited_sources], metadata=metadata)
