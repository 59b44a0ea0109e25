"""Typed settings: every field has a default and a description; env vars (NEWSRAG_*) and a TOML file override."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_store() -> Path:
    """The per-user data directory, used when neither --store nor NEWSRAG_STORE is given."""
    import platformdirs

    return Path(platformdirs.user_data_dir("newsrag"))


def default_model_cache() -> Path:
    """The per-user cache directory for model exports."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("newsrag")) / "models"


def default_data_dir() -> Path:
    """The shared data folder beside a checkout of newsrag (`../shared/data`)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def config_file() -> Path:
    """The TOML file read for settings: $NEWSRAG_CONFIG, else ./newsrag.toml."""
    return Path(os.environ.get("NEWSRAG_CONFIG", "newsrag.toml"))


class Settings(BaseSettings):
    """All knobs of newsrag. `newsrag config` prints the effective values."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSRAG_", extra="forbid", validate_assignment=True
    )

    # --- where things live
    store: Path = Field(default_factory=default_store, description="Store directory (Chroma data, BM25 index, feedback).")
    chroma_url: str | None = Field(None, description="Chroma server URL (http://host:port); embedded Chroma in the store dir when unset.")
    collection: str = Field("newsrag", min_length=3, description="Chroma collection name (3+ characters).")
    data_dir: Path = Field(default_factory=default_data_dir, description="Shared evaluation and benchmark data (realtimeqa/, rgb/, sample/), read by `newsrag bench` and `python -m eval.fit`; default: ../shared/data beside the checkout.")

    # --- embeddings
    embedding_model: str = Field("all-MiniLM-L6-v2", description="Embedding model: a bundled name or a local sentence-transformers path.")
    embedding_backend: str = Field("openvino-bf16", description="How the model runs: torch, torch-bf16, onnx, onnx-int8, openvino, openvino-bf16 (see docs/benchmarks.md).")
    model_cache: Path = Field(default_factory=default_model_cache, description="Where local ONNX/OpenVINO exports of the model are cached (outside the repo).")
    embed_batch_size: int = Field(32, ge=1, description="Chunks per embedding batch.")
    ingest_batch_chunks: int = Field(256, ge=1, description="Chunks an ingest embeds and then writes in one store write (the first articles are stored once this many are embedded).")
    max_seq_length: int = Field(128, ge=16, le=512, description="Model input length in tokens (MiniLM was trained at 128). A build setting: a store built with another value is rebuilt by the next ingest or `newsrag rebuild`.")
    threads: int = Field(0, ge=0, description="CPU threads for the model when ingesting; 0 means all cores.")
    query_backend: str | None = Field("onnx-int8", description="Embedding backend when answering (the question, citation checks); unset: embedding_backend. onnx-int8 embeds one question 2.5x faster than openvino-bf16 and retrieves as well against bf16/fp32 chunk vectors (docs/benchmarks.md).")
    query_threads: int = Field(1, ge=0, description="CPU threads for the model when answering (the question, citation checks); 0 means all cores. One thread is as fast for one question and much faster when other work keeps the cores busy (docs/benchmarks.md).")

    # --- chunking
    chunk_tokens: int = Field(120, ge=16, description="Target chunk size in model tokens (kept under max_seq_length). A build setting: a store built with another value is rebuilt by the next ingest or `newsrag rebuild`.")
    chunk_overlap_sentences: int = Field(0, ge=0, le=5, description="Sentences repeated at the start of the next chunk. A build setting (see chunk_tokens).")
    embed_title: bool = Field(False, description="Embed each chunk with its article's title before it (contextual chunks); a build setting: changing it re-embeds the stored articles at the next ingest or `newsrag rebuild`.")
    max_article_bytes: int = Field(20_000_000, ge=1, description="Files (and fetched pages) larger than this are not read.")

    # --- ingest sources
    record_fields: dict[str, list[str]] = Field(default_factory=dict, description="JSON/CSV field names per article field, tried in order, e.g. {\"text\": [\"story\"]}; unset fields keep the defaults (title/text|body|content/url/date|published...).")
    records_field: str | None = Field(None, description="JSON key holding a list of articles in each object (found automatically, e.g. search_result in RealTimeQA *_gcs.jsonl).")
    fetch_timeout: float = Field(20.0, gt=0, description="Seconds to wait for each URL or feed (connecting, and the whole download).")
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects a URL may take; every hop is checked like the first.")
    fetch_allow_networks: list[str] = Field(default_factory=list, description="Private, loopback or link-local networks URL ingest may fetch from, as CIDR (e.g. [\"127.0.0.1/32\"]); everything not public is refused otherwise (SSRF).")
    max_upload_files: int = Field(20, ge=1, description="Files in one upload (the Library tab or POST /v1/admin/upload); each at most max_article_bytes.")
    max_json_bytes: int = Field(1_000_000, ge=1000, description="Largest JSON request body the HTTP API reads (413 above).")

    # --- retrieval
    top_k: int = Field(6, ge=1, le=50, description="Passages handed to the answerer.")
    candidates: int = Field(60, ge=1, le=500, description="Chunks fetched from each index (dense and BM25) before fusion, ranking and capping (60 chosen on RealTimeQA weeks 1-9 over 30 and 100: docs/evaluation.md).")
    hnsw_ef_search: int = Field(200, ge=10, le=5000, description="Search breadth of the chunk vector index (Chroma HNSW ef_search), set when a store is created or next written to. At 100k chunks recall@10 against exact search is 0.98-0.99 at 100 and 0.997-0.999 at 200, for 0.2-0.5 ms more per question (docs/benchmarks.md).")
    hnsw_sync_threshold: int = Field(1, ge=1, le=100000, description="Chroma saves the chunk vector index to disk once this many logged writes are applied (HNSW sync_threshold; set when a store is created or next written to). What is not saved, every new process applies again before its first search: 700 pending writes cost 1.4 s at 40k chunks. 1 saves after every write call; Chroma's own default is 1000 (docs/benchmarks.md, cold start).")
    max_chunks_per_article: int = Field(3, ge=1, description="At most this many passages from one article in the context.")
    comment_penalty: float = Field(0.85, ge=0, le=1, description="Score factor for reader-comment chunks so article text ranks first.")
    retrieval_mode: Literal["hybrid", "rrf", "dense", "bm25"] = Field("hybrid", description="hybrid (dense + BM25 candidates ordered by the learned passage ranking), rrf (the same candidates fused by reciprocal rank only), dense (vectors only) or bm25 (words only).")
    rank_pool: int = Field(40, ge=1, le=500, description="hybrid: fused candidates read and scored by the learned passage ranking.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in reciprocal rank fusion.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in reciprocal rank fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant: score = sum of weight / (rrf_k + rank).")
    bm25_floor: float = Field(0.2, ge=0, le=1, description="Hybrid only: BM25 hits scoring under this share of the best BM25 hit (common words only) are left out of the fusion.")
    bm25_k1: float = Field(1.2, ge=0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation.")
    bm25_feedback_terms: int = Field(0, ge=0, le=100, description="Pseudo-relevance feedback (RM3): words added to a BM25 search from its first matches; 0 is off.")
    bm25_feedback_docs: int = Field(5, ge=1, le=100, description="Feedback: how many first BM25 matches the added words come from.")
    bm25_feedback_weight: float = Field(0.5, ge=0, le=1, description="Feedback: the weight of the best added word, against 1 for the question's own.")
    passage_window: int = Field(2, ge=0, le=10, description="Sentences a retrieved passage grows by on each side, into neighbouring chunks of the same kind, cut from the article version the search read (never from a newer one). 2 was chosen on RealTimeQA weeks 1-9 (answer recall@5 0.753 -> 0.820 then); 0 turns windows off.")
    merge_neighbours: bool = Field(True, description="Merge retrieved chunks that follow each other in an article into one passage.")
    reranker_model: str | None = Field(None, description="Local sentence-transformers CrossEncoder directory to rerank passages; off when unset.")
    rerank_candidates: int = Field(12, ge=1, le=200, description="Passages scored by the reranker before keeping top_k.")

    # --- time (rag.retrieval.asof, rag.timewindow)
    time_zone: str | None = Field(None, description="IANA time zone in which 'today', 'this week' and the as-of day are read, e.g. Europe/Berlin; unset: the machine's.")
    time_window_weight: float = Field(50.0, ge=0, description="Places a passage dated inside the question's soft time window ('last week', 'in March') moves up among the 2 x top_k read; 0 turns the preference off, 2 x top_k or more puts those inside first. Tuned on RealTimeQA weeks 1-9 (docs/evaluation.md): 0, 1, 3, 7 and 99 gave multiple-choice accuracy 0.535, 0.535, 0.541, 0.547 and 0.553, article hit@5 0.880 throughout.")
    recency_margin: float = Field(0.1, ge=0, le=1, description="Questions for the latest state ('latest', 'currently', 'still'): passages within this cosine similarity of the best one count as answering, and the newest of them is used.")

    # --- answering
    answerer: str = Field("extractive", description="Answerer backend: extractive (no LLM) or llm.")
    max_answer_sentences: int = Field(3, ge=1, le=10, description="Sentences in an answer: the extractive answerer picks this many, the LLM is asked for at most this many.")
    min_relevance: float = Field(0.2, description="Refuse when the best passage's cosine similarity is below this.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected with a clear error.")

    # --- LLM (used when answerer = llm)
    llm_provider: str = Field("openai-like", description="openai, openai-like (any OpenAI-compatible server) or ollama.")
    llm_model: str = Field("", description="Model name sent to the LLM server.")
    llm_base_url: str | None = Field(None, description="Base URL of the LLM server, e.g. http://127.0.0.1:8080/v1.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM server (env NEWSRAG_LLM_API_KEY only).")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM.")
    llm_mode: Literal["chat", "completion"] = Field("chat", description="chat (/v1/chat/completions) or completion (/v1/completions, for base models that have no chat template).")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature; 0 keeps answers close to the passages.")
    llm_max_tokens: int = Field(512, ge=16, description="Most tokens the LLM may write for one answer.")
    llm_context_window: int = Field(8192, ge=512, description="The LLM's context window in tokens (passages are trimmed to fit).")
    llm_rewrite: bool = Field(True, description="Let the LLM rewrite follow-up questions (answerer = llm); otherwise a heuristic does.")

    # --- serving, access and logs
    api_key: SecretStr | None = Field(None, description="Key for every HTTP API call except /v1/health (Authorization: Bearer KEY) and the chat login; env NEWSRAG_API_KEY or api_key_file only.")
    admin_key: SecretStr | None = Field(None, description="Key for ingest and delete over HTTP and the chat's admin login (user admin); env NEWSRAG_ADMIN_KEY or admin_key_file only.")
    api_key_file: Path | None = Field(None, description="A file holding the API key (instead of NEWSRAG_API_KEY).")
    admin_key_file: Path | None = Field(None, description="A file holding the admin key (instead of NEWSRAG_ADMIN_KEY).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Server log level; article text and questions appear only at DEBUG, keys never.")
    log_format: Literal["json", "text"] = Field("json", description="Server logs as JSON lines or key=value text, each with its request id.")
    tracing: bool = Field(False, description="Emit OpenTelemetry spans (OpenInference names) for each stage to the process's tracer provider; needs pip install 'newsrag[otel]'.")
    otlp_endpoint: str | None = Field(None, description="Export spans over OTLP/HTTP to this URL, e.g. http://127.0.0.1:6006/v1/traces (Phoenix); implies tracing. The only network use of tracing.")
    trace_content: bool = Field(True, description="Put questions, answers and passage text on spans; off: ids, scores, counts and timings only.")
    store_refresh_seconds: float = Field(1.0, ge=0, description="Unused since one process owns an embedded store (kept so that older config files still load).")
    store_wait_seconds: float = Field(60.0, ge=0, description="How long a command waits for an embedded store that another short-lived newsrag command has open.")

    # --- citation verification (every answerer)
    citation_min_lexical: float = Field(0.6, ge=0, le=1, description="A cited sentence is supported when this share of its content terms is in one passage sentence.")
    citation_min_semantic: float = Field(0.75, ge=0, le=1, description="...or when its embedding similarity to a passage sentence reaches this (paraphrases).")
    citation_min_overlap: float = Field(0.3, ge=0, le=1, description="A paraphrase must still share this share of its terms with the passage.")
    citation_semantic: bool = Field(True, description="Use embedding similarity for sentences that do not quote their passage.")

    @field_validator("store", "model_cache", "data_dir", mode="before")
    @classmethod
    def _expand_store(cls, value: Any) -> Any:
        return Path(value).expanduser() if isinstance(value, (str, Path)) else value

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str | None) -> str | None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(value.strip()).key if value and value.strip() else None
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone; use an IANA name such as Europe/Berlin or UTC") from None

    @field_validator("fetch_allow_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network; write it as CIDR, e.g. 127.0.0.1/32 or 10.0.0.0/8") from None
        return [item.strip() for item in value]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            sources.append(_SecretFreeToml(settings_cls, toml_file=path))
        return tuple(sources)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given fields replaced (None values are ignored)."""
        data = {k: v for k, v in changes.items() if v is not None}
        return type(self).model_validate({**self.model_dump(), **data}) if data else self

    def describe(self) -> dict[str, Any]:
        """The effective settings as plain values, secrets masked."""
        out = self.model_dump(mode="json")
        for name in SECRET_FIELDS:
            if getattr(self, name) is not None:
                out[name] = "***"
        return out


SECRET_FIELDS = ("llm_api_key", "api_key", "admin_key")


class _SecretFreeToml(TomlConfigSettingsSource):
    """newsrag.toml, which must not hold keys: they come from the environment or a key file."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        found = [name for name in SECRET_FIELDS if name in data]
        if found:
            from .errors import ConfigError

            raise ConfigError(
                f"{config_file()} sets {', '.join(found)}: keys are read only from the environment "
                f"(NEWSRAG_{found[0].upper()}) or a key file ({found[0]}_file = \"PATH\"); remove them from the file"
            )
        return data
