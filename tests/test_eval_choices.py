"""Multiple choice by passage support: the supported option wins; nothing supported picks 'None of the above'."""

from __future__ import annotations

from eval.choices import choose_option
from eval.questions import Question
from rag.records import Source


def _passage(text: str, title: str = "Lake Arden news") -> Source:
    return Source(chunk_id="a:1:0", article_id="a", title=title, url=None, date=None, text=text,
                  start=0, end=len(text), score=0.5)


FERRY = _passage("A solar-powered ferry began service on Lake Arden on Monday. The ferry carries 120 passengers "
                 "and charges at a dock on the north shore.")
OTHER = _passage("The city council approved protected bike lanes on Main Street after a long debate.", "Council")


def test_the_option_the_passages_state_is_chosen() -> None:
    question = Question(id="q", question="How many passengers does the Lake Arden ferry carry?",
                        choices=("40", "60", "120", "300"), correct=(2,))
    choice = choose_option(question, [OTHER, FERRY])
    assert choice.index == 2 and not choice.abstained
    assert choice.scores[2] > max(choice.scores[i] for i in (0, 1, 3))


def test_words_shared_by_every_option_do_not_decide() -> None:
    question = Question(id="q", question="Where does the ferry charge?",
                        choices=("At a dock on the south shore", "At a dock on the north shore",
                                 "At a dock on the east shore"), correct=(1,))
    assert choose_option(question, [FERRY]).index == 1


def test_none_of_the_above_is_chosen_when_no_option_is_supported() -> None:
    question = Question(id="q", question="How many passengers does the Lake Arden ferry carry?",
                        choices=("40", "60", "300", "None of the above"), correct=(3,))
    choice = choose_option(question, [FERRY, OTHER])
    assert choice.index == 3 and choice.abstained
    supported = Question(id="q", question=question.question, choices=("40", "120", "300", "None of the above"),
                         correct=(1,))
    assert choose_option(supported, [FERRY]).index == 1


def test_no_passages_means_abstaining_or_the_first_option() -> None:
    with_nota = Question(id="q", question="Who won?", choices=("A team", "None of the above"), correct=(1,))
    assert choose_option(with_nota, []).index == 1
    without = Question(id="q", question="Who won?", choices=("Red team", "Blue team"), correct=(1,))
    assert choose_option(without, []).index == 0


def test_the_option_named_in_the_best_passages_beats_one_named_in_passing() -> None:
    question = Question(id="q", question="Which store is facing a 40-day boycott?",
                        choices=("Walmart", "Target", "Costco", "Kroger"), correct=(1,))
    boycott = _passage("Target is facing a 40-day boycott called by pastors over its retreat from diversity "
                       "programmes. Target said it respects the right to protest.", "Target faces 40-day boycott")
    passing = _passage("Shoppers at Walmart and Costco saw prices rise in February.", "Prices")
    choice = choose_option(question, [boycott, passing])
    assert choice.index == 1 and choice.scores[1] == max(choice.scores)


def test_the_fitted_option_model_matches_the_features_and_carries_its_threshold() -> None:
    from eval.choices import CHOICE_FEATURES, choice_model

    model = choice_model()
    assert model.features == CHOICE_FEATURES  # refit with `python -m eval.fit` after changing the features
    assert 0.0 < model.thresholds["abstain_below"] < 1.0
    assert "weeks 1-9" in model.about["fitted_on"]
