"""The default answerer, no LLM needed: quote the sentences most likely to answer the question, each cited.

The learned selector (`selector.py`) gives every sentence of the passages a probability of answering.
The answer refuses when the best is under the threshold chosen on development data; otherwise it
leads with the short answer when the question asks for a fact (`short.py`), then quotes the best
sentence, with the sentence before it when the best one leans on it ("He said...") and the one
after it when that one carries what the question asks for. Up to `max_answer_sentences` sentences are
quoted in all: further, different sentences follow while they are at least `ALSO_QUOTE` times as likely
to answer as the best and would not be refused on their own. On RealTimeQA weeks 1-9 this put the
answer in the text for 0.585 of the questions whose top five passages hold it, against 0.537 with at
most two quotes at 0.6 (docs/evaluation.md, third round).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from .. import text as tx
from ..asks import ABOUT_COMMENTS, type_fit
from ..records import Source
from ..settings import Settings
from .base import REFUSAL, Finding
from .features import Candidate
from .injection import instruction_like
from .selector import SentenceSelector
from .short import ShortAnswerer

ALSO_QUOTE = 0.4  # a further sentence is quoted while this likely, relative to the best (chosen on weeks 1-9)
_LEANS_BACK = re.compile(r"^\W*(he|she|it|they|this|that|these|those|his|her|their|its|but|also|however)\b", re.IGNORECASE)


class ExtractiveAnswerer:
    """Quotes the sentences a fitted model rates most likely to answer; never paraphrases."""

    name = "extractive"
    client = None  # no LLM: follow-ups are rewritten by the heuristic rewriter

    def __init__(self, settings: Settings, embed: Any = None) -> None:
        self.settings = settings
        self.selector = SentenceSelector(embed)
        self.short = ShortAnswerer()

    def stream(self, question: str, passages: Sequence[Source]) -> Iterator[str | Finding]:
        shape, ranked = self.selector.select(question, passages)
        if not ABOUT_COMMENTS.search(question):  # article text first; comments only when nothing else
            ranked = [c for c in ranked if passages[c.passage].kind != "comment"] or ranked
        if not ranked or ranked[0].probability < self.selector.refuse_below:
            yield Finding(confidence=ranked[0].probability if ranked else 0.0)
            yield REFUSAL
            return
        span = self.short.best(question, shape, ranked, passages)
        yield Finding(short_answer=span.text if span else None, confidence=ranked[0].probability)
        for i, group in enumerate(self._quotes(shape, ranked, passages)):
            text = " ".join(passages[c.passage].text[c.start:c.end].strip() for c in group)
            if passages[group[0].passage].kind == "comment":
                text = f"A reader commented: “{text}”"
            if i == 0 and span is not None:
                text = f"{span.text} — {text}"
            yield ("" if i == 0 else " ") + f"{text} [{group[0].passage + 1}]"

    def _quotes(self, shape: Any, ranked: list[Candidate], passages: Sequence[Source]) -> list[list[Candidate]]:
        """The best sentence with the neighbours it needs, then further sentences nearly as likely, up to
        `max_answer_sentences` picked in all."""
        best = ranked[0]
        groups = [self._with_neighbours(best, shape, passages[best.passage])]
        used = {(c.passage, c.start) for c in groups[0]}
        for cand in ranked[1:]:
            floor = max(ALSO_QUOTE * best.probability, self.selector.refuse_below)
            if len(groups) >= self.settings.max_answer_sentences or cand.probability < floor:
                break
            if (cand.passage, cand.start) in used or _repeats(cand, [c for g in groups for c in g]):
                continue
            groups.append([cand])
            used.add((cand.passage, cand.start))
        return groups

    def _with_neighbours(self, best: Candidate, shape: Any, passage: Source) -> list[Candidate]:
        """The sentence before `best` when best leans on it; the one after when it holds the asked-for fact."""
        spans = tx.sentence_spans(passage.text)
        index = next((i for i, (a, _) in enumerate(spans) if a == best.start), None)
        if index is None:
            return [best]
        group = [best]
        if _LEANS_BACK.search(best.text) and index > 0:
            group.insert(0, _plain(passage, spans[index - 1], best))
        if index + 1 < len(spans) and shape.asks and not type_fit(shape, best.text):
            after = _plain(passage, spans[index + 1], best)
            if type_fit(shape, after.text) and _LEANS_BACK.search(after.text):
                group.append(after)
        return [c for c in group if not instruction_like(c.text)]


def _plain(passage: Source, span: tuple[int, int], like: Candidate) -> Candidate:
    text = passage.text[span[0]:span[1]]
    return Candidate(like.passage, span[0], span[1], text.strip(), frozenset(tx.terms(text)))


def _repeats(cand: Candidate, chosen: list[Candidate]) -> bool:
    """True when the sentence says nearly the same as one already chosen."""
    for other in chosen:
        union = cand.terms | other.terms
        if union and len(cand.terms & other.terms) / len(union) > 0.6:
            return True
    return False
