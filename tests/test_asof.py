"""Answers as of a moment: later articles are never retrieved or cited, a later story supersedes an
earlier one, relative dates are read against as_of, on every path (Python, CLI, HTTP)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from rag.errors import QueryError
from rag.records import Source
from tests.conftest import ROOT, run_cli
from tests.servers import uvicorn_server

SAMPLES = ROOT / "samples" / "articles"
RATE_AGAIN = """Title: Bank of Eastland Raises Rates Again as Inflation Climbs
Date: 2021-11-03
URL: https://eastland-economic-review.example/2021/11/03/rates-again/
Source: eastland-economic-review.example

The Bank of Eastland raised its benchmark interest rate by another quarter of a percentage point to 1% on Wednesday, its second increase in two months.
Governor Helena Marsh said inflation had reached 5.1% in October and that the bank would keep raising rates until prices steadied.
First Harbour Bank said its standard variable mortgage rate would rise by the same quarter point from December 1.
"""
UNDATED = """Title: Eastland Harbour Lantern Festival Draws Record Crowd

The Eastland harbour lantern festival drew a record crowd of 41,000 visitors, organisers said.
Volunteers launched 3,200 paper lanterns from the harbour wall after sunset.
"""
FUTURE = """Title: Bank of Eastland Rate Outlook
Date: 2099-01-06
Source: eastland-economic-review.example

The Bank of Eastland benchmark interest rate stands at 9% after the bank raised it again on Wednesday.
"""
RATE_NOW = "What is the Bank of Eastland's benchmark interest rate now?"
QUESTIONS = [RATE_NOW, "What did the Bank of Eastland decide last month?", "How many passengers did the solar ferry carry?",
             "What did Milley say about ISIS-K?", "What happened last week?", "How many visitors did the lantern festival draw?"]


@pytest.fixture(scope="module")
def dated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five sample articles (June to October 2021), a follow-up rate story (3 November 2021), an undated one
    and one dated in 2099."""
    import index

    corpus = tmp_path_factory.mktemp("dated-corpus")
    for name in ("bank-of-eastland-raises-interest-rates.txt", "solar-ferry-begins-service-on-lake-arden.md",
                 "us-could-coordinate-with-the-taliban-on-isis-k.txt", "harbor-city-fc-wins-cup-final.txt",
                 "riverton-council-approves-protected-bike-lanes.md"):
        shutil.copy(SAMPLES / name, corpus / name)
    (corpus / "rates-again.txt").write_text(RATE_AGAIN, encoding="utf-8")
    (corpus / "lantern-festival.txt").write_text(UNDATED, encoding="utf-8")
    (corpus / "rate-outlook.txt").write_text(FUTURE, encoding="utf-8")  # dated in the future: never known yet
    store = tmp_path_factory.mktemp("dated-store")
    index.ingest([str(corpus)], store=str(store))
    return store


@pytest.fixture(scope="module")
def dated(dated_store: Path):  # type: ignore[no-untyped-def]
    import rag

    return rag.open(store=str(dated_store), time_zone="UTC")


def _cited(answer) -> list[Source]:  # type: ignore[no-untyped-def]
    return answer.cited_sources


def test_same_question_two_as_of_dates_two_cited_answers(dated) -> None:  # type: ignore[no-untyped-def]
    before = dated.ask(RATE_NOW, as_of="2021-10-01")
    after = dated.ask(RATE_NOW, as_of="2021-12-01")
    assert not before.refused and not after.refused
    assert [s.date for s in _cited(before)] == ["2021-09-22"] and "0.75%" in before.text
    assert [s.date for s in _cited(after)] == ["2021-11-03"] and "to 1% on Wednesday" in after.text
    # says what it is as of and the date of the report it answers from
    assert before.text.startswith("As of 1 October 2021, the latest report (22 September 2021): ")
    assert after.text.startswith("As of 1 December 2021, the latest report (3 November 2021): ")
    assert before.recency and before.as_of.startswith("2021-10-01T23:59:59")


def test_an_event_asked_about_lately_is_answered_from_every_passage(dated) -> None:  # type: ignore[no-untyped-def]
    # "recently" asks about an event, not the current state: the answerer reads all the passages ranked for it
    # (newer ones ranked higher), not only the newest article's, which may be about something else
    lately = dated.ask("What did the Bank of Eastland recently decide about its benchmark rate?", as_of="2021-12-01")
    now = dated.ask(RATE_NOW, as_of="2021-12-01")
    assert lately.recency and not lately.refused
    assert len({s.article_id for s in lately.sources}) > 1
    assert len({s.article_id for s in now.sources}) == 1 and "the latest report" in now.text
    assert "the latest report" not in lately.text


def _dates_ok(sources: list[Source], day: str) -> bool:
    return all(s.date is not None and s.date <= day for s in sources)


@pytest.mark.parametrize("day", ["2021-07-01", "2021-08-20", "2021-09-22", "2021-10-15"])
def test_no_article_dated_after_as_of_is_retrieved_or_cited(dated, day: str) -> None:  # type: ignore[no-untyped-def]
    for question in QUESTIONS:
        when = dated.when(question, day)
        for mode in ("hybrid", "dense", "bm25"):
            ranked = dated.retriever.retrieve(when.search, None, 20, mode=mode, when=when)
            assert _dates_ok(ranked, day), (question, mode, [s.date for s in ranked])
        answer = dated.ask(question, as_of=day)
        assert _dates_ok(answer.sources, day) and _dates_ok(_cited(answer), day), (question, answer.text)
        followed = dated.chat("And what about the rate?", [{"role": "user", "content": question},
                                                            {"role": "assistant", "content": answer.text}], as_of=day)
        assert _dates_ok(followed.sources, day)
        assert _dates_ok(dated.ask(question, filters={"until": "2021-12-31"}, as_of=day).sources, day)
    timeline = dated.timeline("Bank of Eastland interest rate", as_of=day)
    assert _dates_ok(timeline.sources, day) and all(e.day is not None and e.day <= day for e in timeline.events)


def test_as_of_now_never_uses_an_article_dated_in_the_future(dated) -> None:  # type: ignore[no-untyped-def]
    unfiltered = dated.retriever.retrieve(RATE_NOW, None, 20)
    assert "2099-01-06" in [s.date for s in unfiltered]  # it matches the question best
    now = dated.ask(RATE_NOW)
    assert not now.refused and "9%" not in now.text and [s.date for s in _cited(now)] == ["2021-11-03"]
    assert all(s.date != "2099-01-06" for s in now.sources)
    assert all(s.date != "2099-01-06" for s in dated.timeline("Bank of Eastland interest rate").sources)


def test_undated_articles_are_used_as_of_now_only(dated) -> None:  # type: ignore[no-untyped-def]
    question = "How many visitors did the lantern festival draw?"
    now = dated.ask(question)
    assert not now.refused and "41,000" in now.text and _cited(now)[0].date is None
    past = dated.ask(question, as_of="2021-10-01")  # nothing shows the article was known by then
    assert all(s.date is not None for s in past.sources)


def test_hard_window_filters_soft_window_prefers_and_says_so(dated) -> None:  # type: ignore[no-untyped-def]
    since = dated.ask("What did the Bank of Eastland do to interest rates since 1 October?", as_of="2021-12-01")
    assert since.time_window.hard and [s.date for s in since.sources] == ["2021-11-03"] * len(since.sources)
    assert since.text.startswith("In articles from 1 October to 1 December 2021: ") and "1%" in since.text
    last_month = dated.ask("What did the Bank of Eastland decide about rates last month?", as_of="2021-10-12")
    assert not last_month.time_window.hard and last_month.time_window.describe() == "1 to 30 September 2021"
    assert last_month.text.startswith("In articles from 1 to 30 September 2021: ")
    assert _cited(last_month)[0].date == "2021-09-22"
    assert last_month.to_dict()["time_window"]["text"] == "1 to 30 September 2021"


def test_window_outside_the_filters_is_one_clear_error(dated) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="change the filters or the as-of date"):
        dated.ask("What happened since 1 November?", filters={"until": "2021-10-01"}, as_of="2021-12-01")


def test_recency_never_prefers_undated_and_windows_never_contain_them() -> None:
    from rag.retrieval.asof import newest_answering, prefer_window
    from rag.timewindow import resolve_window

    def source(article: str, day: str | None, score: float) -> Source:
        return Source(f"{article}:v:0", article, article, None, day, "text", 0, 4, score)

    undated, old, new = source("u", None, 0.9), source("o", "2021-09-22", 0.85), source("n", "2021-11-03", 0.82)
    assert newest_answering([undated, old, new], margin=0.1) == [new]
    assert newest_answering([undated], margin=0.1) == [undated]  # nothing dated: all passages stay
    window = resolve_window("in November", date(2021, 12, 1))
    assert prefer_window([undated, old, new], window, 5) == [new, undated, old]
    assert prefer_window([undated, old, new], window, 0) == [undated, old, new]  # weight 0: off


def test_time_features_for_a_ranker(dated) -> None:  # type: ignore[no-untyped-def]
    from rag.retrieval.asof import TIME_FEATURES, time_features

    when = dated.when("What is the latest on rates since 1 November?", "2021-12-01")
    assert tuple(time_features("2021-11-03", when)) == TIME_FEATURES
    assert time_features("2021-11-03", when) == {"dated": 1.0, "in_window": 1.0, "near_window": 1.0,
                                                 "fresh": 0.2, "fresh_latest": 0.2}  # 28 days before 1 December
    before = time_features("2021-09-22", when)  # 40 days before the window opens
    assert before["in_window"] == 0.0 and before["near_window"] == 7 / 47
    assert time_features(None, when) == dict.fromkeys(TIME_FEATURES, 0.0)  # undated: never preferred
    assert time_features("2021-11-03", None) == dict.fromkeys(TIME_FEATURES, 0.0)
    plain = dated.when("What happened to rates?", "2021-12-01")  # no window, no recency
    assert time_features("2021-12-01", plain) == {"dated": 1.0, "in_window": 0.0, "near_window": 0.0, "fresh": 1.0,
                                                  "fresh_latest": 0.0}
    asked_later = dated.when("What happened to rates?", "2026-12-01")  # asked years later: age no longer tells
    assert time_features("2021-11-03", asked_later)["fresh"] < 0.01


def test_cli_as_of_and_timeline(dated_store: Path) -> None:
    before = run_cli("ask", RATE_NOW, "--store", str(dated_store), "--as-of", "2021-10-01", "--json",
                     env={"NEWSRAG_TIME_ZONE": "UTC"})
    assert before.returncode == 0, before.stderr
    assert "0.75%" in json.loads(before.stdout)["answer"]
    bad = run_cli("ask", RATE_NOW, "--store", str(dated_store), "--as-of", "1 Oct 2021")
    assert bad.returncode == 5 and bad.stderr.count("\n") == 1 and "as_of '1 Oct 2021' is not a date" in bad.stderr
    timeline = run_cli("timeline", "Bank of Eastland interest rates", "--store", str(dated_store))
    assert timeline.returncode == 0, timeline.stderr
    assert timeline.stdout.index("22 September 2021") < timeline.stdout.index("3 November 2021")


@pytest.fixture(scope="module")
def dated_api(dated) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from ui.http.app import create_app

    with uvicorn_server(create_app(dated)) as url:
        yield url


def test_http_as_of_on_ask_chat_completions_and_timeline(dated_api: str) -> None:
    def ask(as_of: str) -> dict:
        return httpx.post(f"{dated_api}/v1/ask", json={"question": RATE_NOW, "as_of": as_of}, timeout=60).json()

    assert "0.75%" in ask("2021-10-01")["answer"] and "1%" in ask("2021-12-01T09:00:00+00:00")["answer"]
    chat = httpx.post(f"{dated_api}/v1/chat", json={"messages": [{"role": "user", "content": RATE_NOW}],
                                                     "as_of": "2021-10-01"}, timeout=60).json()
    assert chat["as_of"].startswith("2021-10-01") and chat["recency"] is True
    completion = httpx.post(f"{dated_api}/v1/chat/completions", json={
        "model": "newsrag", "messages": [{"role": "user", "content": RATE_NOW}], "as_of": "2021-10-01"}, timeout=60).json()
    assert "0.75%" in completion["choices"][0]["message"]["content"]
    for bad in ("tomorrow", 20211001):
        response = httpx.post(f"{dated_api}/v1/ask", json={"question": RATE_NOW, "as_of": bad}, timeout=60)
        assert response.status_code == 422 and set(response.json()) >= {"error", "type"} and "as_of" in response.json()["error"]
    timeline = httpx.post(f"{dated_api}/v1/timeline", json={"topic": "Bank of Eastland interest rates"}, timeout=60).json()
    assert [d["day"] for d in timeline["days"]] == ["2021-09-22", "2021-11-03"]
    first = timeline["days"][0]["events"][0]
    cited = timeline["sources"][first["citations"][0]["source_index"]]
    assert first["text"] in cited["text"]
