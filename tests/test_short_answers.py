"""Short answers by the kind of thing asked: to "Who is X?" and "What is X's position?" the role the articles
give the person (never another person's name); to "what slogan", "what do they call themselves" the quoted
phrase."""

from __future__ import annotations

import pytest

from rag.answering.short import spans_in
from rag.asks import places_in, question_shape, role_of, type_fit


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


@pytest.mark.parametrize(("question", "subject"), [
    ("Who is Milley?", "Milley"),
    ("What is Milley's position?", "Milley"),
    ("What’s Keir Starmer’s job?", "Keir Starmer"),
    ("What is the role of Kash Patel?", "Kash Patel"),
    ("What position does Mark Milley hold?", "Mark Milley"),
])
def test_role_questions_ask_for_the_role_of_the_person_they_name(question: str, subject: str) -> None:
    shape = question_shape(question)
    assert (shape.asks, shape.subject) == ("role", subject)
    assert not {"posit", "job", "role", "hold"} & set(shape.weights)  # the kind of answer, not its topic


@pytest.mark.parametrize(("question", "asks"), [
    ("What is the much-derided slogan for New Zealand's latest tourist ad campaign?", "phrase"),
    ("What did the JSOC drone unit call themselves?", "phrase"),
    ("Oxford University's project to study animal dung is called what?", "phrase"),
    ("Which phrase does the NFL remove from the end zones?", "phrase"),
    ("What is the long-term plan for the harbour?", None),
    ("Who won the Coastal Cup final?", "name"),
    ("Which US state was struck by 32 tornadoes?", "place"),
    ("A person dressed in black set fire to several Tesla vehicles this week. Where?", "place"),
    ("Which company bought the port?", "name"),
    ("What did Milley say about ISIS-K?", "statement"),
    ("What did the JSOC drone unit call themselves?", "phrase"),
    ("How many civilians were killed?", "number"),
    ("What was the inflation rate in August?", "number"),
    ("What is the death toll of the earthquake?", "number"),
    ("When did the port reopen?", "date"),
    ("X was hit with outages this week. What year did Musk buy the platform?", "date"),  # after a sentence of context
])
def test_questions_for_a_phrase_or_a_place_are_told_from_the_other_kinds(question: str, asks: str | None) -> None:
    assert question_shape(question).asks == asks


def test_a_phrase_answer_is_what_the_sentence_quotes_but_the_question_does_not() -> None:
    shape = question_shape("What did the drone unit call themselves?")
    sentence = "The unit operating the “drone” flights even called themselves the “Taliban air force.”"
    assert spans_in(sentence, shape) == [("Taliban air force", "phrase")]
    assert type_fit(shape, sentence) == 1.0
    assert type_fit(shape, "The unit flew drones over Kunar province.") == 0.0


def test_what_is_x_s_position_is_answered_like_who_is_x(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask("What is Milley's position?")
    assert not answer.refused
    assert answer.short_answer == "Chairman of the Joint Chiefs of Staff"
    assert answer.text.startswith("Chairman of the Joint Chiefs of Staff — ")


def test_places_are_the_longest_runs_of_capitalised_words_the_gazetteer_knows() -> None:
    text = "Cars burned in Las Vegas, Nevada, and in Salem, as the United States of America mourned."
    assert places_in(text) == ["Las Vegas", "Nevada", "Salem", "United States"]
    shape = question_shape("Which US state was struck by 32 tornadoes?")
    assert type_fit(shape, "Mississippi was struck by 32 tornadoes.") == 1.0
    assert type_fit(shape, "The US was struck by 32 tornadoes.") == 0.0  # the question says it


def test_a_statement_question_asks_for_a_sentence_where_the_speaker_says_something() -> None:
    shape = question_shape("What did Sadat say about Riverton?")
    assert (shape.asks, shape.subject) == ("statement", "Sadat")
    assert type_fit(shape, "“People arrive with one suitcase,” said Mariam Sadat, a caseworker.") == 1.0
    assert type_fit(shape, "Sadat moved to Riverton in 2019.") == 0.0  # named, but says nothing


def test_what_someone_said_is_answered_with_their_words(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask("What did Sadat say about Riverton?")
    assert not answer.refused, answer.text
    assert "People arrive with one suitcase" in answer.text and "Sadat" in answer.cited_sources[0].text


def test_a_common_noun_that_begins_a_sentence_is_given_whole_not_cut_at_its_capital() -> None:
    from rag.answering.features import Candidate
    from rag.answering.short import ShortAnswerer
    from rag.records import Source

    text = ("Bird flu has been detected in dairy cattle in Churchill County, the state said on Friday. "
            "Officials said the bird flu cases in Nevada now number six herds.")
    passage = Source("c1", "a1", "Nevada cattle", None, "2025-02-06", text, 0, len(text), 0.9)
    first = text.split(". ")[0] + "."
    cand = Candidate(0, 0, len(first), first, frozenset(), probability=0.6)
    shape = question_shape("Which virus was detected in dairy cattle in Nevada?")
    texts = [s.text for s in ShortAnswerer().spans("Which virus was detected?", shape, [cand], [passage])]
    assert "Bird flu" in texts and "Bird" not in texts  # "bird flu" in lower case: no name "Bird"
    assert "Churchill County" in texts  # a name stays as it is


def test_who_wrote_it_is_no_key_term_but_what_was_said_is() -> None:
    # "commenter" says where the answer is (a reader comment), which the comment itself need not say
    assert "comment" not in question_shape("What phrase does one commenter want to re-introduce?").weights
    assert "comment" in question_shape("Which CEO was ousted for the brand's public comments?").weights


def test_a_name_is_shown_with_the_first_name_the_passages_give_it_and_without_its_title() -> None:
    from rag.answering.short import shown_name
    from rag.records import Source

    text = ("Brody broke the record for the longest acceptance speech on Sunday. The actor, 51, won for "
            "The Brutalist. Actor Adrien Brody spoke for five minutes; Adrien Brody thanked his partner. "
            "President Trump said nothing, and the president's aides left. Donald Trump and Donald Trump Jr. "
            "were at home. Defense Secretary Pete Hegseth, the defense secretary, flew out. The FDA banned Red "
            "No. 3, a red dye. Joann closed stores; Reno Joann shoppers and Reno Joann staff were sad in Reno.")
    passages = [Source("c1", "a1", "Oscars night", None, "2025-03-03", text, 0, len(text), 0.9)]
    assert shown_name("Brody", passages) == "Adrien Brody"
    assert shown_name("Actor Adrien Brody", passages) == "Adrien Brody"
    assert shown_name("Trump", passages) == "Donald Trump"  # not "President": also written in lower case
    assert shown_name("Defense Secretary Pete Hegseth", passages) == "Pete Hegseth"
    assert shown_name("Red No. 3", passages) == "Red No. 3"  # what follows "Red" is no person's name
    assert shown_name("Joann", passages) == "Joann"  # Reno is a place


def test_no_first_name_is_made_from_a_lone_mention_a_word_of_its_own_or_a_possessive() -> None:
    from rag.answering.short import shown_name
    from rag.records import Source

    text = ("Mark Milley spoke. Milley said so. SpaceX said the SpaceX Dragon capsule is fine; the SpaceX Dragon "
            "will fly again, SpaceX said. Brody's Oscar came on Sunday. Brody's Oscar speech was long.")
    passages = [Source("c1", "a1", "News", None, "2025-03-03", text, 0, len(text), 0.9)]
    assert shown_name("Milley", passages) == "Milley"  # "Mark Milley" written once: not evidence enough
    assert shown_name("Dragon", passages) == "Dragon"  # SpaceX stands on its own more often
    assert shown_name("Oscar", passages) == "Oscar"


@pytest.mark.parametrize(("question", "said", "not_said"), [
    ("Which Chinese artificial intelligence model sent shock waves through Silicon Valley?",
     ["AI", "China", "Silicon Valley"], ["DeepSeek", "OpenAI"]),
    ("Which country slapped retaliatory tariffs on some American imports this week?",
     ["U.S", "US", "America", "United States"], ["China", "Canada"]),
    ("Mexican President Claudia Sheinbaum threatened to sue which tech company?", ["Mexico", "Sheinbaum"], ["Google"]),
    ("What did the Food and Drug Administration ban?", ["FDA"], ["Red No. 3"]),
])
def test_what_the_question_names_in_other_words_is_no_short_answer(question: str, said: list[str],
                                                                   not_said: list[str]) -> None:
    shape = question_shape(question)
    assert [t for t in said if not shape.says(t)] == []
    assert [t for t in not_said if shape.says(t)] == []


def test_a_where_question_gets_a_place_or_no_short_answer_never_another_name(assistant) -> None:  # type: ignore[no-untyped-def]
    from rag.asks import places

    answer = assistant.ask("Where did the drone strike happen?")  # the sentences name Kabul and the Taliban
    assert not answer.refused and "Kabul" in answer.text
    assert answer.short_answer is None or answer.short_answer.lower() in places()


def _best_of(spans: list[tuple[str, str, float]], question: str) -> str | None:
    """The short answer `best` gives when the span model ranks `spans` (text, kind, probability) as listed."""
    from rag.answering.features import Candidate
    from rag.answering.short import ShortAnswerer, Span

    class Given(ShortAnswerer):
        def spans(self, *args: object) -> list[Span]:  # type: ignore[override]
            return [Span(text, kind, probability=p) for text, kind, p in spans]

    cand = [Candidate(0, 0, 10, "unused", frozenset(), probability=0.5)]
    best = Given().best(question, question_shape(question), cand, [])
    return best.text if best else None


def test_to_where_only_a_place_is_a_short_answer_when_the_sentences_name_one() -> None:
    where = "Where did the drone strike happen?"
    assert _best_of([("Taliban", "name", 0.9), ("Kabul", "place", 0.8)], where) == "Kabul"
    assert _best_of([("Taliban", "name", 0.9)], where) == "Taliban"  # no place named: the names still compete


def test_which_province_is_not_held_to_the_gazetteer_which_knows_no_provinces() -> None:
    question = "In which province did US drones support the Taliban against ISIS-K?"
    assert _best_of([("Kunar", "name", 0.9), ("Kabul", "place", 0.8)], question) == "Kunar"
