"""The sample questions are answered with citations whose passages hold the evidence."""

from __future__ import annotations

import pytest

from tests.conftest import ISIS_K_TITLE


def _norm(text: str) -> str:
    return text.replace("’", "'").replace("“", '"').replace("”", '"').lower()


def test_milley_question_cites_the_isis_k_passage(assistant) -> None:
    answer = assistant.ask("What did Milley say about ISIS-K?")
    assert not answer.refused
    assert "[1]" in answer.text
    cited = answer.cited_sources
    assert cited, "the answer cites nothing"
    assert any("it’s possible" in s.text for s in cited)  # typographic apostrophe as in the source
    assert all(s.title == ISIS_K_TITLE for s in cited)
    first = cited[0]
    assert first.url and first.date == "2021-09-01"
    # the highlighted sentence is inside the passage and is the one with the quote
    (lo, hi), *_ = first.highlights
    assert first.start <= lo < hi <= first.end
    assert "it’s possible" in first.text[lo - first.start : hi - first.start]


def test_citations_point_at_given_sources(assistant) -> None:
    answer = assistant.ask("How many bombs did the US drop on Afghanistan in 2019?")
    markers = {c.marker for c in answer.citations}
    assert markers == set(range(1, len(markers) + 1))
    for citation in answer.citations:
        assert f"[{citation.marker}]" in answer.text
        assert 0 <= citation.source_index < len(answer.sources)
    assert "7,423" in answer.text


def test_sample_questions_are_answered_with_evidence(assistant, sample_questions) -> None:
    correct, report = 0, []
    for item in sample_questions:
        answer = assistant.ask(item["question"])
        if not item["answerable"]:
            ok = answer.refused
        else:
            passages = [_norm(s.text) for s in answer.cited_sources]
            has_evidence = any(_norm(e) in p for e in item["evidence"] for p in passages)
            has_answer = any(_norm(a) in _norm(answer.text) for a in item["answers"])
            ok = not answer.refused and has_evidence and has_answer
        correct += ok
        report.append(f"{'ok ' if ok else 'BAD'} {item['id']}: {answer.text[:120]}")
    assert correct >= 10, "\n".join(report)


def test_unanswerable_question_is_refused(assistant, sample_questions) -> None:
    for item in sample_questions:
        if not item["answerable"]:
            answer = assistant.ask(item["question"])
            assert answer.refused, answer.text
            assert answer.citations == []
            assert "not in the articles" in answer.text.lower()


def test_off_topic_question_is_refused(assistant) -> None:
    answer = assistant.ask("How do I bake sourdough bread?")
    assert answer.refused


def test_comment_answer_says_a_reader_commented(assistant) -> None:
    # "commenter" says where the answer is, not what it says: the comment need not repeat the word
    answer = assistant.ask("What phrase does one commenter want to re-introduce into the American consciousness?")
    assert not answer.refused
    assert "A reader commented" in answer.text and "leave well enough alone" in answer.text
    assert answer.cited_sources[0].kind == "comment"


def test_article_body_ranks_before_comments(assistant) -> None:
    answer = assistant.ask("What is Milley's position?")
    assert answer.cited_sources and all(s.kind == "body" for s in answer.cited_sources)
    assert "Chairman of the Joint Chiefs of Staff" in answer.text


@pytest.mark.parametrize(("question", "reason"), [("", "empty"), ("   ", "empty"), ("?!?", "no words"),
                                                  ("\x00\x01", "control character")])
def test_empty_questions_are_rejected(assistant, question: str, reason: str) -> None:
    from rag.errors import QueryError

    with pytest.raises(QueryError, match=reason):
        assistant.ask(question)


def test_overlong_question_is_rejected(assistant) -> None:
    from rag.errors import QueryError

    with pytest.raises(QueryError, match="limit"):
        assistant.ask("why " * 30_000)


def test_datelines_subheadings_and_links_to_other_stories_are_not_quoted_as_answers(assistant) -> None:  # type: ignore[no-untyped-def]
    from rag.answering.features import candidates
    from rag.records import Source

    text = ("New York CNN Business —\nWhy did Blue Origin name its rocket New Glenn?\n"
            "More: Blue Origin rocket name revealed in Florida launch plan\n"
            "Blue Origin named its new orbital rocket New Glenn, after the astronaut John Glenn, the company said.")
    passage = Source("c1", "a1", "Blue Origin names its rocket", None, "2025-01-16", text, 0, len(text), 0.9)
    question = "What is the name of Blue Origin's new rocket?"
    _, found = candidates(question, [passage])
    # a dateline leads into the story, a subheading asks, a link names another story: none states an answer
    assert [c.text for c in found] == [text.splitlines()[-1]]
    extractive, _ = assistant.answerer_named("extractive")
    pieces = [p for p in extractive.stream(question, [passage]) if isinstance(p, str)]
    assert pieces[0].startswith("Blue Origin named its new orbital rocket New Glenn")
