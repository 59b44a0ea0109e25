"""Local ONNX exports of the embedding model: made once from the bundled weights, cached outside the repo.

`exported_model(model_dir, cache_root, "int8")` returns the path of an ONNX file whose single output
is the L2-normalised sentence embedding (mean pooling and normalisation are part of the graph), so
ONNX Runtime and OpenVINO give the same vectors as sentence-transformers without torch at run time.
Exports are written to a temporary folder and renamed into place, so concurrent processes and
crashes never leave a half-written model behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import BackendError

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # bump when the graph or the quantisation recipe changes
VARIANTS = ("fp32", "int8")
_ONNX_OPSET = 17


def exported_model(model_dir: Path, cache_root: Path, variant: str = "fp32", name: str | None = None) -> Path:
    """The cached ONNX file for `variant` ("fp32" or "int8") of the model in `model_dir`, exported on first use."""
    if variant not in VARIANTS:
        raise BackendError(f"unknown ONNX variant {variant!r}; use one of {', '.join(VARIANTS)}")
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name or model_dir.name).name).strip("-") or "model"
    folder = Path(cache_root).expanduser() / f"{label}-{_fingerprint(model_dir)}"
    target = folder / f"model-{variant}.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / ".lock"):
        if target.is_file():  # another process finished it while we waited
            return target
        fp32 = folder / "model-fp32.onnx"
        if not fp32.is_file():
            log.warning("exporting %s to ONNX once; cached in %s", label, folder)
            _atomic_write(fp32, lambda tmp: _export_fp32(model_dir, tmp))
        if variant == "int8":
            log.warning("quantising %s to int8 once; cached in %s", label, folder)
            _atomic_write(target, lambda tmp: _quantize_int8(fp32, tmp))
    return target


def _fingerprint(model_dir: Path) -> str:
    """Changes when the weights, the config or the export recipe change."""
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(model_dir)}:{path.stat().st_size}".encode())
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _atomic_write(target: Path, write) -> None:  # type: ignore[no-untyped-def]
    tmp_dir = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        tmp = tmp_dir / target.name
        write(tmp)
        extras = [p for p in tmp_dir.iterdir() if p != tmp]
        if extras:  # external-data files would be lost by the rename
            raise BackendError(f"the ONNX export of {target.name} wrote extra files {extras}")
        os.replace(tmp, target)
    except BackendError:
        raise
    except Exception as exc:
        raise BackendError(f"could not build {target.name} in {target.parent}: {exc}") from exc
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    class SentenceEmbedding(torch.nn.Module):
        """BERT, mean pooling over real tokens, L2 normalisation: what sentence-transformers computes."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    dummy = torch.ones((2, 16), dtype=torch.long)
    with torch.no_grad(), _quiet_warnings():
        torch.onnx.export(
            SentenceEmbedding(bert), (dummy, dummy), str(out),
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "embedding": {0: "batch"}},
            opset_version=_ONNX_OPSET, dynamo=False,
        )


def _quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic int8: signed per-channel weights of the MatMuls (VNNI-friendly); activations at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True, reduce_range=False,
        op_types_to_quantize=["MatMul"], extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


@contextlib.contextmanager
def _quiet_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
