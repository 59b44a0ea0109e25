"""Scale corpora from real chunks: the stored RealTimeQA chunks, their vectors embedded once, recombined.

`export_source` reads the committed chunks of a store (text, vector, article metadata) into one .npz
file with each chunk's nearest neighbours. `scale_articles` then yields exactly N chunks grouped into
articles: the real articles first (whole), then synthetic ones with new ids, each synthetic chunk
being the first half of a real chunk A followed by the second half of one of A's 20 nearest
neighbours B, with the vector w*vA + (1-w)*vB plus a little Gaussian noise, re-normalised. So the
vectors stay on the data's manifold (mixtures of neighbours), BM25 sees real news vocabulary, and no
chunk is embedded again. Deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.store.collection import Store
from rag.store.rows import ArticleRow, ChunkRow

NEIGHBOURS = 20
_SENTENCE_END = re.compile(r"[.!?] ")
NOISE = 0.1  # expected norm of the noise added to a synthetic vector (the vectors have norm 1)


@dataclass
class Source:
    """The real chunks: texts, unit vectors, their article, and each chunk's nearest neighbours."""

    texts: list[str]
    vectors: np.ndarray  # (n, dim) float32
    article: np.ndarray  # (n,) index into the article lists, chunks of an article consecutive, in order
    neighbours: np.ndarray  # (n, NEIGHBOURS) int32, nearest first, never the chunk itself
    ids: list[str]
    titles: list[str]
    dates: list[str]
    sites: list[str]
    urls: list[str]

    def article_chunks(self) -> list[np.ndarray]:
        """For each article, the indexes of its chunks."""
        bounds = np.flatnonzero(np.diff(self.article)) + 1
        return np.split(np.arange(len(self.texts)), bounds)


def export_source(store: Store, path: Path) -> int:
    """Write the committed chunks of `store` (grouped by article, in chunk order) to `path`; their count."""
    versions = store.versions()
    rows: dict[str, list[tuple[int, str, list[float]]]] = {}
    meta: dict[str, dict] = {}
    offset = 0
    while True:
        got = store.chunks.get(limit=2000, offset=offset, include=["documents", "metadatas", "embeddings"])
        if not len(got["ids"]):
            break
        offset += len(got["ids"])
        for text, m, vector in zip(got["documents"], got["metadatas"], got["embeddings"]):
            article_id = str(m["article_id"])
            if versions.get(article_id) != m.get("version"):
                continue
            rows.setdefault(article_id, []).append((int(m.get("chunk_index", 0)), text or "", vector))
            meta[article_id] = m
    order = sorted(rows)
    texts, vectors, article = [], [], []
    for n, article_id in enumerate(order):
        for _, text, vector in sorted(rows[article_id], key=lambda r: r[0]):
            texts.append(text)
            vectors.append(vector)
            article.append(n)
    matrix = np.asarray(vectors, dtype=np.float32)
    strings = {field: [str(meta[a].get(field) or "") for a in order] for field in ("title", "date", "site", "url")}
    arrays = {"vectors": matrix, "article": np.asarray(article, dtype=np.int32),
              "neighbours": nearest_neighbours(matrix, NEIGHBOURS), "texts": _pack(texts), "ids": _pack(order),
              **{f"{k}s": _pack(v) for k, v in strings.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)
    return len(texts)


def load_source(path: Path) -> Source:
    with np.load(path, allow_pickle=False) as npz:
        return Source(texts=_unpack(npz["texts"]), vectors=npz["vectors"], article=npz["article"],
                      neighbours=npz["neighbours"], ids=_unpack(npz["ids"]), titles=_unpack(npz["titles"]),
                      dates=_unpack(npz["dates"]), sites=_unpack(npz["sites"]), urls=_unpack(npz["urls"]))


def nearest_neighbours(vectors: np.ndarray, k: int, block: int = 2048) -> np.ndarray:
    """The k nearest other rows of each row by cosine (exact, in blocks)."""
    n = len(vectors)
    k = max(0, min(k, n - 1))
    out = np.zeros((n, k), dtype=np.int32)
    for lo in range(0, n, block):
        sims = vectors[lo : lo + block] @ vectors.T
        sims[np.arange(len(sims)), np.arange(lo, lo + len(sims))] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k else np.zeros((len(sims), 0), int)
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[lo : lo + len(sims)] = np.take_along_axis(top, order, axis=1)
    return out


@dataclass
class ScaleArticle:
    """One article of a scale corpus, ready for `Store.put_article`."""

    row: ArticleRow
    chunks: list[ChunkRow]
    vectors: np.ndarray
    synthetic: bool


def scale_articles(source: Source, total: int, seed: int = 8) -> Iterator[ScaleArticle]:
    """Articles holding exactly `total` chunks: real articles first, then synthetic ones."""
    rng = np.random.default_rng(seed)
    groups = source.article_chunks()
    produced = 0
    for n, members in enumerate(groups):
        if produced + len(members) > total:
            break
        yield _article(source, n, source.ids[n], [source.texts[i] for i in members], source.vectors[members], False)
        produced += len(members)
    k = 0
    while produced < total:
        base = k % len(groups)
        members = groups[base][: total - produced]
        texts, vectors = _recombine(source, members, rng)
        yield _article(source, base, f"syn{seed}-{k:07d}", texts, vectors, True)
        produced += len(members)
        k += 1


def _recombine(source: Source, members: np.ndarray, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """New chunks from `members`: each one's first half with the second half of a near neighbour."""
    width = source.neighbours.shape[1]
    partners = source.neighbours[members, rng.integers(0, width, len(members))] if width else members
    texts = [_first_half(source.texts[a]) + " " + _second_half(source.texts[b]) for a, b in zip(members, partners)]
    w = rng.uniform(0.5, 0.9, (len(members), 1)).astype(np.float32)
    dim = source.vectors.shape[1]
    noise = rng.normal(0.0, NOISE / np.sqrt(dim), (len(members), dim)).astype(np.float32)
    vectors = w * source.vectors[members] + (1 - w) * source.vectors[partners] + noise
    return texts, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _split_point(text: str) -> int:
    """A sentence end (". ") near the middle of the text, else a space near the middle."""
    middle = len(text) // 2
    ends = [m.start() + 1 for m in _SENTENCE_END.finditer(text)]
    if ends:
        return min(ends, key=lambda i: abs(i - middle))
    space = text.find(" ", middle)
    return space if space > 0 else middle


def _first_half(text: str) -> str:
    return text[: _split_point(text)].strip()


def _second_half(text: str) -> str:
    return text[_split_point(text) :].strip()


def _article(source: Source, base: int, article_id: str, texts: list[str], vectors: np.ndarray,
             synthetic: bool) -> ScaleArticle:
    """An ArticleRow whose text is the chunks joined by blank lines, with exact chunk offsets."""
    chunks, parts, cursor = [], [], 0
    for index, text in enumerate(texts):
        chunks.append(ChunkRow(index=index, text=text, start=cursor, end=cursor + len(text)))
        parts.append(text)
        cursor += len(text) + 2
    body = "\n\n".join(parts)
    digest = hashlib.sha1(body.encode("utf-8")).hexdigest()
    url = f"https://synthetic.invalid/{article_id}" if synthetic else source.urls[base] or None
    row = ArticleRow(article_id=article_id, title=source.titles[base], text=body, content_hash=digest, url=url,
                     date=source.dates[base] or None, site=source.sites[base] or None, origin=url or article_id,
                     urls=(url,) if url else ())
    return ScaleArticle(row, chunks, np.ascontiguousarray(vectors, dtype=np.float32), synthetic)


def _pack(values: list[str]) -> np.ndarray:
    """Strings as one UTF-8 JSON array in a uint8 array (no pickle in the .npz)."""
    return np.frombuffer(json.dumps(values, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _unpack(packed: np.ndarray) -> list[str]:
    return list(json.load(io.BytesIO(packed.tobytes())))
