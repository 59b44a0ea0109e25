"""Embedding backends: one interface (`encode(texts) -> unit vectors`), several ways to run the model.

    torch          sentence-transformers on PyTorch, float32 (the reference)
    torch-bf16     the same under bfloat16 autocast (fast on CPUs with AVX512-BF16 or AMX)
    onnx           ONNX Runtime on a local float32 export
    onnx-int8      ONNX Runtime on a dynamically quantised int8 export
    openvino       OpenVINO on the float32 export, float32 precision
    openvino-bf16  OpenVINO on the float32 export, bfloat16 precision where the CPU has it

The ONNX and OpenVINO backends need no torch at run time; they tokenize with the model's fast
tokenizer (or take the ids the chunker already made: `encode_ids`), sort texts by length and pad each
batch only to its longest text.
See docs/benchmarks.md for the speed and retrieval quality of each.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import BackendError, ConfigError

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def cpu_threads(requested: int) -> int:
    """Threads to use: the requested number, or every core this process may run on."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class TorchEncoder:
    """sentence-transformers on PyTorch; `bf16` runs it under bfloat16 autocast."""

    def __init__(self, model_dir: Path, max_seq_length: int, batch_size: int, threads: int, bf16: bool = False) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(cpu_threads(threads))
        self._torch = torch
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.bf16 = bf16

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._torch.autocast("cpu", dtype=self._torch.bfloat16, enabled=self.bf16):
            vectors = self.model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_tensor=True, show_progress_bar=False,
            )
        return np.asarray(vectors.float().cpu().numpy(), dtype=np.float32)


class _GraphEncoder:
    """Shared by the ONNX Runtime and OpenVINO backends: tokenize, bucket by length, run, unsort."""

    def __init__(self, model_dir: Path, max_seq_length: int, batch_size: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.tokenizer.no_padding()
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        probe = self.tokenizer.encode("a", add_special_tokens=False).ids
        full = self.tokenizer.encode("a").ids
        at = next(i for i in range(len(full)) if full[i : i + len(probe)] == probe)
        self._prefix, self._suffix = full[:at], full[at + len(probe) :]  # [CLS] and [SEP] for BERT

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([e.ids for e in self.tokenizer.encode_batch_fast(list(texts))])

    def encode_each(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of texts each run alone (a batch of one, no padding), so no text's vector depends on the others."""
        encodings = [e.ids for e in self.tokenizer.encode_batch_fast(list(texts))]
        ones = [([i], np.asarray([ids], dtype=np.int64), np.ones((1, len(ids)), dtype=np.int64))
                for i, ids in enumerate(encodings)]
        return self._run_all(ones, len(encodings))

    def encode_ids(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """Vectors of texts given as token ids without special tokens; truncated and wrapped as `encode` would."""
        room = self.max_seq_length - len(self._prefix) - len(self._suffix)
        return self._encode([[*self._prefix, *list(ids)[:room], *self._suffix] for ids in token_ids])

    def _encode(self, encodings: list[list[int]]) -> np.ndarray:
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]))
        batches = []
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            width = max(len(encodings[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i])
                ids[r, :n] = encodings[i]
                mask[r, :n] = 1
            batches.append((rows, ids, mask))
        return self._run_all(batches, len(encodings))

    def _run_all(self, batches: list[tuple[list[int], np.ndarray, np.ndarray]], count: int) -> np.ndarray:
        """Run every batch; row i of the result is text i's vector."""
        out: np.ndarray | None = None
        for (rows, _, _), vectors in zip(batches, self._runs(batches)):
            if out is None:
                out = np.zeros((count, vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def _runs(self, batches: list[tuple[list[int], np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        """Each batch's vectors, in order."""
        return (self._run(ids, mask) for _, ids, mask in batches)

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxEncoder(_GraphEncoder):
    """ONNX Runtime, CPU execution provider.

    When a session's threads leave cores free (one thread on two cores: the query-time default), the
    batches of one call run side by side, one per free core: small independent runs share the cores as
    they come free, where more threads inside one run would wait at every layer for the slowest.
    """

    def __init__(self, onnx_file: Path, model_dir: Path, max_seq_length: int, batch_size: int, threads: int) -> None:
        super().__init__(model_dir, max_seq_length, batch_size)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = cpu_threads(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # leave idle CPU to the parser
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.side_by_side = max(1, cpu_threads(0) // options.intra_op_num_threads)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _runs(self, batches: list[tuple[list[int], np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        if len(batches) <= 1 or self.side_by_side <= 1:
            return super()._runs(batches)
        with self._pool_lock:  # ONNX Runtime runs one session from several threads at once
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.side_by_side, thread_name_prefix="onnx-run")
        return self._pool.map(lambda batch: self._run(batch[1], batch[2]), batches)

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0], dtype=np.float32)


class OpenVinoEncoder(_GraphEncoder):
    """OpenVINO CPU plugin in throughput mode; compiled models are cached next to the export.

    The cores are split into independent streams (OpenVINO picks how many: one per core on 2 cores), each
    running its own batch; a call with several batches keeps every stream busy through an async queue.
    A stream that loses its core to other work (reading, chunking, writing the store) slows alone, where one
    inference spread over every core waits at each layer for its slowest thread.
    """

    def __init__(self, onnx_file: Path, model_dir: Path, max_seq_length: int, batch_size: int, threads: int,
                 precision: str = "f32") -> None:
        super().__init__(model_dir, max_seq_length, batch_size)
        import openvino as ov

        core = ov.Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            log.info("this CPU has no bfloat16 support; OpenVINO runs the model in float32")
            precision = "f32"
        config = {"INFERENCE_NUM_THREADS": cpu_threads(threads), "PERFORMANCE_HINT": "THROUGHPUT",
                  "INFERENCE_PRECISION_HINT": precision, "CACHE_DIR": str(onnx_file.parent / "openvino-cache")}
        self.compiled = core.compile_model(str(onnx_file), "CPU", config)
        self.queue = ov.AsyncInferQueue(self.compiled, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self.request = self.compiled.create_infer_request()
        self._lock = threading.Lock()  # one call at a time uses the queue and the request

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._lock:
            result = self.request.infer({"input_ids": ids, "attention_mask": mask})
            return np.array(result[self.compiled.output(0)], dtype=np.float32)

    def _run_all(self, batches: list[tuple[list[int], np.ndarray, np.ndarray]], count: int) -> np.ndarray:
        if len(batches) <= 1:
            return super()._run_all(batches, count)
        out = np.zeros((count, self.compiled.output(0).get_partial_shape()[-1].get_length()), dtype=np.float32)

        def store(request: Any, rows: list[int]) -> None:
            out[rows] = request.get_output_tensor(0).data

        with self._lock:
            self.queue.set_callback(store)
            for rows, ids, mask in batches:
                self.queue.start_async({"input_ids": ids, "attention_mask": mask}, rows)
            self.queue.wait_all()
        return out


Factory = Callable[[Path, Any], Encoder]  # (model_dir, settings) -> Encoder


def _torch(bf16: bool) -> Factory:
    return lambda model_dir, s: TorchEncoder(model_dir, s.max_seq_length, s.embed_batch_size, s.threads, bf16=bf16)


def _onnx(variant: str) -> Factory:
    def build(model_dir: Path, s: Any) -> Encoder:
        from .model_export import exported_model

        _require("onnxruntime", "onnxruntime")
        onnx_file = exported_model(model_dir, s.model_cache, variant, name=s.embedding_model)
        return OnnxEncoder(onnx_file, model_dir, s.max_seq_length, s.embed_batch_size, s.threads)

    return build


def _openvino(precision: str) -> Factory:
    def build(model_dir: Path, s: Any) -> Encoder:
        from .model_export import exported_model

        _require("openvino", "openvino")
        onnx_file = exported_model(model_dir, s.model_cache, "fp32", name=s.embedding_model)
        return OpenVinoEncoder(onnx_file, model_dir, s.max_seq_length, s.embed_batch_size, s.threads, precision)

    return build


def _require(module: str, package: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise BackendError(f"the {module} backend is not installed; run: pip install {package}")


# name -> factory; `newsrag config` and docs/benchmarks.md list these names
BACKENDS: dict[str, Factory] = {
    "torch": _torch(bf16=False),
    "torch-bf16": _torch(bf16=True),
    "onnx": _onnx("fp32"),
    "onnx-int8": _onnx("int8"),
    "openvino": _openvino("f32"),
    "openvino-bf16": _openvino("bf16"),
}


def make_encoder(name: str, model_dir: Path, settings: Any) -> Encoder:
    """Build the named backend; an unknown name is a ConfigError listing the known ones."""
    factory = BACKENDS.get(name)
    if factory is None:
        raise ConfigError(f"embedding_backend {name!r} is unknown; use one of: {', '.join(BACKENDS)}")
    return factory(model_dir, settings)
