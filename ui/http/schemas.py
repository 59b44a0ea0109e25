"""The HTTP API's request and response bodies (pydantic), which also document the API at /docs."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag import Filters
from rag.errors import QueryError


class FiltersIn(BaseModel):
    """Restrict retrieval; articles without a date never pass a date filter."""

    model_config = ConfigDict(extra="forbid")

    since: date | None = Field(None, description="Only articles dated on or after this day (YYYY-MM-DD).")
    until: date | None = Field(None, description="Only articles dated on or before this day (YYYY-MM-DD).")
    sources: list[str] = Field(default_factory=list, description="Only articles from these sites, e.g. antiwar.com.")
    article_ids: list[str] = Field(default_factory=list, description="Only these articles (ids from GET /v1/articles).")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        """Dates are text (a number would be read as seconds since 1970)."""
        if value is not None and not isinstance(value, (str, date)):
            raise ValueError("write the date as text YYYY-MM-DD, e.g. \"2021-08-01\"")
        return value

    def to_filters(self) -> Filters | None:
        if self.since and self.until and self.since > self.until:
            raise QueryError(f"filters.since {self.since} is after filters.until {self.until}")
        filters = Filters(self.since, self.until, tuple(self.sources), tuple(self.article_ids))
        return None if filters.is_empty() else filters


AS_OF = ("Answer with what was known then: YYYY-MM-DD (the end of that day) or an ISO time such as "
         "2025-03-28T18:00:00+01:00. Articles dated after it are not used; 'last week' is read from it. Default: now.")


def _as_of_text(value: Any) -> Any:
    """as_of is text (a number would be read as seconds since 1970)."""
    if value is not None and not isinstance(value, str):
        raise ValueError("write as_of as text, YYYY-MM-DD or an ISO time, e.g. \"2025-03-28\"")
    return value


class Message(BaseModel):
    """One chat message, OpenAI style; content may be text or a list of {"type": "text", "text": ...} parts."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type", "text") == "text")
        return self.content or ""


class AskRequest(BaseModel):
    """POST /v1/ask: one question."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, description="The question, e.g. 'What did Milley say about ISIS-K?'")
    filters: FiltersIn | None = Field(None, description="Date range, sites or articles to search in.")
    top_k: int | None = Field(None, ge=1, le=50, description="Passages given to the answerer (default from settings).")
    stream: bool = Field(False, description="Send server-sent events: `delta` pieces of text, then the `answer`.")
    as_of: str | None = Field(None, description=AS_OF, examples=["2025-03-28"])

    _as_of = field_validator("as_of", mode="before")(_as_of_text)


class ChatRequest(BaseModel):
    """POST /v1/chat: a conversation; the last message is the question, earlier ones give follow-ups their context."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(..., min_length=1, description="Oldest first; the last one must be from the user.")
    filters: FiltersIn | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    stream: bool = False
    as_of: str | None = Field(None, description=AS_OF)

    _as_of = field_validator("as_of", mode="before")(_as_of_text)


class StreamOptions(BaseModel):
    """OpenAI's stream options."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool = Field(False, description="End the stream with a chunk holding `usage` (and no choices).")


class OpenAIChatRequest(BaseModel):
    """POST /v1/chat/completions, as the OpenAI API; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field("newsrag", description="A model from GET /v1/models (newsrag); other names are refused (404).")
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = Field(None, description="With stream: `include_usage` adds a usage chunk.")
    filters: FiltersIn | None = Field(None, description="newsrag extension: restrict retrieval.")
    top_k: int | None = Field(None, ge=1, le=50, description="newsrag extension: passages given to the answerer.")
    as_of: str | None = Field(None, description="newsrag extension: " + AS_OF)

    _as_of = field_validator("as_of", mode="before")(_as_of_text)


class CitationOut(BaseModel):
    marker: int = Field(..., description="The [n] in the answer text; it points at sources[n-1].")
    source_index: int
    support: float = Field(..., description="How well the passage supports the sentence (0..1).")
    start: int | None = Field(None, description="Article offsets of the supporting sentence.")
    end: int | None = None
    claim: str = Field("", description="The answer sentence the marker closes.")
    lexical: float | None = None
    semantic: float | None = None


class SourceOut(BaseModel):
    chunk_id: str
    article_id: str
    title: str
    url: str | None
    date: str | None
    text: str = Field(..., description="The passage; `start`/`end` are its offsets in the article text.")
    start: int
    end: int
    score: float
    kind: str = Field("body", description="body, or comment for a reader comment under the article.")
    site: str | None = None
    author: str | None = None
    highlights: list[list[int]] = Field(default_factory=list, description="Article offsets of the supporting sentences.")
    chunk_ids: list[str] = Field(default_factory=list, description="The stored chunks this passage spans (neighbours are merged).")


class TimeWindowOut(BaseModel):
    """The days a question asks about, read from its words against as_of."""

    start: str | None = Field(..., description="First day (YYYY-MM-DD); null: open.")
    end: str = Field(..., description="Last day (YYYY-MM-DD).")
    phrase: str = Field(..., description="The words of the question it came from, e.g. 'last week'.")
    hard: bool = Field(..., description="True: only articles inside were used (since, between); false: they were preferred.")
    text: str = Field(..., description="The window in words, e.g. '24 to 28 March 2025'.")


class AnswerOut(BaseModel):
    """An answer: text with [n] markers, the passages they point at, and how it was made."""

    question: str
    answer: str
    refused: bool = Field(..., description="True when the articles do not answer; `answer` then says so.")
    verified: bool = Field(..., description="True when every sentence is supported by the passage it cites.")
    answerer: str
    rewritten_question: str | None = Field(None, description="The standalone question a follow-up became.")
    unsupported: list[str] = Field(default_factory=list)
    citations: list[CitationOut]
    sources: list[SourceOut]
    timings: dict[str, float] = Field(..., description="Milliseconds per stage: embed, search, generate, verify, total...")
    as_of: str | None = Field(None, description="The moment the answer is as of; articles dated after its day were not used.")
    time_window: TimeWindowOut | None = Field(None, description="The days the question asks about, when it names some.")
    recency: bool = Field(False, description="The question asks for the latest state; the newest passage that answers was used.")
    time_note: str = Field("", description="What `answer` says about time before its first sentence, e.g. 'In articles from 24 to 28 March 2025: '.")


class TimelineRequest(BaseModel):
    """POST /v1/timeline: how a story unfolded."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(..., min_length=1, description="The story, e.g. 'Kabul drone strike'.")
    filters: FiltersIn | None = Field(None, description="Date range, sites or articles to search in.")
    top_k: int | None = Field(None, ge=1, le=50, description="Passages read (default 30).")
    as_of: str | None = Field(None, description=AS_OF)

    _as_of = field_validator("as_of", mode="before")(_as_of_text)


class TimelineEventOut(BaseModel):
    day: str | None = Field(..., description="Date of the earliest article reporting the event; null when undated.")
    text: str = Field(..., description="The sentence, quoted from that article.")
    citations: list[CitationOut] = Field(..., description="Every outlet reporting it; markers point at sources[n-1].")


class TimelineDayOut(BaseModel):
    day: str | None
    events: list[TimelineEventOut]


class TimelineOut(BaseModel):
    """Events of the story by day, oldest first, each cited."""

    topic: str
    as_of: str
    time_window: TimeWindowOut | None = None
    days: list[TimelineDayOut]
    text: str = Field(..., description="The timeline as text with [n] markers.")
    sources: list[SourceOut]
    timings: dict[str, float]


class ErrorOut(BaseModel):
    error: str = Field(..., description="What went wrong and what to do.")
    type: str = Field(..., description="The error class, e.g. QueryError.")
