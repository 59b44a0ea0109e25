"""The retrieval room: from a question to the passages an answerer may use, best first.

`retriever.Retriever` fuses dense search (the store) and BM25 (`lexical`, over the index in `bm25`),
ranks the pool with the learned passage model (`ranking`, or a local cross-encoder in `rerank`), grows
passages into sentence windows (`windows`) and applies the as-of moment and the question's time
(`asof`). It may use the store and embedding rooms and the shared modules, never answering or citing.
"""
