"""Finer stages of one `ask` than `Answer.timings` has: timers wrapped around the pipeline's own functions.

`Answer.timings` gives embed, dense, bm25, fuse (the learned ranking and every read around it), generate
and verify. To see where an answer's time goes inside those, the benchmark's worker process wraps a few
functions of the pipeline (`PROBES`) with timers for the duration of a run. Time is **exclusive**: a probe
called inside another (a chunk read inside the sentence windows) is counted only in the inner one, so the
stages add up and never count a millisecond twice. Nothing is wrapped outside the benchmark's processes.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any

# stage name -> "module:Class.method" or "module:function", as the pipeline calls it
PROBES = {
    "chunk reads": "rag.store.collection:Store.hits_by_ids",
    "article texts": "rag.store.collection:Store.article_texts",
    "ranking": "rag.retrieval.ranking:PassageRanker.rank",
    "windows": "rag.retrieval.retriever:widen",
    "selector": "rag.answering.selector:SentenceSelector.select",
    "sentence embeddings": "rag.answering.selector:SentenceSelector._similarities",
    "short answer": "rag.answering.short:ShortAnswerer.best",
    "citation embeddings": "rag.citing.support:SupportScorer._semantic",
}


class Probes:
    """Exclusive milliseconds per probe since the last `take()`."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = dict.fromkeys(PROBES, 0.0)
        self._stack: list[list[float]] = []  # per active probe: [started, time spent in inner probes]

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                self._stack.pop()
                spent = time.perf_counter() - frame[0]
                self.ms[name] += (spent - frame[1]) * 1000
                if self._stack:
                    self._stack[-1][1] += spent

        return timed

    def take(self) -> dict[str, float]:
        """The milliseconds gathered since the last call, and start again from zero."""
        out, self.ms = self.ms, dict.fromkeys(PROBES, 0.0)
        return out


@contextlib.contextmanager
def probed() -> Iterator[Probes]:
    """Wrap every function of `PROBES` for the block; the originals are put back afterwards."""
    probes = Probes()
    originals: list[tuple[Any, str, Any]] = []
    try:
        for name, target in PROBES.items():
            owner, attribute = _resolve(target)
            original = owner.__dict__[attribute]
            originals.append((owner, attribute, original))
            setattr(owner, attribute, probes.wrap(name, original))
        yield probes
    finally:
        for owner, attribute, original in reversed(originals):
            setattr(owner, attribute, original)


def _resolve(target: str) -> tuple[Any, str]:
    """(the object holding the attribute, its name) for "module:Class.method" or "module:function"."""
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, attribute
