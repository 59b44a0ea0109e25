"""Follow-up questions are rewritten into standalone ones before retrieval, with or without an LLM."""

from __future__ import annotations

import pytest

from rag.answering.followups import HeuristicRewriter, Turn, as_turns, is_follow_up
from rag.errors import QueryError
from tests.conftest import llm_assistant

FIRST = "What did Milley say about ISIS-K?"
FOLLOW_UP = "What about the drone strike in Kabul?"


def _history(answer_text: str = "Milley said “it’s possible” the US could coordinate with the Taliban. [1]") -> list[dict]:
    return [{"role": "user", "content": FIRST}, {"role": "assistant", "content": answer_text}]


def _cites_drone_strike(answer) -> bool:  # type: ignore[no-untyped-def]
    for citation in answer.citations:
        source = answer.sources[citation.source_index]
        sentence = source.text[citation.start - source.start : citation.end - source.start]
        if "killed 10 civilians" in sentence:
            return True
    return False


def test_follow_up_retrieves_and_cites_the_drone_strike_passage(assistant) -> None:
    first = assistant.chat(FIRST, [])
    assert first.rewritten_question is None and not first.refused
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first.text}]
    answer = assistant.chat(FOLLOW_UP, history)
    assert answer.question == FOLLOW_UP
    assert answer.rewritten_question == "What did Milley say about the drone strike in Kabul?"
    assert not answer.refused and _cites_drone_strike(answer), answer.text
    assert "10 civilians" in answer.text and "rewrite" in answer.timings


def test_llm_rewrites_the_follow_up(assistant, llm) -> None:
    llm.script("What did General Milley say about the US drone strike in Kabul?", when="Standalone question:")
    llm.script(lambda p: "Milley also discussed the US drone strike that hit Kabul on Sunday and killed 10 civilians [1].")
    answer = llm_assistant(assistant, llm).chat(FOLLOW_UP, _history())
    rewrite_request, answer_request = llm.received
    assert not rewrite_request.stream and answer_request.stream  # the rewrite is one plain request
    assert FIRST in rewrite_request.prompt and f"Last user message: {FOLLOW_UP}" in rewrite_request.prompt
    assert answer.rewritten_question == "What did General Milley say about the US drone strike in Kabul?"
    assert "Question: What did General Milley say about the US drone strike in Kabul?" in answer_request.prompt
    assert _cites_drone_strike(answer)


def test_unusable_llm_rewrite_falls_back_to_the_heuristic(assistant, llm) -> None:
    llm.script("Milley said it is possible [1].", when="Standalone question:")  # an answer, not a question
    llm.script("Milley also discussed the US drone strike that hit Kabul on Sunday and killed 10 civilians [1].")
    answer = llm_assistant(assistant, llm).chat(FOLLOW_UP, _history())
    assert answer.rewritten_question == "What did Milley say about the drone strike in Kabul?"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (FOLLOW_UP, "What did Milley say about the drone strike in Kabul?"),
        ("And how about the Doha agreement?", "What did Milley say about the Doha agreement?"),
        ("What did he say about the drone strike?", "What did Milley say about the drone strike?"),
        ("How many bombs did the US drop on Afghanistan in 2019?", "How many bombs did the US drop on Afghanistan in 2019?"),
    ],
)
def test_heuristic_rewrites(message: str, expected: str) -> None:
    assert HeuristicRewriter().rewrite(message, as_turns(_history())) == expected


def test_heuristic_adds_the_previous_topic_to_a_vague_follow_up() -> None:
    history = as_turns([("How many bombs did the US drop on Afghanistan in 2019?", "In 2019, the US dropped 7,423 bombs [1].")])
    rewritten = HeuristicRewriter().rewrite("Why?", history)
    assert rewritten.startswith("Why") and "Afghanistan" in rewritten


def test_chained_follow_ups_keep_the_original_frame() -> None:
    history = as_turns([
        {"role": "user", "content": FIRST}, {"role": "assistant", "content": "..."},
        {"role": "user", "content": FOLLOW_UP}, {"role": "assistant", "content": "..."},
    ])
    assert HeuristicRewriter().rewrite("What about the Doha agreement?", history) == "What did Milley say about the Doha agreement?"


def test_standalone_questions_are_not_follow_ups() -> None:
    assert not is_follow_up("Who took responsibility for the suicide bombing at the Kabul airport?")
    assert is_follow_up(FOLLOW_UP) and is_follow_up("What did he say next?")


def test_history_formats() -> None:
    pairs = as_turns([["Q1", "A1"], ("Q2", None)])
    assert pairs == [Turn("user", "Q1"), Turn("assistant", "A1"), Turn("user", "Q2")]
    parts = as_turns([{"role": "user", "content": [{"type": "text", "text": "Q"}]}, {"role": "system", "content": "s"}])
    assert parts == [Turn("user", "Q")]
    with pytest.raises(QueryError, match="role"):
        as_turns([{"role": "robot", "content": "x"}])
    with pytest.raises(QueryError, match="history must be"):
        as_turns(["just a string"])


REFUSED = ("Not in the articles: none of the stored articles answers this question. The collection holds 8 articles "
           "from antiwar.com. Closest articles: “Harbor City FC Win the Coastal Cup Final” (2022-05-01).")


def test_follow_up_after_a_refusal_leans_on_the_last_answered_question() -> None:
    history = as_turns([*_history(), {"role": "user", "content": "What is the capital of Australia?"},
                        {"role": "assistant", "content": REFUSED}])
    rewritten = HeuristicRewriter().rewrite("What about the drone strike?", history)
    assert rewritten == "What did Milley say about the drone strike?"
    for word in ("Australia", "Closest", "Harbor", "Coastal", "Cup"):
        assert word not in rewritten


def test_follow_up_after_a_topic_change_uses_the_new_topic() -> None:
    history = as_turns([*_history(), {"role": "user", "content": "What did the Taliban say about the airport bombing?"},
                        {"role": "assistant", "content": "The Taliban condemned the attack at the airport. [1]"}])
    assert HeuristicRewriter().rewrite("What about the evacuation?", history) == \
        "What did the Taliban say about the evacuation?"


def test_follow_up_after_two_turns_keeps_the_chain() -> None:
    history = as_turns([*_history(), {"role": "user", "content": "What did he say about the drone strike?"},
                        {"role": "assistant", "content": "Milley called the strike righteous. [1]"}])
    rewritten = HeuristicRewriter().rewrite("Why?", history)
    assert rewritten.startswith("Why") and "Milley" in rewritten


def test_a_standalone_question_after_answers_is_left_alone() -> None:
    history = as_turns(_history())
    question = "How many bombs did the US drop on Afghanistan in 2019?"
    assert HeuristicRewriter().rewrite(question, history) == question


def test_chat_after_a_refusal_is_not_hijacked(assistant) -> None:
    first = assistant.chat(FIRST, [])
    refused = assistant.chat("What is the capital of Australia?", [])
    assert refused.refused and not first.refused
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first.text},
               {"role": "user", "content": "What is the capital of Australia?"},
               {"role": "assistant", "content": refused.text}]
    answer = assistant.chat("What about the drone strike?", history)
    assert answer.rewritten_question == "What did Milley say about the drone strike?"
    assert not answer.refused and _cites_drone_strike(answer), answer.text


def test_llm_rewriter_never_sees_a_refusal(assistant, llm) -> None:
    llm.script("What did Milley say about the drone strike?", when="Standalone question:")
    llm.script("Milley also discussed the US drone strike that hit Kabul on Sunday and killed 10 civilians [1].")
    history = [*_history(), {"role": "user", "content": "What is the capital of Australia?"},
               {"role": "assistant", "content": REFUSED}]
    llm_assistant(assistant, llm).chat("What about the drone strike?", history)
    rewrite_prompt = llm.received[0].prompt
    assert "Australia" not in rewrite_prompt and "Harbor City" not in rewrite_prompt and FIRST in rewrite_prompt
