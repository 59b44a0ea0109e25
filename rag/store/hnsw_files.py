"""Chroma's persisted HNSW segment files, read and checked in Python before Chroma's native code loads them.

A segment directory holds `header.bin` (sizes and offsets), `data_level0.bin` (per element: flags and
level-0 neighbours, the vector, the label), `length.bin`, `link_lists.bin` (the upper levels' neighbours)
and `index_metadata.pickle` (user id <-> label). Chroma 1.5 crashes the whole process (SIGSEGV) on a
segment whose graph points at missing links, instead of raising; `check_segment` finds such damage first.
`segment_vectors` reads stored vectors back for `newsrag repair`.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HEADER = "header.bin"
METADATA = "index_metadata.pickle"
FILES = (HEADER, "data_level0.bin", "length.bin", "link_lists.bin")
HEADER_BYTES = 100
DELETED = 0x10000


class SegmentDamaged(Exception):
    """A segment's files do not make a loadable index; the message says how."""


@dataclass
class Segment:
    """The parsed header of one segment and its id map."""

    path: Path
    elements: int
    capacity: int
    stride: int
    label_offset: int
    data_offset: int
    max_level: int
    entry: int
    max_m: int
    max_m0: int
    dimension: int
    id_to_label: dict[str, int] = field(default_factory=dict)
    total_added: int = 0


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles only plain data (dicts, strings, numbers): a store file must never run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise SegmentDamaged(f"{METADATA} refers to {module}.{name}, which an id map never holds")


def exists(path: Path) -> bool:
    """Whether Chroma has written index files into this segment directory (it may not have yet)."""
    return any((path / name).exists() for name in (*FILES, METADATA))


def read_segment(path: Path, dimension: int) -> Segment:
    """The segment's header and id map; SegmentDamaged when they are missing, cut short or inconsistent."""
    try:
        raw = (path / HEADER).read_bytes()
    except OSError as exc:
        raise SegmentDamaged(f"{HEADER} cannot be read ({exc.strerror or exc})") from exc
    if len(raw) < HEADER_BYTES or struct.unpack_from("<I", raw, 0)[0] != 1:
        raise SegmentDamaged(f"{HEADER} is cut short or of an unknown version")
    offset0, capacity, elements, stride, label_offset, data_offset = struct.unpack_from("<6Q", raw, 4)
    max_level, entry = struct.unpack_from("<iI", raw, 52)
    max_m, max_m0, m = struct.unpack_from("<3Q", raw, 60)
    seg = Segment(path, elements, capacity, stride, label_offset, data_offset, max_level, entry, max_m, max_m0,
                  (label_offset - data_offset) // 4 if label_offset > data_offset else 0)
    if (offset0 != 0 or capacity < elements or not m or not max_m or max_m0 < max_m or data_offset != 4 * max_m0 + 4
            or label_offset + 8 != stride or (dimension and seg.dimension != dimension)
            or (elements and (entry >= elements or max_level < 0))):
        raise SegmentDamaged(f"{HEADER} does not describe a {dimension or seg.dimension}-dimensional index")
    for name, need in (("data_level0.bin", elements * stride), ("length.bin", elements * 4)):
        size = (path / name).stat().st_size if (path / name).exists() else -1
        if size < need:
            raise SegmentDamaged(f"{name} holds {max(size, 0)} bytes, {need} are needed for {elements} vectors")
    _read_id_map(seg)
    return seg


def _read_id_map(seg: Segment) -> None:
    file = seg.path / METADATA
    if not file.exists():
        if seg.elements:
            raise SegmentDamaged(f"{METADATA} is missing while the index holds {seg.elements} vectors")
        return
    try:
        with open(file, "rb") as handle:
            data = _PlainUnpickler(handle).load()
        id_to_label = {str(k): int(v) for k, v in data["id_to_label"].items()}
        label_to_id = {int(k): str(v) for k, v in data["label_to_id"].items()}
        total, dim = int(data["total_elements_added"]), data.get("dimensionality")
    except SegmentDamaged:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read the pickle is damage, said with its cause
        raise SegmentDamaged(f"{METADATA} cannot be read ({type(exc).__name__}: {exc})") from exc
    if dim not in (None, seg.dimension) or len(id_to_label) != len(label_to_id) or any(
            label_to_id.get(label) != uid for uid, label in id_to_label.items()):
        raise SegmentDamaged(f"{METADATA} holds an inconsistent id map")
    seg.id_to_label, seg.total_added = id_to_label, total


def _level0(seg: Segment) -> np.ndarray:
    if not seg.elements:
        return np.zeros((0, seg.stride), dtype=np.uint8)
    return np.memmap(seg.path / "data_level0.bin", dtype=np.uint8, mode="r", shape=(seg.elements, seg.stride))


def check_segment(seg: Segment) -> None:
    """Walk the graph's shape: SegmentDamaged where a link, a label or a level is impossible."""
    rows = _level0(seg)
    flags = np.ascontiguousarray(rows[:, :4]).view("<u4").ravel()
    degree = flags & 0xFFFF
    if degree.size and int(degree.max()) > seg.max_m0:
        raise SegmentDamaged("a vector has more level-0 links than the index allows")
    links = np.ascontiguousarray(rows[:, 4 : 4 + 4 * seg.max_m0]).view("<u4")
    used = np.arange(seg.max_m0)[None, :] < degree[:, None]
    if bool((links[used] >= seg.elements).any()):
        raise SegmentDamaged("a level-0 link points past the last vector")
    labels = np.ascontiguousarray(rows[:, seg.label_offset : seg.label_offset + 8]).view("<u8").ravel()
    active = labels[(flags & DELETED) == 0]
    if len(np.unique(labels)) != len(labels) or (labels.size and (labels.min() == 0 or labels.max() > seg.total_added)):
        raise SegmentDamaged("vector labels repeat or lie outside the id map")
    known = set(seg.id_to_label.values())
    if len(active) != len(known) or any(int(label) not in known for label in active):
        raise SegmentDamaged(f"the index holds {len(active)} live vectors, its id map {len(known)}")
    _check_upper_levels(seg)


def _check_upper_levels(seg: Segment) -> None:
    """Every upper-level link must point at a vector that has that level (Chroma 1.5 segfaults otherwise)."""
    data = (seg.path / "link_lists.bin").read_bytes()
    block = 4 * seg.max_m + 4
    levels = np.zeros(seg.elements, dtype=np.int32)
    wanted: list[tuple[int, np.ndarray]] = []
    pos = 0
    for node in range(seg.elements):
        if pos + 4 > len(data):
            raise SegmentDamaged("link_lists.bin is cut short")
        size = struct.unpack_from("<I", data, pos)[0]
        pos += 4
        if size % block or size // block > max(seg.max_level, 0) or pos + size > len(data):
            raise SegmentDamaged("link_lists.bin holds an impossible link list")
        levels[node] = size // block
        for level in range(1, size // block + 1):
            start = pos + (level - 1) * block
            count = struct.unpack_from("<I", data, start)[0]
            if count > seg.max_m:
                raise SegmentDamaged("a vector has more upper-level links than the index allows")
            wanted.append((level, np.frombuffer(data, dtype="<u4", count=count, offset=start + 4)))
        pos += size
    if seg.elements and levels[seg.entry] != seg.max_level:
        raise SegmentDamaged("the index's entry point is not on its top level")
    for level, targets in wanted:
        if targets.size and (int(targets.max()) >= seg.elements or int(levels[targets].min()) < level):
            raise SegmentDamaged(f"a level-{level} link points at a vector that has no level {level}")


def segment_vectors(seg: Segment, ids: set[str]) -> dict[str, np.ndarray]:
    """The stored vectors of these user ids (those the id map knows and whose rows are live)."""
    rows = _level0(seg)
    if not seg.elements:
        return {}
    labels = np.ascontiguousarray(rows[:, seg.label_offset : seg.label_offset + 8]).view("<u8").ravel()
    flags = np.ascontiguousarray(rows[:, :4]).view("<u4").ravel()
    row_of = {int(label): n for n, label in enumerate(labels) if not flags[n] & DELETED}
    out: dict[str, np.ndarray] = {}
    for uid in ids:
        row = row_of.get(seg.id_to_label.get(uid, -1))
        if row is not None:
            out[uid] = np.frombuffer(bytes(rows[row, seg.data_offset : seg.label_offset]), dtype="<f4").copy()
    return out
