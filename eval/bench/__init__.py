"""`newsrag bench`: speed and quality figures measured on this machine, printed and written to docs.

    newsrag bench ingest [--articles N | --all]   ingest rate, peak RSS, bare model, plain llama-index
    newsrag bench backends [--weeks N]            each embedding backend's chunks/s and recall@5

Each measured pipeline runs in its own process (`python -m eval.bench.worker`), so peak RSS and warm
caches belong to that pipeline alone. More benchmarks (query, scale) register in `eval.bench.cli`.
"""
