"""The plain LlamaIndex baseline: what a ten-line script over the same articles retrieves.

`VectorStoreIndex` over a `ChromaVectorStore`, llama-index's `SentenceSplitter` at 256 tokens,
all-MiniLM-L6-v2 (run through newsrag's encoder at 256 tokens, which only makes building it
faster), top-k by cosine. It is built once into `<store>/plain-llamaindex` and reused; its rankings
are judged exactly like newsrag's (`eval compare` and the report show it beside the modes).
Needs the `bench` extra (llama-index-vector-stores-chroma).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.records import Source
from rag.settings import Settings

from .questions import CorpusArticle

NAME = "plain-llamaindex"
CHUNK_TOKENS = 256


class PlainLlamaIndex:
    """A plain llama-index retriever over the corpus, built on first use."""

    def __init__(self, settings: Settings, articles: Sequence[CorpusArticle], ids: dict[str, str],
                 quiet: bool = True) -> None:
        self.settings = settings
        self.ids = ids  # article url -> newsrag article id (to judge relevance like newsrag's passages)
        self.folder = Path(settings.store) / NAME
        self.retriever = self._open(articles, quiet)

    def _open(self, articles: Sequence[CorpusArticle], quiet: bool) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from rag.embedding.embedder import Embedder

        from .bench.worker import llama_embedding

        embed = llama_embedding(Embedder(self.settings.with_overrides(max_seq_length=CHUNK_TOKENS)).embed_documents)
        client = chromadb.PersistentClient(path=str(self.folder), settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.get_or_create_collection("plain", embedding_function=None,
                                                     metadata={"hnsw:space": "cosine"})
        store = ChromaVectorStore(chroma_collection=collection)
        if collection.count() == 0:
            if not quiet:
                print(f"  building the plain llama-index baseline in {self.folder} ...", file=sys.stderr)
            docs = [Document(text=a.text, metadata={"url": a.url, "title": a.title}) for a in articles]
            index = VectorStoreIndex.from_documents(
                docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed,
                transformations=[SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=20)])
        else:
            index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
        return index

    def retrieve(self, question: str, k: int) -> list[Source]:
        nodes = self.retriever.as_retriever(similarity_top_k=k).retrieve(question)
        out = []
        for n in nodes:
            url = str(n.node.metadata.get("url", ""))
            text = n.node.get_content()
            start = int(getattr(n.node, "start_char_idx", None) or 0)
            out.append(Source(chunk_id=n.node.node_id, article_id=self.ids.get(url, url), title=str(
                n.node.metadata.get("title", "")), url=url, date=None, text=text, start=start, end=start + len(text),
                score=float(n.score or 0.0)))
        return out
