"""The HTTP API's request and response bodies (pydantic), which also document the API at /docs."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import QueryError
from .records import Filters


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


class ChatRequest(BaseModel):
    """POST /v1/chat: a conversation; the last message is the question, earlier ones give follow-ups their context."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(..., min_length=1, description="Oldest first; the last one must be from the user.")
    filters: FiltersIn | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    stream: bool = False


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


class ErrorOut(BaseModel):
    error: str = Field(..., description="What went wrong and what to do.")
    type: str = Field(..., description="The error class, e.g. QueryError.")
