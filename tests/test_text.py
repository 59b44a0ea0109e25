"""Question analysis used by the extractive answerer's refusal check."""

from __future__ import annotations

from rag import text as tx


def test_name_phrases_skip_calendar_words_nationalities_and_titles() -> None:
    assert tx.name_phrases("What did Milley say about North Korea's missile tests?") == [["milley"], ["north", "korea"]]
    assert tx.name_phrases("Israel and Hamas agreed to a ceasefire on Wednesday?") == [["hama"]]
    assert tx.name_phrases("Which American chain will cut its menu?") == []
    assert tx.name_phrases("Mexican President Claudia Sheinbaum threatened to sue which company?") == [["claudia", "sheinbaum"]]


def test_a_phrase_is_present_by_its_last_word_or_most_of_it() -> None:
    terms = {"trump", "south", "korea", "asia"}
    assert tx.phrase_present(["donald", "trump"], terms)
    assert tx.phrase_present(["southeast", "asia"], terms)
    assert not tx.phrase_present(["north", "korea"], {"north", "kunar"})
    assert not tx.phrase_present(["milley"], terms)
