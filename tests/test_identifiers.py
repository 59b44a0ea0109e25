"""Identifiers in questions (rag.retrieval.identifiers): which tokens are codes, and how they reorder candidates."""

from __future__ import annotations

import pytest

from rag.retrieval.identifiers import holding_first, identifiers


@pytest.mark.parametrize(("question", "expected"), [
    ("How many passengers did flight QZ-4417 carry?", ["QZ-4417"]),
    ("Which flight carried passengers under invoice 88412?", ["88412"]),
    ("A second type of H5N1 bird flu has been found in which other animal?", ["H5N1"]),
    ("Did COVID-19 delay the F-35 and the G7 talks on 5G?", ["COVID-19", "F-35", "G7", "5G"]),
    ("Who won at the 97th Academy Awards during a 40-day boycott in 2025?", []),
    ("How far is a 10km run for a 30-year-old at 3pm, in the 1990s, for $28 billion?", []),
    ("Is the 737 MAX grounded?", []),
])
def test_identifiers_are_codes_not_ordinals_amounts_or_years(question: str, expected: list[str]) -> None:
    assert identifiers(question) == expected


def test_candidates_holding_the_code_come_first_in_their_given_order() -> None:
    texts = ["Flight QZ-4471 was diverted.", "Routes include QZ 4417 and others.", "A storm hit.",
             "qz4417 landed late."]
    assert holding_first("Where did flight QZ-4417 land?", texts, str) == [texts[1], texts[3], texts[0], texts[2]]


def test_more_of_the_codes_rank_higher_and_no_code_held_leaves_the_order() -> None:
    texts = ["H5N1 only.", "H5N1 and invoice 88412.", "neither"]
    assert holding_first("H5N1 under invoice 88412?", texts, str) == [texts[1], texts[0], texts[2]]
    assert holding_first("What about flight ZZ-9?", texts, str) == texts
    assert holding_first("What about the storm?", texts, str) == texts
