"""An answerer's text, checked as it is written: every piece goes through the citation verifier before a
reader sees it, and the time spent writing and checking is kept apart.

Any answerer (extractive or LLM) runs through here, so none can release a claim its passages do not support.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import tracing
from ..answering import Answerer, Finding
from ..records import Source
from ..settings import Settings
from .citations import CitationVerifier, Verified
from .support import SupportScorer


def checked_answer(answerer: Answerer, query: str, passages: Sequence[Source], settings: Settings,
                   embed: Callable[[Sequence[str]], np.ndarray], timings: dict[str, float],
                   findings: list[Finding]) -> Iterator[str | Verified]:
    """The answerer's verified text in pieces, then the whole `Verified` answer; adds "generate" and "verify"
    milliseconds to `timings` and appends what the answerer found besides its text to `findings`."""
    mark = time.perf_counter()
    s = settings
    scorer = SupportScorer(passages, embed if s.citation_semantic else None, s.citation_min_lexical,
                           s.citation_min_semantic, s.citation_min_overlap)
    verifier = CitationVerifier(scorer)  # splits the passages into sentences: verify work
    setup = _ms(mark)
    yield from _generate(answerer, query, passages, verifier, settings, timings, findings)
    mark = time.perf_counter()
    with tracing.stage("verify") as span:
        tail, checked = verifier.finish()
        span.set(**{"newsrag.citations": len(checked.citations), "newsrag.verified": checked.verified})
    timings["verify"] += setup + _ms(mark)
    if tail and checked.citations:
        yield tail
    yield checked


def _generate(answerer: Answerer, query: str, passages: Sequence[Source], verifier: CitationVerifier,
              settings: Settings, timings: dict[str, float], findings: list[Finding]) -> Iterator[str]:
    """Run the answerer, feed its text to the verifier and yield what the verifier releases; time both."""
    generate = verify = 0.0
    pieces = tracing.traced_pieces("answer", answerer.stream(query, passages), **_answerer_span(answerer, settings))
    while True:
        mark = time.perf_counter()
        piece = next(pieces, None)
        generate += time.perf_counter() - mark
        if piece is None:
            break
        if isinstance(piece, Finding):
            findings.append(piece)
            continue
        mark = time.perf_counter()
        released = verifier.feed(piece)
        verify += time.perf_counter() - mark
        if released:
            yield released
    timings["generate"] = timings.get("generate", 0.0) + generate * 1000  # a recency retry adds to it
    timings["verify"] = timings.get("verify", 0.0) + verify * 1000


def _answerer_span(answerer: Answerer, s: Settings) -> dict[str, Any]:
    """The answer span's OpenInference kind and model (LLM for the llm answerer)."""
    if answerer.client is None:
        return {"kind": "CHAIN", "newsrag.answerer": answerer.name}
    return {"kind": "LLM", "llm.model_name": s.llm_model, "llm.provider": s.llm_provider,
            "newsrag.answerer": answerer.name}


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
