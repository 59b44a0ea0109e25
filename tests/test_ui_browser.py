"""The chat in a real browser: Debian chromium (playwright) against `newsrag serve` on a free loopback port.

Every test starts from the sample store (`known_store`): what a test added through the chat is deleted
through the admin API afterwards (the server is open on loopback), and the feedback file is removed.
No test waits for a passing state (a progress message): each waits for the end state it checks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ISIS_K_TITLE
from tests.servers import free_port
from tests.ui_articles import LIGHTHOUSE, LIGHTHOUSE_QUESTION
from tests.ui_harness import (
    MILLEY,
    active_sources,
    answers,
    ask,
    copy_store,
    open_chat,
    open_tab,
    running,
    saved_conversation,
    screenshot,
    settle_scroll,
    stored_ids,
    toast,
)

pytestmark = pytest.mark.slow  # a real server and chromium

UPLOAD_LIMIT = 30_000


@pytest.fixture(scope="module")
def store(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_store(sample_store, tmp_path_factory.mktemp("ui") / "store")


@pytest.fixture(scope="module")
def server(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("ui-log") / "server.log"
    command = ["serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    env = {"NEWSRAG_MAX_ARTICLE_BYTES": str(UPLOAD_LIMIT),
           "NEWSRAG_FETCH_ALLOW_NETWORKS": '["127.0.0.1/32"]'}  # the web-address test serves its page on loopback
    with running(command, f"http://127.0.0.1:{port}/", env, log) as url:
        yield url


@pytest.fixture(scope="module")
def sample_ids(server: str) -> set[str]:
    return stored_ids(server)


@pytest.fixture(autouse=True)
def known_store(server: str, store: Path, sample_ids: set[str]) -> Iterator[None]:
    """Each test starts from the sample articles and no feedback, whatever the test before it did."""
    assert stored_ids(server) == sample_ids, "the store does not hold the sample articles"
    yield
    for article_id in stored_ids(server) - sample_ids:  # added by the test: delete it (and its uploaded file)
        assert httpx.delete(f"{server}v1/articles/{article_id}", timeout=120).status_code == 200
    (store / "feedback.jsonl").unlink(missing_ok=True)


def test_milley_answer_cites_and_opens_the_highlighted_passage(browser: Any, server: str, tmp_path: Path) -> None:
    external: list[str] = []
    page = open_chat(browser, server, external=external)
    ask(page, "How many bombs did the US drop on Afghanistan in 2019?")
    answer = ask(page, MILLEY)
    assert "it’s possible" in answer.inner_text()
    badge = answer.locator("a.nr-cite").first
    assert badge.inner_text().strip() == "1"
    badge.click()
    card = page.locator("#nr-sources-panel .nr-card.nr-flash")
    card.wait_for()
    assert ISIS_K_TITLE in card.locator(".nr-title").inner_text()
    assert "it’s possible" in card.locator("mark").first.inner_text()
    assert card.locator("a.nr-title").get_attribute("href").startswith("https://news.antiwar.com/")
    assert "antiwar.com" in card.locator(".nr-byline").inner_text()
    assert card.is_visible() and card.bounding_box()["y"] < 860
    others = active_sources(page).locator("details.nr-more")
    assert others.count() == 1 and others.get_attribute("open") is None  # uncited passages start collapsed
    screenshot(page, "chat", tmp_path)
    answer.locator("a.nr-copy").click()  # the answer as text, with its sources
    answer.locator("a.nr-copy", has_text="Copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("Chairman of the Joint Chiefs") and "ISIS-K. [1]" in copied and "<" not in copied
    assert f"Sources:\n[1] {ISIS_K_TITLE} (antiwar.com, 1 Sep 2021) https://news.antiwar.com/" in copied
    assert external == [], f"the page contacted other hosts: {external}"
    page.wait_for_function(  # screen readers hear each message as text, not as its HTML
        """() => { const labels = [...document.querySelectorAll('#nr-chatbot [aria-label*="message: "]')]
                     .map(e => e.getAttribute('aria-label'));
                   return labels.length >= 2 && labels.every(l => !/[<>]/.test(l)); }"""
    )
    labels = page.eval_on_selector_all("#nr-chatbot [aria-label*='message: ']", "els => els.map(e => e.getAttribute('aria-label'))")
    assert any(label.endswith(f"message: {MILLEY}") for label in labels), labels
    assert any("it’s possible" in label and "class=" not in label for label in labels), labels
    page.context.close()


# its answer quotes two sentences of the seed article's first passage
TWO_FROM_ONE = "Which newspaper revealed that the US flew drones as air support for the Taliban?"


def test_a_passage_two_sentences_cite_is_listed_once_when_copied(page: Any) -> None:
    answer = ask(page, TWO_FROM_ONE)
    assert answer.locator("a.nr-cite").count() >= 2  # two or three sentences, one passage
    assert active_sources(page).locator(".nr-card.nr-cited .nr-badge").all_inner_texts() == ["1"]
    answer.locator("a.nr-copy").click()
    answer.locator("a.nr-copy", has_text="Copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "\nSources:\n[1] " in copied and "[1][1]" not in copied, copied


def test_refusal_looks_different_from_an_answer(page: Any, tmp_path: Path) -> None:
    answer = ask(page, "Who won the 2022 World Cup?")
    assert "nr-refusal" in (answer.get_attribute("class") or "")
    assert "Not in the articles" in answer.inner_text()
    assert answer.locator("a.nr-cite").count() == 0
    assert active_sources(page).locator("details.nr-more[open] .nr-card").count() >= 1  # the closest passages
    screenshot(page, "refusal", tmp_path)


def test_conversation_survives_a_reload_and_new_chat_clears_it(page: Any) -> None:
    ask(page, MILLEY)
    saved_conversation(page)
    page.reload(wait_until="load")
    restored = page.locator("#nr-chatbot .nr-answer")
    restored.first.wait_for()
    assert "it’s possible" in restored.first.inner_text()
    restored.first.locator("a.nr-cite").first.click()
    assert "it’s possible" in page.locator("#nr-sources-panel .nr-card.nr-flash mark").first.inner_text()
    page.click("#nr-new-chat")
    page.wait_for_function("() => !document.querySelector('#nr-chatbot .nr-answer')")
    saved_conversation(page)
    page.reload(wait_until="load")
    page.wait_for_selector("#nr-sources-panel .nr-placeholder")
    assert answers(page).count() == 0


def test_example_questions_are_asked_and_answered(page: Any) -> None:
    examples = page.locator("#nr-chatbot button.example")
    examples.first.wait_for()
    texts = examples.all_inner_texts()
    assert len(texts) == 4 and any("What did Milley say about ISIS-K?" in t for t in texts), texts
    assert not any("What happened:" in t for t in texts)
    examples.first.click()
    page.wait_for_selector("#nr-chatbot .nr-answer:not(.nr-streaming)")
    assert answers(page).count() == 1 and "nr-refusal" not in (answers(page).first.get_attribute("class") or "")


def test_filters_restrict_the_answer(page: Any) -> None:
    page.click("#nr-filters button, #nr-filters .label-wrap")
    sites = page.locator("#nr-sites label")
    sites.first.wait_for()
    assert sites.count() == 7 and "antiwar.com" in sites.all_inner_texts()
    assert not page.locator("#nr-answerer").is_visible()  # no LLM configured: nothing to choose
    since = page.locator("#nr-since input, #nr-since textarea").first
    since.fill("09/02/2021")  # 2 Sep or 9 Feb? refused, and said so next to the filters
    since.press("Enter")
    page.wait_for_selector("#nr-filter-summary .nr-error:has-text('could be 2 Sep 2021 or 9 Feb 2021')")
    since.fill("2021-9-2")  # a form the date picker used to drop silently: now read, and shown as understood
    since.press("Enter")
    page.wait_for_selector("#nr-filter-summary:has-text('Searching 2 Sep 2021 – today only.')")
    ask(page, MILLEY)
    titles = active_sources(page).locator(".nr-title").all_inner_texts()
    assert titles and ISIS_K_TITLE not in titles  # the article is dated 2021-09-01


def test_thumbs_up_writes_a_feedback_line(page: Any, store: Path) -> None:
    feedback = store / "feedback.jsonl"
    before = 0  # known_store: no feedback yet
    ask(page, MILLEY)
    saved = saved_conversation(page)
    page.locator("#nr-chatbot button[aria-label='Like']").last.click()
    deadline = time.monotonic() + 30
    while (feedback.read_text().count("\n") if feedback.exists() else 0) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    record = json.loads(feedback.read_text().splitlines()[-1])
    assert record["rating"] == "up" and record["question"] == MILLEY
    assert "it’s possible" in record["answer"] and "[1]" in record["answer"]
    cited = [s for s in record["sources"] if s["cited"]]
    assert cited and cited[0]["title"] == ISIS_K_TITLE and "it’s possible" in record["evidence"][0]
    page.wait_for_function("before => JSON.stringify(localStorage) !== before", arg=saved)  # the rating is saved
    page.reload(wait_until="load")  # the thumb stays up on the saved answer
    page.locator("#nr-chatbot button[aria-label='Liked']").wait_for()


def test_upload_ask_then_delete_changes_the_answer(page: Any, tmp_path: Path) -> None:
    article = tmp_path / "zorbland-lighthouse.txt"
    article.write_text(LIGHTHOUSE, encoding="utf-8")
    open_tab(page, "Library")
    page.set_input_files("#nr-upload input[type=file]", str(article))
    page.wait_for_selector("#nr-upload :text('zorbland-lighthouse.txt')", timeout=120_000)  # the upload itself: slow under load
    page.click("#nr-add")
    page.wait_for_selector("#nr-add-result .nr-report-ok:has-text('Added 1 article')", timeout=120_000)
    assert page.locator("#nr-lib-table [role=row]", has_text="Zorbland Lighthouse Reopens").count() == 1
    page.wait_for_selector("#nr-stats:has-text('9 articles from 8 sources')")  # the header follows the library
    screenshot(page, "library", tmp_path)

    open_tab(page, "Chat")
    external: list[str] = []
    page.on("request", lambda request: "evil.example" in request.url and external.append(request.url))
    answer = ask(page, LIGHTHOUSE_QUESTION)
    assert "312" in answer.inner_text()
    # markup and template syntax in an article are shown as written: no link, no image, nothing evaluated
    assert "{{7*7}} ${HOME} [map](javascript:alert(1))" in answer.inner_text()
    assert answer.locator("a[href^='javascript'], img").count() == 0
    focused = []
    for badge in answer.locator("a.nr-cite").all():  # each badge marks the sentence it stands for
        badge.click()
        focused.append(page.locator("#nr-sources-panel .nr-card.nr-flash mark.nr-focus").inner_text())
    assert any("312 steps" in sentence for sentence in focused)
    assert all(sentence in answer.inner_text() for sentence in focused)
    passage = page.locator("#nr-sources-panel .nr-card.nr-flash .nr-passage").inner_text()
    assert "<script>window.__pwned=1</script>" in passage  # article text is shown as text, never run
    assert page.evaluate("() => window.__pwned") is None
    lamp = active_sources(page).locator(".nr-card", has_text="Zorbland").first
    assert "![lamp](http://evil.example/lamp.png)" in lamp.inner_text() and lamp.locator("img").count() == 0
    assert external == [], f"article markup made the page fetch {external}"

    open_tab(page, "Library")
    page.fill("#nr-lib-search textarea", "zorbland")
    page.wait_for_selector("#nr-lib-count:has-text('1 of 9')")
    page.locator("#nr-lib-table [role=row]", has_text="Zorbland Lighthouse Reopens").locator("[role=gridcell]").first.click()
    page.click("#nr-delete")
    page.click("#nr-delete-confirm")
    page.wait_for_selector("#nr-lib-count:has-text('0 of 8')")
    page.wait_for_selector("#nr-stats:has-text('8 articles from 7 sources')")

    open_tab(page, "Chat")
    after = ask(page, LIGHTHOUSE_QUESTION)
    assert "312" not in after.inner_text()
    assert not any("Zorbland" in t for t in active_sources(page).locator(".nr-title").all_inner_texts())


def test_uploads_of_the_wrong_type_or_size_are_refused_with_a_reason(page: Any, tmp_path: Path) -> None:
    big = tmp_path / "long-read.txt"
    big.write_text("Title: Long read\n\n" + "A sentence about nothing in particular. " * 1000, encoding="utf-8")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(2000))
    open_tab(page, "Library")
    page.set_input_files("#nr-upload input[type=file]", str(big))
    too_big = toast(page, "long-read.txt")  # the server's max_file_size: refused before it is sent
    assert "exceed the maximum allowed size of 29.3 Kb" in too_big
    assert page.locator("#nr-upload :text('long-read.txt')").count() == 0
    # the count may still show Gradio's progress timer ("0.5s") from opening the tab: wait for a count, then read it
    page.wait_for_function("() => /^\\d+ articles?$/.test(document.querySelector('#nr-lib-count').innerText.trim())")
    assert page.locator("#nr-lib-count").inner_text().strip() == "8 articles"

    page.set_input_files("#nr-upload input[type=file]", str(photo))
    refused = toast(page, "photo.jpg")
    assert "Invalid file type" in refused and ".md" in refused and ".txt" in refused


def test_narrow_mobile_window(browser: Any, server: str, tmp_path: Path) -> None:
    page = open_chat(browser, server, width=390, height=844)
    answer = ask(page, MILLEY)
    answer.locator("a.nr-cite").first.click()
    card = page.locator("#nr-sources-panel .nr-card.nr-flash")
    card.wait_for()
    page.wait_for_function(
        "() => { const r = document.querySelector('#nr-sources-panel .nr-flash').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }"
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 392  # nothing wider than the phone
    settle_scroll(page)
    page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
    screenshot(page, "mobile", tmp_path)
    page.context.close()


def test_add_a_web_address_then_ask_about_it(page: Any, web_page: str) -> None:
    open_tab(page, "Library")
    page.fill("#nr-urls textarea", web_page + "\nnot-a-web-address")
    page.click("#nr-add")
    page.wait_for_selector("#nr-add-result .nr-report-ok:has-text('Added 1 article')", timeout=120_000)
    assert "not-a-web-address" in page.locator("#nr-add-result .nr-report-bad").inner_text()
    open_tab(page, "Chat")
    answer = ask(page, "How many glass panels does the Vell Gorge bridge have?")
    assert "96 glass panels" in answer.inner_text()
    answer.locator("a.nr-cite").first.click()
    card = page.locator("#nr-sources-panel .nr-card.nr-flash")
    assert card.locator("a.nr-title").get_attribute("href") == web_page
    open_tab(page, "Library")  # deleting it in the library (known_store would otherwise)
    page.fill("#nr-lib-search textarea", "vell")
    page.locator("#nr-lib-table [role=row]", has_text="Glass Bridge").locator("[role=gridcell]").first.click()
    page.click("#nr-delete")
    page.click("#nr-delete-confirm")
    page.wait_for_selector("#nr-lib-count:has-text('0 of 8')")
