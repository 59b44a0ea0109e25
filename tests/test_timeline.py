"""Timelines of a multi-day story from the RealTimeQA weeks: the DC midair collision of 29 January 2025,
reported over three weeks, in a tiny store of its articles (plus one unrelated story)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.servers import free_port
from tests.ui_harness import ask, open_chat, open_tab, running, screenshot

WEEKS = SHARED / "realtimeqa" / "2025-q1"
STORY = ("2025/01/29/aircra", "graphics/2025/01/30/washingto", "nation/2025/01/30/dc-pla", "2025/01/30/black-",
         "disaster/2025/01/30/wich", "2025/01/31/helico", "2025/02/18/dc-pla")
OTHER = ("money/2025/02/04/waffle-house",)  # the egg surcharge: not part of the story


def _articles() -> list[dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for week in sorted(WEEKS.glob("*_gcs.jsonl")):
        for line in week.read_text(encoding="utf-8").splitlines():
            results = json.loads(line)["search_result"]
            for a in ast.literal_eval(results) if isinstance(results, str) else results:
                if any(key in a.get("url", "") for key in STORY + OTHER) and a.get("text"):
                    found[a["url"]] = {k: a[k] for k in ("url", "title", "text", "publish_date")}
    return list(found.values())


@pytest.fixture(scope="module")
def plane_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WEEKS.is_dir():
        pytest.skip(f"RealTimeQA weeks not found at {WEEKS} (shared data)")
    import index

    folder = tmp_path_factory.mktemp("plane")
    records, articles = folder / "articles.jsonl", _articles()
    records.write_text("\n".join(json.dumps(a) for a in articles), encoding="utf-8")
    store = folder / "store"
    report = index.ingest([str(records)], store=str(store))
    assert report.added == len(articles) == 9  # eight of the story, 29 January to 18 February, and one other
    return store


@pytest.fixture(scope="module")
def plane(plane_store: Path):  # type: ignore[no-untyped-def]
    import rag

    return rag.open(store=str(plane_store), time_zone="UTC")


def test_timeline_of_a_multi_day_story(plane) -> None:  # type: ignore[no-untyped-def]
    timeline = plane.timeline("DC plane crash")
    days = [day for day, _ in timeline.days()]
    assert days == sorted(days) and len(days) >= 3 and days[0] == "2025-01-29"  # by day, oldest first
    assert all("waffle" not in s.title.lower() for s in timeline.sources)  # only the story's articles
    cited = set()
    for event in timeline.events:
        first = timeline.sources[event.citations[0].source_index]
        assert first.text[event.citations[0].start - first.start : event.citations[0].end - first.start] == event.text
        assert event.day == min(timeline.sources[c.source_index].date for c in event.citations)
        for c in event.citations:  # every outlet's own sentence is highlighted
            source = timeline.sources[c.source_index]
            assert (c.start, c.end) in source.highlights and c.marker == c.source_index + 1
            cited.add(c.source_index)
    assert cited == set(range(len(timeline.sources)))
    assert any(len(e.citations) > 1 for e in timeline.events)  # one fact in two articles: one event, both cited
    assert len({e.text for e in timeline.events}) == len(timeline.events)


def test_timeline_as_of_and_the_question_form(plane) -> None:  # type: ignore[no-untyped-def]
    early = plane.timeline("DC plane crash", as_of="2025-01-30")
    assert early.events and all(e.day <= "2025-01-30" for e in early.events)
    assert all(s.date <= "2025-01-30" for s in early.sources)
    answer = plane.ask("How did the DC plane crash unfold?", as_of="2025-01-31")
    assert not answer.refused and answer.answerer == "timeline" and answer.verified
    assert answer.text.startswith("How “the DC plane crash” unfolded, in articles up to 31 January 2025:")
    headings = [line for line in answer.text.splitlines()[1:] if line and not line.startswith("- ")]
    assert headings == ["29 January 2025", "30 January 2025", "31 January 2025"]
    for citation in answer.citations:
        source = answer.sources[citation.source_index]
        assert f"[{citation.marker}]" in answer.text and source.date <= "2025-01-31"
    none = plane.timeline("Super Bowl halftime show")
    assert none.events == [] and none.sources == []


@pytest.fixture(scope="module")
def plane_ui(plane_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("plane-ui") / "server.log"
    command = ["ui", "--store", str(plane_store), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/", {"NEWSRAG_TIME_ZONE": "UTC"}, log) as url:
        yield url


def test_timeline_tab_in_the_browser(browser: Any, plane_ui: str, tmp_path: Path) -> None:
    page = open_chat(browser, plane_ui, width=1280, height=900)
    open_tab(page, "Timeline")
    page.locator("#nr-tl-topic textarea, #nr-tl-topic input").first.fill("DC plane crash")
    page.locator("#nr-tl-as-of input").first.fill("2025-02-20")
    page.locator("#nr-tl-go").click()
    page.locator("#nr-timeline-out .nr-tl-day").first.wait_for()
    dates = page.locator("#nr-timeline-out .nr-tl-date").all_inner_texts()
    assert dates[0] == "29 January 2025" and "18 February 2025" in dates
    badge = page.locator("#nr-timeline-out a.nr-tl-cite").first
    assert badge.inner_text().strip() == "1"
    head = page.locator("#nr-timeline-out .nr-tl-head").inner_text()
    assert "up to 20 February 2025" in head
    screenshot(page, "timeline", tmp_path)


def test_chat_as_of_filter_answers_with_what_was_known_then(browser: Any, plane_ui: str) -> None:
    page = open_chat(browser, plane_ui)
    page.click("#nr-filters button, #nr-filters .label-wrap")
    page.fill("#nr-as-of input", "2025-01-30")
    page.press("#nr-as-of input", "Enter")
    page.wait_for_selector("#nr-filter-summary:has-text('as of 30 Jan 2025')")
    answer = ask(page, "Who was killed in the helicopter crash?")
    assert answer.locator(".nr-text").inner_text().startswith("As of 30 January 2025")
    bylines = page.locator("#nr-sources-panel .nr-turn.nr-active .nr-byline").all_inner_texts()
    assert bylines and all("31 Jan 2025" not in b and "18 Feb 2025" not in b for b in bylines)
