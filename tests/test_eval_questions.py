"""Question-set loading: newsrag's JSONL, RealTimeQA folders and RGB files, with clear errors for bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from eval.adapters import detect_format, load_question_set
from rag.errors import ConfigError
from tests.conftest import shared_path
from tests.eval_fixtures import write_realtimeqa, write_rgb


def _jsonl(tmp_path: Path, *rows: object) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_sample_questions_load_with_their_fields() -> None:
    qset = load_question_set(shared_path("sample", "questions.jsonl"))
    assert qset.fmt == "jsonl" and len(qset.questions) == 12 and not qset.corpus
    first = qset.questions[0]
    assert first.id == "seed-01" and first.answers[0] == "it's possible" and first.answerable
    assert [q.id for q in qset.questions if not q.answerable] == ["seed-11"]


def test_optional_fields_filters_gold_articles_and_choices(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, {"id": "a", "question": "Who won?", "choices": ["X", "Y", "None of the above"],
                             "correct": [1], "gold_articles": ["https://example.org/a"],
                             "filters": {"since": "2021-08-01", "sources": ["antiwar.com"]},
                             "wrong_answers": ["X"], "group": "mc"})
    question = load_question_set(path).questions[0]
    assert question.correct == (1,) and question.abstain_choice == 2
    assert question.filters is not None and question.filters.since == date(2021, 8, 1)
    assert question.filters.sources == ("antiwar.com",) and question.group == "mc"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "ok"}\n{"question": ', "q.jsonl:2: not valid JSON"),
        ({"question": "What?", "answer": ["x"]}, "unknown field 'answer' (did you mean 'answers'?)"),
        ({"question": "  "}, "'question' must be a non-empty string"),
        ({"question": "Q", "choices": ["a", "b"], "correct": [5]}, "'correct' index 5 is outside the 2 choices"),
        ({"question": "Q", "filters": {"since": "yesterday"}}, "filters.since 'yesterday' is not a YYYY-MM-DD"),
        ({"question": "Q", "answers": "x", "answerable": "yes"}, "'answerable' must be true or false"),
    ],
)
def test_bad_question_lines_give_one_clear_error(tmp_path: Path, line: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_question_set(_jsonl(tmp_path, line))
    assert message in str(caught.value)


def test_duplicate_ids_and_empty_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="duplicate id 'x'"):
        load_question_set(_jsonl(tmp_path, {"id": "x", "question": "a?"}, {"id": "x", "question": "b?"}))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no questions"):
        load_question_set(empty, "jsonl")
    with pytest.raises(ConfigError, match="no such question file"):
        load_question_set(tmp_path / "missing.jsonl")


def test_realtimeqa_folder_gives_questions_gold_articles_and_one_corpus(tmp_path: Path) -> None:
    folder = write_realtimeqa(tmp_path / "rtqa")
    assert detect_format(folder) == "realtimeqa"
    qset = load_question_set(folder)
    assert [q.id for q in qset.questions] == ["20250103_0", "20250110_0", "20250103_0_nota", "20250110_0_nota"]
    assert qset.groups == ["qa", "nota"]
    lantern = qset.questions[0]
    assert lantern.answers == ("Kyoto",) and lantern.correct == (1,) and lantern.note == "quiz note"
    assert lantern.gold_articles == ("https://example.org/2025/01/02/lantern-festival",
                                     "https://example.org/2024/11/05/glacier-retreat")
    nota = qset.questions[2]
    assert nota.answers == () and nota.correct == (3,) and nota.abstain_choice == 3
    # both weeks searched the glacier article: the corpus has it once; the article without text is left out
    names = sorted(a.url.rsplit("/", 1)[-1] for a in qset.corpus)
    assert names == ["glacier-retreat", "lantern-festival", "solar-ferry"]
    assert qset.corpus[0].date == "2025-01-02"
    assert any("without article text" in n for n in qset.notes)
    assert [p.name for p in qset.corpus_files] == ["20250103_gcs.jsonl", "20250110_gcs.jsonl"]


def test_one_realtimeqa_week_file_uses_its_own_search_results(tmp_path: Path) -> None:
    folder = write_realtimeqa(tmp_path / "rtqa")
    qset = load_question_set(folder / "20250110_qa_nota.jsonl")
    assert [q.id for q in qset.questions] == ["20250110_0_nota"] and qset.groups == ["nota"]
    assert {a.title for a in qset.corpus} == {"Solar Ferry Starts Service on Lake Arden",
                                               "Alpine Glacier Retreats Faster Than Expected"}


def test_shared_realtimeqa_slice_loads_every_week() -> None:
    qset = load_question_set(shared_path("realtimeqa", "2025-q1"), "realtimeqa")
    assert len([q for q in qset.questions if q.group == "qa"]) == 250
    assert len([q for q in qset.questions if q.group == "nota"]) == 250
    assert len(qset.corpus) == 1663  # 1,675 distinct result URLs, 12 of them without text
    assert all(q.gold_articles for q in qset.questions[:5])


def test_rgb_counterfactual_passages_become_the_corpus(tmp_path: Path) -> None:
    path = write_rgb(tmp_path / "mini_fact.json")
    assert detect_format(path) == "rgb"
    qset = load_question_set(path)
    assert [q.wrong_answers for q in qset.questions] == [("Ashleigh Barty",), ("March 3 2024",)]
    assert qset.questions[1].answers == ("January 6 2025",)  # nested alternatives are flattened
    assert len(qset.corpus) == 3 and qset.corpus[0].url.endswith("mini_fact.json#0-0")
    assert qset.questions[0].gold_articles == (qset.corpus[0].url,)


def test_shared_rgb_file_loads() -> None:
    qset = load_question_set(shared_path("rgb", "en_fact.json"))
    assert qset.fmt == "rgb" and len(qset.questions) == 100
    assert all(q.wrong_answers for q in qset.questions)


def test_unknown_layouts_say_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ConfigError, match="pass --format"):
        load_question_set(tmp_path / "notes.txt")
    with pytest.raises(ConfigError, match="RealTimeQA files"):
        load_question_set(tmp_path)
    with pytest.raises(ConfigError, match="--format 'csv' is unknown"):
        load_question_set(tmp_path / "notes.txt", "csv")
