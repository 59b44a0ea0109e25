"""Citation verification: every [n] must point at a passage that was given and that supports its sentence.

Works on a stream: `CitationVerifier.feed` takes the answer as it is written and returns the
verified text of each finished sentence, so what a user sees streamed is exactly the final answer.
Markers that point outside the passages or at a passage that does not support the sentence are
moved to the passage that does, or removed; markers are renumbered 1..m in order of first use, and
each cited passage records the sentence that supports the claim (article offsets, for highlighting).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .. import text as tx
from ..records import Citation, Source
from .support import Embed, Support, SupportScorer

# "[Passage 2]", "[1, 3]", "[2-4]" -> "[2]", "[1][3]", "[2][3][4]"
_MARKER_GROUP = re.compile(
    r"\[\s*((?:(?:passages?|sources?|docs?)\s*)?\d{1,3}"
    r"(?:\s*[,;–-]\s*(?:(?:passages?|sources?|docs?)\s*)?\d{1,3})*)\s*\]",
    re.IGNORECASE,
)
_MARKER_RUN = re.compile(r"(?:[ \t]*\[\d{1,3}\])+(?P<punct>[.!?;:]*)")
_COMMENT_WRAPPER = re.compile(r"^A reader commented:\s*“(.*)”$", re.DOTALL)


@dataclass
class Claim:
    """A sentence of the answer with the markers that follow it; `end` is its end offset in the text."""

    text: str
    markers: list[int]
    end: int
    lead: str = ""  # the whitespace that separated it from the previous claim


@dataclass(frozen=True)
class Verified:
    """The repaired answer: text with renumbered markers, its citations, and the sources reordered to match."""

    text: str
    citations: list[Citation]
    sources: list[Source]
    verified: bool  # every claim with content is supported by the passage it cites
    unsupported: list[str] = field(default_factory=list)  # sentences no passage supports
    moved: int = 0  # markers re-attached to another passage
    removed: int = 0  # markers dropped because nothing supports the sentence


def normalize_markers(text: str) -> str:
    """Write every citation as [n]: "[1, 2]" -> "[1][2]", "[Passage 3]" -> "[3]", "[2-4]" -> "[2][3][4]"."""

    def expand(match: re.Match[str]) -> str:
        numbers: list[int] = []
        for part in re.finditer(r"(\d{1,3})(?:\s*[–-]\s*(?:(?:passages?|sources?|docs?)\s*)?(\d{1,3}))?", match.group(1), re.IGNORECASE):
            lo = int(part.group(1))
            hi = int(part.group(2)) if part.group(2) else lo
            numbers.extend(range(lo, hi + 1) if 0 <= hi - lo <= 10 else [lo, hi])
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers))

    return _MARKER_GROUP.sub(expand, text)


def split_claims(text: str) -> list[Claim]:
    """The answer's sentences, each with the markers that follow it (claim text keeps no markers).

    Markers close the sentence they follow, wherever punctuation sits ("claim [1]." or "claim. [1]");
    sentences before it in the same run carry none of their own.
    """
    claims: list[Claim] = []
    cursor = 0
    for run in _MARKER_RUN.finditer(text):
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", run.group())]
        segment = text[cursor : run.start()] + run.group("punct")
        spans = _sentences(segment)
        if not spans:
            if claims:
                claims[-1].markers.extend(markers)
                claims[-1].end = run.end()
            cursor = run.end()
            continue
        for i, (a, b) in enumerate(spans):
            last = i == len(spans) - 1
            claims.append(Claim(segment[a:b], markers if last else [], run.end() if last else cursor + b, _lead(text, claims, cursor + a)))
        cursor = run.end()
    for a, b in _sentences(text[cursor:]):
        claims.append(Claim(text[cursor + a : cursor + b], [], cursor + b, _lead(text, claims, cursor + a)))
    return claims


def _sentences(segment: str) -> list[tuple[int, int]]:
    """Sentence spans with surrounding whitespace trimmed; pieces without a word are dropped."""
    spans = []
    for a, b in tx.sentence_spans(segment):
        piece = segment[a:b]
        if re.search(r"\w", piece):
            a += len(piece) - len(piece.lstrip())
            b -= len(piece) - len(piece.rstrip())
            spans.append((a, b))
    return spans


def _lead(text: str, claims: list[Claim], start: int) -> str:
    gap = text[claims[-1].end if claims else 0 : start]
    return "\n" * min(gap.count("\n"), 2) if "\n" in gap else (" " if gap else "")


class CitationVerifier:
    """Checks an answer claim by claim as it streams in; `feed` returns the verified text ready to show.

    Nothing is released before the first supported claim, so an answer that turns out to be
    unsupported (a refusal) has shown nothing that must be taken back.
    """

    def __init__(self, scorer: SupportScorer) -> None:
        self.scorer = scorer
        self.sources = scorer.sources
        self._buffer = ""
        self._held: list[str] = []  # verified pieces waiting for the first supported claim
        self._released = False
        self._pieces: list[str] = []
        self._order: list[int] = []  # source indexes in order of first citation
        self._cites: list[tuple[int, str, Support]] = []
        self._unsupported: list[str] = []
        self._moved = self._removed = 0

    def feed(self, delta: str) -> str:
        """Take more answer text; return the verified text of the claims it completed."""
        self._buffer = normalize_markers(self._buffer + delta)
        claims = split_claims(self._buffer)
        if len(claims) < 2 or not re.search(r"\w+\s+\S", claims[-1].text):
            return ""  # the last claim may still grow, or gain its markers
        done = claims[:-1]
        self._buffer = self._buffer[done[-1].end :]
        return self._release([self._check(c) for c in done])

    def finish(self) -> tuple[str, Verified]:
        """Verify what is left; return its text and the whole verified answer."""
        tail = [self._check(c) for c in split_claims(normalize_markers(self._buffer))]
        self._buffer = ""
        text = self._release(tail)
        return text, self._result()

    def _release(self, pieces: list[str]) -> str:
        self._held.extend(p for p in pieces if p)
        if not self._released and not self._cites:
            return ""
        self._released = True
        out = "".join(self._held)
        self._held = []
        if not any(self._pieces):
            out = out.lstrip()
        self._pieces.append(out)
        return out

    def _check(self, claim: Claim) -> str:
        """The claim with its markers repaired and renumbered."""
        inner = _COMMENT_WRAPPER.sub(r"\1", claim.text)
        kept: list[tuple[int, Support]] = []
        for marker in dict.fromkeys(claim.markers):
            if 1 <= marker <= len(self.sources):
                found = self.scorer.support(inner, marker - 1)
                if found.supported:
                    kept.append((marker - 1, found))
        if not kept:
            best = self.scorer.best(inner)
            if best is not None:
                kept = [best]
                self._moved += len(claim.markers) > 0
        if not kept:
            self._removed += len(set(claim.markers))
            if tx.terms(inner):
                self._unsupported.append(claim.text)
            return claim.lead + claim.text
        labels = []
        for index, found in kept:
            if index not in self._order:
                self._order.append(index)
            self._cites.append((index, claim.text, found))
            labels.append(f"[{self._order.index(index) + 1}]")
        return f"{claim.lead}{claim.text} {''.join(labels)}"

    def _result(self) -> Verified:
        new_order = self._order + [i for i in range(len(self.sources)) if i not in self._order]
        position = {old: new for new, old in enumerate(new_order)}
        spans: dict[int, set[tuple[int, int]]] = {}
        citations: list[Citation] = []
        for index, claim, found in self._cites:
            spans.setdefault(index, set()).add((found.start, found.end))
            citations.append(Citation(
                marker=position[index] + 1, source_index=position[index], support=round(found.score, 3),
                start=found.start, end=found.end, claim=claim, lexical=round(found.lexical, 3),
                semantic=None if found.semantic is None else round(found.semantic, 3),
            ))
        sources = [replace(self.sources[old], highlights=tuple(sorted(spans.get(old, ())))) for old in new_order]
        text = "".join(self._pieces) + "".join(self._held)
        verified = bool(citations) and not self._unsupported
        return Verified(text.strip(), citations, sources, verified, self._unsupported, self._moved, self._removed)


def verify_citations(
    text: str,
    sources: Sequence[Source],
    threshold: float = 0.6,
    embed: Embed | None = None,
    min_semantic: float = 0.75,
) -> Verified:
    """Check and repair the markers of a whole answer `text` against `sources` ([n] is sources[n-1])."""
    verifier = CitationVerifier(SupportScorer(sources, embed, min_lexical=threshold, min_semantic=min_semantic))
    verifier.feed(text)
    return verifier.finish()[1]
