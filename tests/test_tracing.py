"""OpenTelemetry traces of a question and of an ingest, read with the SDK's in-memory exporter (and once over
real OTLP/HTTP): one span per stage, OpenInference names and kinds, nothing when tracing is off."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ISIS_K_TITLE, ROOT, SAMPLES, llm_assistant
from tests.servers import SiteHandler, http_site, uvicorn_server

pytest.importorskip("opentelemetry.sdk", reason="pip install -e '.[otel]'")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from rag import tracing  # noqa: E402

MILLEY = "What did Milley say about ISIS-K?"
KIND = "openinference.span.kind"


def _recording(content: bool = True) -> InMemorySpanExporter:
    """Turn newsrag's spans on, into an in-memory exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider, content=content)
    return exporter


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield _recording()
    tracing.disable()


def _by_name(exporter: InMemorySpanExporter) -> dict[str, list]:
    found: dict[str, list] = {}
    for span in exporter.get_finished_spans():
        found.setdefault(span.name, []).append(span)
    return found


def _parent(span, of) -> bool:  # type: ignore[no-untyped-def]
    return span.parent is not None and span.parent.span_id == of.context.span_id


def test_a_question_is_one_trace_with_a_span_per_stage(assistant, spans) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(MILLEY)
    named = _by_name(spans)
    assert {"ask", "retrieve", "embed", "bm25", "dense", "fuse", "answer", "verify"} <= set(named)
    ask, retrieve = named["ask"][0], named["retrieve"][0]
    assert len({s.context.trace_id for s in spans.get_finished_spans()}) == 1 and ask.parent is None
    assert all(_parent(named[n][0], retrieve) for n in ("embed", "bm25", "dense", "fuse"))
    assert all(_parent(named[n][0], ask) for n in ("retrieve", "answer", "verify"))
    kinds = {n: named[n][0].attributes[KIND] for n in named}
    assert kinds["ask"] == "CHAIN" and kinds["retrieve"] == kinds["dense"] == kinds["bm25"] == "RETRIEVER"
    assert kinds["embed"] == "EMBEDDING" and kinds["verify"] == "GUARDRAIL"
    docs = retrieve.attributes
    assert docs["retrieval.documents.0.document.id"] == answer.sources[0].chunk_id
    assert docs["retrieval.documents.0.document.score"] == answer.sources[0].score
    assert "it’s possible" in docs["retrieval.documents.0.document.content"]
    assert ISIS_K_TITLE in docs["retrieval.documents.0.document.metadata"]
    assert ask.attributes["input.value"] == MILLEY and ask.attributes["output.value"] == answer.text
    assert ask.attributes["newsrag.citations"] == len(answer.citations) >= 1
    assert named["verify"][0].attributes["newsrag.verified"] is True


def test_a_streamed_http_answer_is_still_one_trace(assistant, spans, caplog) -> None:  # type: ignore[no-untyped-def]
    from ui.http.app import create_app

    with uvicorn_server(create_app(assistant)) as url:  # the stream is consumed on the server's threads
        response = httpx.post(f"{url}/v1/ask", json={"question": MILLEY, "stream": True}, timeout=60)
    assert response.status_code == 200 and "event: answer" in response.text
    named = _by_name(spans)
    assert len(named["ask"]) == 1 and len({s.context.trace_id for s in spans.get_finished_spans()}) == 1
    assert _parent(named["answer"][0], named["ask"][0])
    assert "Failed to detach context" not in caplog.text


def test_the_llm_answer_is_an_llm_span_and_a_failure_marks_the_trace(assistant, llm, spans) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry.trace import StatusCode

    from rag.errors import BackendError

    llm.script("upstream exploded", status=500)
    with pytest.raises(BackendError):
        llm_assistant(assistant, llm).ask(MILLEY)
    named = _by_name(spans)
    answer = named["answer"][0]
    assert answer.attributes[KIND] == "LLM" and answer.attributes["llm.model_name"] == "scripted"
    assert answer.status.status_code == StatusCode.ERROR and named["ask"][0].status.status_code == StatusCode.ERROR


def test_content_can_be_kept_off_the_spans(assistant, spans) -> None:  # type: ignore[no-untyped-def]
    spans = _recording(content=False)
    assistant.ask(MILLEY)
    attributes = [dict(s.attributes) for s in spans.get_finished_spans()]
    assert not any(k in a for a in attributes for k in ("input.value", "output.value"))
    assert not any(k.endswith("document.content") for a in attributes for k in a)
    assert any("retrieval.documents.0.document.id" in a for a in attributes)


def test_ingest_batches_are_spans_under_the_ingest(assistant, spans, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import index

    files = sorted(SAMPLES.glob("*.txt"))[:2]
    settings = assistant.settings.with_overrides(store=tmp_path / "s")
    assert index.ingest(files, settings=settings, embedder=assistant.embedder).added == 2
    named = _by_name(spans)
    ingest = named["ingest"][0]
    assert named["embed_batch"] and named["write_batch"]
    assert all(_parent(s, ingest) for s in named["embed_batch"] + named["write_batch"])
    assert sum(s.attributes["newsrag.chunks"] for s in named["embed_batch"]) > 2


def test_tracing_is_off_by_default(sample_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With the default settings, even a process whose tracer provider records everything gets no newsrag span."""
    from tests.ui_harness import copy_store

    store = copy_store(sample_store, tmp_path / "store")  # this process holds the session's store
    code = ("import sys\nfrom opentelemetry import trace\nfrom opentelemetry.sdk.trace import TracerProvider\n"
            "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
            "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
            "exporter = InMemorySpanExporter(); provider = TracerProvider()\n"
            "provider.add_span_processor(SimpleSpanProcessor(exporter)); trace.set_tracer_provider(provider)\n"
            f"import rag\nrag.open(store={str(store)!r}).ask({MILLEY!r})\n"
            "print(sorted({s.instrumentation_scope.name for s in exporter.get_finished_spans()}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "newsrag" not in done.stdout.strip().splitlines()[-1]


def test_an_otlp_endpoint_receives_the_spans_over_http(assistant) -> None:  # type: ignore[no-untyped-def]
    received: list[tuple[str, str, bytes]] = []
    lock = threading.Lock()

    class Collector(SiteHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                received.append((self.path, self.headers["Content-Type"], body))
            self.send_body(200, "application/x-protobuf", b"")

    with http_site(Collector) as url:
        tracing.configure(assistant.settings.with_overrides(otlp_endpoint=f"{url}/v1/traces"))
        try:
            assistant.ask(MILLEY)
            tracing.flush()
        finally:
            tracing.disable()
    assert received and received[0][0] == "/v1/traces" and received[0][1] == "application/x-protobuf"
    payload = b"".join(body for _, _, body in received)
    assert b"retrieve" in payload and b"openinference.span.kind" in payload and b"newsrag" in payload


def test_tracing_without_the_otel_extra_is_one_line_naming_it(assistant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rag.errors import BackendError

    monkeypatch.setitem(sys.modules, "opentelemetry.sdk", None)
    with pytest.raises(BackendError) as caught:
        tracing.configure(assistant.settings.with_overrides(tracing=True))
    assert str(caught.value) == ("tracing (NEWSRAG_TRACING / NEWSRAG_OTLP_ENDPOINT) needs the otel extra: "
                                 "pip install 'newsrag[otel]'")
    assert not tracing.enabled()
