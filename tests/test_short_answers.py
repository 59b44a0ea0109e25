"""Short answers to "Who is X?": the role the articles give the person, never another person's name."""

from __future__ import annotations

import pytest

from rag.answering.short import role_of


@pytest.mark.parametrize(("name", "sentences", "role"), [
    ("Milley", ["Chairman of the Joint Chiefs of Staff Gen. Mark Milley said on Wednesday that it was possible."],
     "Chairman of the Joint Chiefs of Staff"),
    ("Kash Patel", ["FBI Director Kash Patel told reporters on Monday."], "FBI Director"),
    ("Keir Starmer", ["On Tuesday Keir Starmer met the king.", "British Prime Minister Keir Starmer flew home."],
     "British Prime Minister"),
    ("Ana Ruiz", ["Ana Ruiz, a nurse at the county hospital, said the ward was full."], "nurse at the county hospital"),
    ("Biden", ["While the war is over, President Biden has threatened more airstrikes."], "President"),
])
def test_the_role_is_the_title_before_the_name_or_the_apposition_after_it(name: str, sentences: list[str],
                                                                          role: str) -> None:
    assert role_of(name, sentences) == role


@pytest.mark.parametrize(("name", "sentences"), [
    ("Jane Doe", ["Jane Doe, 45, said she was happy.", "The mayor praised Jane Doe."]),
    ("Keir Starmer", ["On Tuesday Keir Starmer met the king."]),
    ("Tom Baker", ["Nobody else is named here."]),
])
def test_no_role_is_made_up_from_an_age_a_weekday_or_nothing(name: str, sentences: list[str]) -> None:
    assert role_of(name, sentences) is None


def test_who_is_asks_for_the_role_not_another_name(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask("Who is Milley?")
    assert not answer.refused
    assert answer.short_answer == "Chairman of the Joint Chiefs of Staff"
    assert answer.text.startswith("Chairman of the Joint Chiefs of Staff — ")
    assert answer.cited_sources and "Milley" in answer.cited_sources[0].text
