"""The per-question record of a run: what was asked, retrieved, answered and cited, and whether it passed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Ranking:
    """One retrieval ranking judged against the question's relevance: True where the item is relevant."""

    articles: list[bool] = field(default_factory=list)  # distinct articles in order of first retrieval
    chunks: list[bool] = field(default_factory=list)  # retrieved passages (neighbouring chunks merged count once)
    relevant_articles: int = 0
    relevant_chunks: int = 0
    answer_rank: int | None = None  # 1-based rank of the first passage containing an answer string
    choice: int | None = None  # option picked from the top-k passages (multiple-choice sets)
    choice_correct: bool | None = None
    choice_scores: list[float] = field(default_factory=list)  # support score of every option
    abstained: bool | None = None


@dataclass
class CitationCheck:
    """Citation counts of one answer."""

    markers: int = 0  # [n] markers in the answer text
    valid: int = 0  # markers that point at a passage that was given
    supported: int = 0  # valid markers whose passage supports the sentence they close
    sentences: int = 0
    cited_sentences: int = 0
    evidence: bool | None = None  # a cited passage contains a key string (None: no key strings)


@dataclass
class QuestionResult:
    """Everything the report and `eval compare` need about one question."""

    id: str
    group: str
    question: str
    answerable: bool
    answers: list[str]
    choices: list[str] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)
    wrong_answers: list[str] = field(default_factory=list)
    answer: str = ""
    refused: bool = False
    error: str | None = None  # the question failed: the exception, one line
    cited: list[dict[str, Any]] = field(default_factory=list)  # marker, title, url, date, sentence, passage
    ranking: Ranking = field(default_factory=Ranking)
    answer_in_corpus: bool | None = None
    answer_in_gold: bool | None = None  # an answer string occurs in one of the question's own gold articles
    answer_in_recent_gold: bool | None = None  # ... in one published in the 10 days before the question's date
    context_has_answer: bool | None = None  # one of the top-5 passages the answerer was given contains an answer
    short_answer: str | None = None  # Answer.short_answer
    short_correct: bool | None = None  # the short answer names a right answer (see matching.short_answer_matches)
    exact_match: float | None = None
    f1: float | None = None
    contains: float | None = None
    repeats_wrong: bool | None = None  # the answer repeats a counterfactual claim
    citations: CitationCheck = field(default_factory=CitationCheck)
    timings: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, Ranking] = field(default_factory=dict)
    missing_gold: int = 0  # gold references not found in the store
    reused_from: str | None = None  # the earlier question with the same text whose answer this one reuses
    note: str = ""
    passed: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuestionResult:
        data = dict(data)
        data["ranking"] = Ranking(**data.get("ranking", {}))
        data["citations"] = CitationCheck(**data.get("citations", {}))
        data["baselines"] = {k: Ranking(**v) for k, v in (data.get("baselines") or {}).items()}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
