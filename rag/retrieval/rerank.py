"""Optional reranking: a sentence-transformers CrossEncoder, loaded from a local directory, scores passages."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError
from ..settings import Settings


def check_cross_encoder_dir(name: str) -> Path:
    """The model directory, or a BackendError saying why `name` is not a cross-encoder model."""
    path = Path(name).expanduser()
    hint = "set NEWSRAG_RERANKER_MODEL to a local CrossEncoder directory, or unset it to rerank nothing"
    if not (path / "config.json").is_file():
        raise BackendError(f"reranker_model {name!r} is not a model directory (no config.json there); {hint}")
    st_config = path / "config_sentence_transformers.json"
    model_type = _json(st_config).get("model_type") if st_config.is_file() else None
    architectures = _json(path / "config.json").get("architectures") or []
    if model_type != "CrossEncoder" and not any("ForSequenceClassification" in a for a in architectures):
        raise BackendError(
            f"reranker_model {name!r} is not a cross-encoder (an embedding or base model has no "
            f"relevance head, its scores would be noise); {hint}"
        )
    return path


class CrossEncoderReranker:
    """Scores (question, passage) pairs with a CrossEncoder; higher is more relevant."""

    name = "cross-encoder"

    def __init__(self, settings: Settings) -> None:
        self.path = check_cross_encoder_dir(str(settings.reranker_model))
        self.settings = settings
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        try:
            from sentence_transformers import CrossEncoder

            return CrossEncoder(str(self.path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise BackendError(f"cannot load the reranker model at {self.path}: {exc}") from exc

    def scores(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One relevance score per passage."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            if self._model is None:
                self._model = self._load()
        pairs = [(question, p) for p in passages]
        return np.asarray(self._model.predict(pairs, batch_size=16, show_progress_bar=False), dtype=np.float32)


def make_reranker(settings: Settings) -> CrossEncoderReranker | None:
    """The reranker the settings ask for, or None when reranking is off."""
    return CrossEncoderReranker(settings) if settings.reranker_model else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}
