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


def test_sentences_are_not_cut_after_a_title_a_number_sign_or_a_time_before_its_zone() -> None:
    text = ("The FDA banned Red No. 3 in food. The crash happened at 8:48 p.m. ET, according to the U.S. "
            "Geological Survey. Gov. Kay Ivey said. Sen. Jones spoke.\nNo.\nA new line always ends one.")
    assert [text[a:b] for a, b in tx.sentence_spans(text)] == [
        "The FDA banned Red No. 3 in food.",
        "The crash happened at 8:48 p.m. ET, according to the U.S. Geological Survey.",
        "Gov. Kay Ivey said.", "Sen. Jones spoke.", "No.", "A new line always ends one."]


def test_chunks_keep_punkt_sentences_so_a_store_build_does_not_change() -> None:
    text = "The FDA banned Red No. 3 in food. Gov. Kay Ivey said."
    assert [text[a:b] for a, b in tx.chunk_sentence_spans(text)] == [
        "The FDA banned Red No.", "3 in food.", "Gov.", "Kay Ivey said."]
