"""Near-duplicate detection: the same wire story on two sites is stored once, with both addresses kept.

Each article's story text gets a MinHash signature of its word 5-shingles (64 hashes, kept in the
article registry). Locality-sensitive hashing (16 bands of 4) finds candidates, and a candidate is a
duplicate when the signatures estimate a Jaccard similarity of at least `THRESHOLD`.
Very short texts (too few shingles to judge) only match exact copies.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict

import numpy as np

THRESHOLD = 0.8
SHINGLE_WORDS = 5
MIN_SHINGLES = 20
_PERMUTATIONS = 64
_BANDS = 16
_ROWS = _PERMUTATIONS // _BANDS
_PRIME = np.uint64(4294967291)  # the largest prime below 2^32
_rng = np.random.default_rng(20240501)  # fixed: signatures must be comparable across runs
_A = _rng.integers(1, 1 << 31, size=(_PERMUTATIONS, 1), dtype=np.uint64)  # a*x + b < 2^64 for x < 2^32
_B = _rng.integers(0, 1 << 31, size=(_PERMUTATIONS, 1), dtype=np.uint64)
_WORD = re.compile(r"\w+", re.UNICODE)


def fingerprint(text: str) -> str:
    """The signature of a story as a hex string ('x' + a hash of the words for very short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS + MIN_SHINGLES - 1:
        return "x" + hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=4).digest(), "little") for s in shingles),
        dtype=np.uint64, count=len(shingles),
    )
    mins = ((_A * hashes[None, :] + _B) % _PRIME).min(axis=1)  # 64 universal hashes (a*x + b) mod p
    return mins.astype(">u4").tobytes().hex()


def similarity(left: str, right: str) -> float:
    """Estimated Jaccard similarity of two fingerprints (exact-hash fingerprints: 1.0 or 0.0)."""
    if left.startswith("x") or right.startswith("x"):
        return 1.0 if left == right else 0.0
    a, b = _values(left), _values(right)
    return float(np.mean(a == b))


def _values(signature: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(signature), dtype=">u4")


def _bands(signature: str) -> list[str]:
    if signature.startswith("x"):
        return [signature]
    width = 8 * _ROWS
    return [f"{i}:{signature[i * width : (i + 1) * width]}" for i in range(_BANDS)]


class DuplicateIndex:
    """Fingerprints of the stored articles (plus those accepted in this run) for near-duplicate lookups."""

    def __init__(self) -> None:
        self._buckets: dict[str, set[str]] = defaultdict(set)
        self._signatures: dict[str, str] = {}

    def add(self, article_id: str, signature: str) -> None:
        if not signature:
            return
        self._signatures[article_id] = signature
        for band in _bands(signature):
            self._buckets[band].add(article_id)

    def find(self, signature: str, exclude: str | None = None) -> str | None:
        """The id of a stored article this fingerprint duplicates, or None."""
        best, best_score = None, THRESHOLD
        candidates = set().union(*(self._buckets.get(band, set()) for band in _bands(signature)))
        for candidate in sorted(candidates):
            if candidate == exclude:
                continue
            score = similarity(signature, self._signatures[candidate])
            if score >= best_score:
                best, best_score = candidate, score
        return best

    def __len__(self) -> int:
        return len(self._signatures)
