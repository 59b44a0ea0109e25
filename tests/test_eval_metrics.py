"""Metric formulas and string matching of the evaluation harness, on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from eval.checks import sentence_supported
from eval.matching import contains, exact_match, find_spans, normalize_answer, token_f1
from eval.metrics import hit_at, latency, mrr_at, ndcg_at, percentile, ranking_metrics, recall_at


def test_ranking_metrics_on_a_hand_computed_ranking() -> None:
    ranking = [False, True, False, True, False]  # relevant at ranks 2 and 4, 3 relevant in all
    assert hit_at(ranking, 1) == 0.0 and hit_at(ranking, 2) == 1.0
    assert recall_at(ranking, 3, 1) == 0.0
    assert recall_at(ranking, 3, 2) == pytest.approx(1 / 3)
    assert recall_at(ranking, 3, 5) == pytest.approx(2 / 3)
    assert mrr_at(ranking, 10) == pytest.approx(0.5)
    assert mrr_at(ranking, 1) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranking, 3, 10) == pytest.approx(dcg / ideal)


def test_perfect_ranking_scores_one_and_unjudged_questions_are_left_out() -> None:
    metrics = ranking_metrics([([True, True, False], 2), ([False, False], 0)])
    assert metrics["questions"] == 1
    assert metrics["hit@1"] == metrics["recall@5"] == metrics["mrr@10"] == metrics["ndcg@10"] == 1.0
    assert metrics["curve"]["k"][:3] == [1, 2, 3] and metrics["curve"]["recall"][:3] == [0.5, 1.0, 1.0]


def test_percentiles_and_latency_per_stage() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    stages = latency([{"embed": 10.0, "total": 20.0}, {"embed": 30.0, "total": 40.0, "rerank": 5.0}])
    assert stages["embed"]["p50"] == 20.0 and stages["total"]["n"] == 2 and stages["rerank"]["n"] == 1


def test_exact_match_and_token_f1_follow_squad_normalisation() -> None:
    assert normalize_answer("The Washington Post! [1]") == "washington post"
    assert exact_match("The Washington Post. [1]", ["Washington Post"]) == 1.0
    assert exact_match("Washington", ["Washington Post"]) == 0.0
    assert token_f1("Washington", ["Washington Post"]) == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert token_f1("nothing here", ["Kunar"]) == 0.0


@pytest.mark.parametrize(
    ("text", "needle", "found"),
    [
        ("said that “it’s possible” the US", "it's possible", True),  # curly vs straight quotes
        ("killed 10 civilians", "10", True),
        ("killed 100 civilians", "10", False),  # word boundary on digits
        ("ISIS–K fighters", "ISIS-K", True),  # any dash
        ("the Taliban\n  air force", "taliban air force", True),  # case and whitespace
        ("Kunaria province", "Kunar", False),
        ("the 1963 assassination of President John F. Kennedy", "The assassination of President John F. Kennedy", True),
        ("Anora won five Oscars", "“Anora”", True),  # the quotes around an answer are not needed
        ("flew home to the Philippines", "The Philippines", True),
        ("theatre", "The atre", False),  # the article goes only as a word of its own
        ("The end", "The", True),  # an answer that is only an article stays as it is
    ],
)
def test_contains_is_tolerant_but_respects_word_boundaries(text: str, needle: str, found: bool) -> None:
    assert contains(text, [needle]) is found


def test_find_spans_returns_offsets_in_the_original_text() -> None:
    text = "A. Then “it’s possible”, he said; it's possible."
    spans = find_spans("it's possible", text)
    assert [text[a:b] for a, b in spans] == ["it’s possible", "it's possible"]


def test_sentence_support_needs_the_words_and_every_number() -> None:
    passage = "In 2019, the US dropped 7,423 bombs on Afghanistan, the most since 2006."
    assert sentence_supported("In 2019, the US dropped 7,423 bombs on Afghanistan.", passage)
    assert not sentence_supported("In 2019, the US dropped 9,000 bombs on Afghanistan.", passage)
    assert not sentence_supported("The Taliban seized Kabul after a lightning offensive.", passage)
    assert sentence_supported("A reader commented: “the US dropped 7,423 bombs”", passage)
