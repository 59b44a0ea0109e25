"""The chat's parts without a browser: rendering (escaping, badges, refusals), saved turns, feedback, library."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from rag import Filters
from rag.errors import QueryError
from rag.records import Source
from tests.conftest import ISIS_K_TITLE
from ui import library
from ui.feedback import record_feedback
from ui.render import answer_html, safe_url, sources_panel_html, turn_sources_html
from ui.state import Turn, history_messages, load_turns, save_turns

MILLEY = "What did Milley say about ISIS-K?"


@pytest.fixture(scope="module")
def milley(assistant) -> Turn:  # type: ignore[no-untyped-def]
    return Turn.from_answer(assistant.ask(MILLEY), Filters())


def test_badges_point_at_the_supporting_sentence(milley: Turn) -> None:
    html = answer_html(0, milley)
    targets = re.findall(r'<a class="nr-cite" href="#(nr-mark-0-(\d+)-(\d+))"', html)
    assert targets, html
    panel = turn_sources_html(0, milley, active=True)
    for anchor, index, _ in targets:
        mark = re.search(rf'<mark id="{anchor}">(.*?)</mark>', panel)
        assert mark, f"no highlighted sentence with id {anchor}"
        assert f'id="nr-src-0-{index}"' in panel
    first = re.search(rf'<mark id="{targets[0][0]}">(.*?)</mark>', panel)
    assert first and "it’s possible" in first.group(1)
    assert ISIS_K_TITLE in panel and 'href="https://news.antiwar.com/' in panel


def test_uncited_passages_are_collapsed_below_the_cited_ones(milley: Turn) -> None:
    panel = turn_sources_html(0, milley, active=True)
    cited, _, rest = panel.partition('<details class="nr-more">')
    assert "nr-cited" in cited and rest and "nr-cited" not in rest
    assert rest.count('class="nr-card"') == len(milley.sources) - len({c.source_index for c in milley.citations})


def test_refusals_are_marked_and_carry_no_badges(assistant) -> None:  # type: ignore[no-untyped-def]
    turn = Turn.from_answer(assistant.ask("Who won the 2022 World Cup?"))
    html = answer_html(3, turn)
    assert turn.refused and "nr-refusal" in html and "Not in the articles" in html and "nr-cite" not in html
    assert "<details class=\"nr-more\" open>" in turn_sources_html(3, turn, active=True)


def test_article_text_titles_and_links_are_escaped(milley: Turn) -> None:
    evil = replace(
        milley.sources[0], title='<img src=x onerror="alert(1)">', url="javascript:alert(1)",
        site="<b>site</b>", text="<script>alert(1)</script>" + milley.sources[0].text[25:],
    )
    turn = replace(milley, sources=[evil, *milley.sources[1:]], question="<i>q</i>")
    html = answer_html(0, turn) + sources_panel_html([turn])
    assert "<img" not in html and "<script" not in html and "<b>site" not in html and "<i>q" not in html
    assert "&lt;img src=x" in html and "javascript:" not in html
    assert safe_url("https://example.com/a") == "https://example.com/a"
    assert safe_url("data:text/html,x") is None and safe_url("//evil.example") is None


def test_saved_turns_round_trip_and_garbage_starts_afresh(milley: Turn) -> None:
    saved = json.loads(json.dumps(save_turns([milley, milley])))  # what the browser keeps
    turns = load_turns(saved)
    assert [t.to_json() for t in turns] == [milley.to_json(), milley.to_json()]
    assert answer_html(1, turns[1]) == answer_html(1, milley)
    assert load_turns(None) == [] and load_turns({"version": 99}) == [] and load_turns({"version": 1, "turns": [1]}) == []
    assert history_messages(turns)[-2:] == [{"role": "user", "content": MILLEY}, {"role": "assistant", "content": milley.text}]


def test_feedback_lines_hold_question_answer_sources_and_evidence(milley: Turn, tmp_path: Path) -> None:
    record_feedback(tmp_path, milley, "up")
    record_feedback(tmp_path, milley, "down")
    record_feedback(tmp_path, milley, None)  # taken back
    lines = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text().splitlines()]
    assert [line["rating"] for line in lines] == ["up", "down", None]
    assert len({line["answer_id"] for line in lines}) == 1 and len({line["id"] for line in lines}) == 3
    line = lines[0]
    assert line["question"] == MILLEY and line["answer"] == milley.text
    assert any("it’s possible" in sentence for sentence in line["evidence"])
    assert [s["chunk_id"] for s in line["sources"]] == [s.chunk_id for s in milley.sources]
    assert sum(s["cited"] for s in line["sources"]) == len({c.source_index for c in milley.citations})
    with pytest.raises(ValueError):
        record_feedback(tmp_path, milley, "meh")


def test_example_questions_are_a_readers_questions_answered_from_their_article(assistant) -> None:  # type: ignore[no-untyped-def]
    from ui.conversation import ChatSession

    examples = ChatSession(assistant).examples()
    questions = [q for q, _ in examples]
    assert len(questions) == 4 and len(set(questions)) == 4, questions
    titles = {a.article_id: a.title for a in assistant.articles()}
    assert "What did Milley say about ISIS-K?" in questions
    for question, article_id in examples:
        assert ":" not in question and titles[article_id] not in question  # not a headline in a template
        answer = assistant.ask(question)
        assert not answer.refused and answer.cited_sources[0].article_id == article_id, (question, answer.text)


def test_uploads_are_checked_and_stored_under_a_safe_name(tmp_path: Path) -> None:
    upload = tmp_path / "incoming"
    upload.write_text("Title: x\n\nSome text.", encoding="utf-8")
    allowed = [".md", ".txt"]
    assert library.check_upload(upload, "notes.txt", 1000, allowed) is None
    assert "“photo.jpg” is a .jpg file; the library accepts .md, .txt files." == library.check_upload(upload, "photo.jpg", 1000, allowed)
    too_big = library.check_upload(upload, "notes.txt", 10, allowed)
    assert too_big and "upload limit is 10 bytes" in too_big
    upload.write_bytes(b"x" * 1025)
    assert "“notes.txt” is 1,025 bytes; the upload limit is 1,024 bytes" in (library.check_upload(upload, "notes.txt", 1024, allowed) or "")
    upload.write_text("Title: x\n\nSome text.", encoding="utf-8")
    store = tmp_path / "store"
    saved = library.save_upload(upload, "../../etc/pass wd.txt", store)
    assert saved.parent == store / "uploads" and saved.name.startswith("pass-wd-") and saved.suffix == ".txt"
    assert library.save_upload(upload, "../../etc/pass wd.txt", store) == saved  # the same file lands on the same path


def test_accepted_types_in_words() -> None:
    assert library.type_names([".md", ".txt", ".text"]) == "text or Markdown"
    assert library.type_names([".pdf", ".htm", ".html", ".txt", ".xyz"]) == "text, HTML, PDF or .xyz"
    assert ".pdf" in library.allowed_types() or ".txt" in library.allowed_types()


def test_urls_and_search(assistant) -> None:  # type: ignore[no-untyped-def]
    urls, errors = library.parse_urls("https://a.example/x\nftp://b.example/y not-a-url https://a.example/x")
    assert urls == ["https://a.example/x"] and len(errors) == 2 and "ftp://b.example/y" in errors[0]
    articles = assistant.articles()
    assert [a.title for a in library.search_articles(articles, "antiwar isis")] == [ISIS_K_TITLE]
    assert library.search_articles(articles, "") == articles
    collection = library.describe(articles)
    assert collection.articles == 8 and len(collection.sites) == 7 and collection.first_date == "2021-06-27"


def test_date_filters_are_checked(assistant) -> None:  # type: ignore[no-untyped-def]
    from ui.conversation import ChatSession

    session = ChatSession(assistant)
    assert session.filters("2021-09-02", "", ["antiwar.com"]) == Filters(since=__import__("datetime").date(2021, 9, 2), sources=("antiwar.com",))
    assert session.filters(None, None, list(library.describe(assistant.articles()).sites)) == Filters()  # all = none
    with pytest.raises(QueryError, match="after"):
        session.filters("2021-09-02", "2021-08-01", [])
    with pytest.raises(QueryError, match="like 2021-08-01"):
        session.filters("the day before", None, [])


@pytest.mark.parametrize(("typed", "understood"), [
    ("2021-9-2", "Searching 2 Sep 2021 – today only."), ("2 Sep 2021", "Searching 2 Sep 2021 – today only."),
    ("September 2, 2021", "Searching 2 Sep 2021 – today only."), ("31/12/2021", "Searching 31 Dec 2021 – today only."),
    ("yesterday", None),
    ("09/02/2021", "“From” “09/02/2021” could be 2 Sep 2021 or 9 Feb 2021; write it as 2021-09-02 or 2021-02-09"),
    ("2021-02-30", "“From” must be a date like 2021-08-01, not “2021-02-30” (no such day)"),
])
def test_a_typed_date_is_shown_as_understood_or_refused(assistant, typed: str, understood: str | None) -> None:  # type: ignore[no-untyped-def]
    from datetime import date, timedelta

    from ui.conversation import ChatSession
    from ui.render import nice_date

    note, _ = ChatSession(assistant).filter_summary(typed, "", [], None)
    expected = understood or f"Searching {nice_date((date.today() - timedelta(days=1)).isoformat())} – today only."
    assert expected in note.replace("&quot;", '"'), note


def test_build_chat_returns_blocks_for_mounting(assistant) -> None:  # type: ignore[no-untyped-def]
    import gradio as gr

    from ui.chat import build_chat

    assert isinstance(build_chat(assistant, warm_up=False), gr.Blocks)


def test_sources_of_a_source_record_survive_new_fields() -> None:
    from ui.state import source_from_json

    data = Source("a:1:0", "a", "T", None, None, "text", 0, 4, 0.5, highlights=((0, 4),)).to_dict()
    data["some_future_field"] = 1
    assert source_from_json(data).highlights == ((0, 4),)


# its answer quotes two sentences of the seed article's first passage
TWO_FROM_ONE = "Which newspaper revealed that the US flew drones as air support for the Taliban?"


def test_a_passage_two_sentences_cite_shows_one_marker_on_its_card_and_in_the_eval_report(assistant) -> None:  # type: ignore[no-untyped-def]
    from eval.html import _cited
    from eval.runner import cited_passages

    answer = assistant.ask(TWO_FROM_ONE)
    markers = [c.marker for c in answer.citations]
    assert len(markers) >= 2 and set(markers) == {1}, answer.text  # two or three sentences cite passage 1
    panel = turn_sources_html(0, Turn.from_answer(answer), active=True)
    assert panel.count('<span class="nr-badge">1</span>') == 1
    report = _cited(cited_passages(answer))  # the eval report's "cited passages" cell
    assert report.count("<summary>[1] ") == 1 and report.count("<mark>") == len(markers)
