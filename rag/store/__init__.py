"""The store room: where the collection lives and how it is written safely.

`collection.Store` reads (search, articles, the registry, `versions`; an embedded store's records by id and its
revision straight from `chroma.sqlite3`: `record_reads`) and holds the writer (`writes`), whose
commits (`commits`) keep the versions map and the followers a room above registers (BM25) in step; `opening`
opens an embedded or server Chroma, after `check` has read its files in Python (`chroma_sqlite`,
`hnsw_files`); `journal`, `ownership` and `owner_client` keep to one writer and one owner process;
`migrations` moves older stores forward; `build` records what the chunks were made with; `files`,
`backup` and `diskspace` serve repair, backup and a full disk; `rows` is what a Chroma row holds.
It may use the embedding room and the shared modules of `rag` (records, settings, errors), nothing above.
"""
