"""Optional OpenTelemetry spans for each stage of a question and of an ingest, named with the OpenInference
semantic conventions, so Phoenix, Langfuse or any OTLP collector shows a question's path.

Off by default: every hook is then a no-op and OpenTelemetry is not even imported. `tracing = true`
sends spans to the process's tracer provider (one the host application set up); `otlp_endpoint` makes
newsrag set up its own, exporting over OTLP/HTTP to that address, the only network traffic tracing
ever causes. Needs the otel extra: pip install 'newsrag[otel]'.

    ask (CHAIN) ─ retrieve (RETRIEVER: retrieval.documents.N.document.id/score/content/metadata)
                  ├ embed (EMBEDDING) ├ bm25 (RETRIEVER) ├ dense (RETRIEVER) ├ fuse (CHAIN) └ rerank (RERANKER)
                ─ answer (LLM, or CHAIN for the extractive answerer) ─ verify (GUARDRAIL)
    ingest (CHAIN) ─ embed_batch (EMBEDDING) ─ write_batch (CHAIN), per batch

`trace_content = false` leaves questions, answers and passage text off the spans (ids, scores, counts and
timings stay).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .records import Answer

if TYPE_CHECKING:
    from .records import Source
    from .settings import Settings

KIND = "openinference.span.kind"
KINDS = {"ask": "CHAIN", "retrieve": "RETRIEVER", "embed": "EMBEDDING", "dense": "RETRIEVER", "bm25": "RETRIEVER",
         "fuse": "CHAIN", "rerank": "RERANKER", "answer": "CHAIN", "verify": "GUARDRAIL", "ingest": "CHAIN",
         "embed_batch": "EMBEDDING", "write_batch": "CHAIN"}
_state: dict[str, Any] = {"tracer": None, "content": True, "endpoint": None}


def configure(settings: Settings) -> None:
    """Turn spans on as the settings say (`tracing`, `otlp_endpoint`); leaves them as they are when both are off."""
    if not (settings.tracing or settings.otlp_endpoint):
        return
    from .lazy import require

    require("opentelemetry.sdk", "tracing (NEWSRAG_TRACING / NEWSRAG_OTLP_ENDPOINT)")
    trace = _trace()
    provider = _otlp_provider(settings.otlp_endpoint) if settings.otlp_endpoint else trace.get_tracer_provider()
    enable(provider, content=settings.trace_content)


def enable(provider: Any = None, content: bool = True) -> None:
    """Send spans to `provider` (default: the global tracer provider); `content` puts text on them."""
    trace = _trace()
    _state["tracer"] = (provider or trace.get_tracer_provider()).get_tracer("newsrag")
    _state["content"] = content


def disable() -> None:
    """No more spans (the no-op hooks again)."""
    _state["tracer"] = None


def enabled() -> bool:
    return _state["tracer"] is not None


def flush() -> None:
    """Send the spans newsrag's own OTLP exporter still holds (it also does so at exit)."""
    if _state.get("provider") is not None:
        _state["provider"].force_flush()


class Span:
    """One stage's span (or nothing, when tracing is off): set attributes, documents, input and output."""

    def __init__(self, span: Any = None) -> None:
        self.span = span

    def set(self, **attributes: Any) -> None:
        if self.span is not None:
            self.span.set_attributes({k: _value(v) for k, v in attributes.items() if v is not None})

    def text(self, key: str, value: str | None) -> None:
        """A text attribute such as input.value or output.value, only when content goes on spans."""
        if self.span is not None and value is not None and _state["content"]:
            self.span.set_attribute(key, value)

    def documents(self, sources: Iterable[Source]) -> None:
        """The passages found, as OpenInference retrieval.documents.N.document.*."""
        if self.span is None:
            return
        for i, source in enumerate(sources):
            prefix = f"retrieval.documents.{i}.document."
            meta = {"title": source.title, "url": source.url, "date": source.date, "article_id": source.article_id,
                    "start": source.start, "end": source.end}
            self.set(**{prefix + "id": source.chunk_id, prefix + "score": float(source.score),
                        prefix + "metadata": json.dumps(meta, ensure_ascii=False)})
            self.text(prefix + "content", source.text)

    def answer(self, answer: Answer) -> None:
        self.text("output.value", answer.text)
        self.set(**{"newsrag.refused": answer.refused, "newsrag.verified": answer.verified,
                    "newsrag.citations": len(answer.citations), "newsrag.answerer": answer.answerer})


@contextlib.contextmanager
def stage(name: str, **attributes: Any) -> Iterator[Span]:
    """A span around a stage that runs without yielding (made current, so inner stages nest under it)."""
    tracer = _state["tracer"]
    if tracer is None:
        yield Span()
        return
    with tracer.start_as_current_span(name, attributes={KIND: KINDS.get(name, "CHAIN")}) as span:
        traced = Span(span)
        traced.set(**attributes)
        yield traced


def traced_stream(name: str, stream: Iterator[Any], question: str, **attributes: Any) -> Iterator[Any]:
    """`stream` (text pieces, then an Answer) under one span; the span is current only while the stream works
    (each `next`), so a stream consumed across threads or requests never mixes contexts."""
    if _state["tracer"] is None:
        return stream
    return _traced(name, stream, question, attributes)


def _traced(name: str, stream: Iterator[Any], question: str, attributes: dict[str, Any]) -> Iterator[Any]:
    from opentelemetry import context, trace
    span = _state["tracer"].start_span(name, attributes={KIND: KINDS.get(name, "CHAIN")})
    traced, parent = Span(span), trace.set_span_in_context(span)
    traced.text("input.value", question)
    traced.set(**attributes)
    try:
        while True:
            token = context.attach(parent)
            try:
                item = next(stream, _END)
            finally:
                context.detach(token)
            if item is _END:
                return
            if isinstance(item, Answer):
                traced.answer(item)
            yield item
    except Exception as exc:
        _failed(span, exc)
        raise
    finally:
        span.end()


_END = object()


def _failed(span: Any, exc: Exception) -> None:
    """Mark a span failed with the exception that ended it."""
    from opentelemetry.trace import Status, StatusCode

    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, str(exc)))


def traced_pieces(name: str, pieces: Iterable[Any], **attributes: Any) -> Iterator[Any]:
    """An answerer's text pieces under one span (started now, as a child of the current span, never current)."""
    if _state["tracer"] is None:
        return iter(pieces)
    return _traced_pieces(name, pieces, attributes)


def _traced_pieces(name: str, pieces: Iterable[Any], attributes: dict[str, Any]) -> Iterator[Any]:
    span = _state["tracer"].start_span(name, attributes={KIND: attributes.pop("kind", KINDS.get(name, "CHAIN"))})
    traced, written = Span(span), []
    traced.set(**attributes)
    try:
        for piece in pieces:
            written.append(piece)
            yield piece
        traced.text("output.value", "".join(p for p in written if isinstance(p, str)))  # not a Finding
    except Exception as exc:
        _failed(span, exc)
        raise
    finally:
        span.end()


def _trace() -> Any:
    from opentelemetry import trace

    return trace


def _otlp_provider(endpoint: str) -> Any:
    """A tracer provider exporting to `endpoint` over OTLP/HTTP (made once per endpoint)."""
    if _state["endpoint"] == endpoint and _state.get("provider") is not None:
        return _state["provider"]
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "newsrag"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _state.update(endpoint=endpoint, provider=provider)
    return provider


def _value(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)
