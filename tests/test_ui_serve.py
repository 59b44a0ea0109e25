"""`newsrag serve` in a real browser: the chat at / and the HTTP API at /v1 on one port; the LLM answerer choice."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ISIS_K_TITLE
from tests.llm_server import ScriptedLLM
from tests.servers import free_port
from tests.ui_harness import MILLEY, ask, copy_store, running

pytestmark = pytest.mark.slow  # a real server and chromium

SCRIPTED = ("Gen. Mark Milley said Wednesday that “it’s possible” the US could coordinate with the Taliban "
            "on the Afghanistan ISIS affiliate [1].")


class GatedLLM(ScriptedLLM):
    """The scripted server, but a streamed reply stops after `GATE` until the test opens the gate."""

    GATE = "Kabul"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.gate = threading.Event()

    def pieces(self, text: str) -> Iterator[str]:  # type: ignore[override]
        head, sep, tail = text.partition(self.GATE)
        yield from super().pieces(head)
        if sep:
            self.gate.wait(timeout=120)
            yield from super().pieces(sep + tail)


@pytest.fixture(scope="module")
def gated() -> Iterator[GatedLLM]:
    with GatedLLM() as server:
        yield server


@pytest.fixture
def llm(gated: GatedLLM) -> Iterator[GatedLLM]:
    gated.reset()
    gated.gate.set()
    yield gated
    gated.gate.set()


@pytest.fixture(scope="module")
def server(sample_store: Path, gated: GatedLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = copy_store(sample_store, tmp_path_factory.mktemp("serve") / "store")
    port = free_port()
    env = {"NEWSRAG_LLM_PROVIDER": "openai-like", "NEWSRAG_LLM_BASE_URL": gated.base_url,
           "NEWSRAG_LLM_MODEL": "scripted"}
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    command = ["serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/v1/health", env, log):
        yield f"http://127.0.0.1:{port}/"


def test_chat_and_api_share_one_port(page: Any, server: str) -> None:
    answer = ask(page, MILLEY)
    answer.locator("a.nr-cite").first.click()
    card = page.locator("#nr-sources-panel .nr-card.nr-flash")
    assert ISIS_K_TITLE in card.locator(".nr-title").inner_text()
    assert "it’s possible" in card.locator("mark.nr-focus").inner_text()
    request = urllib.request.Request(
        server + "v1/ask", data=json.dumps({"question": MILLEY}).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert body["sources"][0]["title"] == ISIS_K_TITLE and "[1]" in body["answer"]


def test_the_reader_can_choose_the_llm_answerer(page: Any, llm: Any) -> None:
    llm.script(SCRIPTED)
    page.click("#nr-filters button, #nr-filters .label-wrap")
    choice = page.locator("#nr-answerer label", has_text="language model")
    choice.click()
    answer = ask(page, MILLEY)
    assert "it’s possible" in answer.inner_text() and "llm" in answer.locator(".nr-meta").inner_text()
    assert answer.locator("a.nr-cite").count() == 1
    assert llm.prompts and "ISIS-K" in llm.prompts[-1]  # the passages went to the LLM


def test_a_follow_up_is_understood_from_the_conversation(page: Any) -> None:
    ask(page, MILLEY)
    follow_up = ask(page, "What about the drone strike?")
    meta = follow_up.locator(".nr-meta").inner_text()
    assert "searched for “" in meta and "drone strike" in meta and meta != "searched for “What about the drone strike?”"


def test_llm_answers_stream_into_the_chat(page: Any, llm: GatedLLM) -> None:
    llm.gate.clear()
    llm.script(SCRIPTED + " ISIS-K took responsibility for the suicide bombing at the Kabul airport [1].")
    page.click("#nr-filters button, #nr-filters .label-wrap")
    page.locator("#nr-answerer label", has_text="language model").click()
    page.fill("#nr-question textarea", MILLEY)
    page.press("#nr-question textarea", "Enter")
    partial = page.locator("#nr-chatbot .nr-answer.nr-streaming")
    partial.filter(has_text="it’s possible").wait_for()  # the first sentence, checked, before the reply ends
    assert "Kabul" not in partial.inner_text() and partial.locator("span.nr-cite").count() == 1
    llm.gate.set()
    final = page.locator("#nr-chatbot .nr-answer:not(.nr-streaming)")
    final.wait_for()
    assert "it’s possible" in final.inner_text() and final.locator("a.nr-cite").count() >= 1


def test_a_sentence_no_passage_supports_is_marked(page: Any, llm: Any) -> None:
    llm.script(SCRIPTED + " Milley also said the moon is made of green cheese [2].")
    page.click("#nr-filters button, #nr-filters .label-wrap")
    page.locator("#nr-answerer label", has_text="language model").click()
    answer = ask(page, MILLEY)
    flagged = answer.locator(".nr-text .nr-unsupported")
    assert flagged.count() == 1 and "green cheese" in flagged.inner_text()
    assert "it’s possible" not in flagged.inner_text() and answer.locator("a.nr-cite").count() == 1
    assert "1 sentence not supported by any passage" in answer.locator(".nr-meta").inner_text()
