"""Cleaning and chunking: titles, headers, reader comments, exact offsets."""

from __future__ import annotations

from pathlib import Path

from index.chunking import chunk_article
from index.cleaning import clean_article, looks_like_title, normalize_date
from index.loading import RawArticle, load
from rag.embedding.embedder import token_counter
from tests.conftest import ISIS_K_TITLE, SAMPLES, shared_path


def _clean(path: Path):  # type: ignore[no-untyped-def]
    return clean_article(load(path, 10**7)[0])


def test_comments_of_the_seed_article_are_detected() -> None:
    article = _clean(shared_path("sample", "us-could-coordinate-with-the-taliban-on-isis-k.txt"))
    assert article.title == ISIS_K_TITLE  # found in the page chrome under the comments
    assert article.comments_start is not None
    story, comments = article.text[: article.comments_start], article.text[article.comments_start :]
    assert story.startswith("Chairman of the Joint Chiefs")
    assert story.rstrip().endswith("witnesses on the ground strongly deny the claim.")
    assert "leave well enough alone" in comments and "Serious question." in comments
    assert ISIS_K_TITLE not in comments


def test_bundled_copy_of_the_seed_article_is_verbatim() -> None:
    original = shared_path("sample", "us-could-coordinate-with-the-taliban-on-isis-k.txt").read_text(encoding="utf-8")
    bundled = (SAMPLES / "us-could-coordinate-with-the-taliban-on-isis-k.txt").read_text(encoding="utf-8")
    assert bundled.endswith(original)


def test_explicit_comments_heading() -> None:
    article = _clean(SAMPLES / "harbor-city-fc-wins-cup-final.txt")
    assert article.comments_start is not None
    assert article.text[article.comments_start :].startswith("What a night.")
    assert "Comments (3)" not in article.text


def test_news_articles_have_no_comments() -> None:
    for path in SAMPLES.iterdir():
        if "harbor" in path.name or "isis-k" in path.name:
            continue
        article = _clean(path)
        assert article.comments_start is None, path.name
        assert article.date and article.title and article.site, path.name


def test_header_and_markdown_metadata() -> None:
    article = _clean(SAMPLES / "solar-ferry-begins-service-on-lake-arden.md")
    assert article.title == "Solar-Powered Ferry Begins Service on Lake Arden"
    assert article.date == "2021-07-09"
    assert article.site == "arden-gazette.example"
    assert "Date:" not in article.text and "*" not in article.text


def test_title_falls_back_to_file_name() -> None:
    raw = RawArticle(origin="/x/city-budget-vote.txt", text="The council met. It voted on the budget.")
    assert clean_article(raw).title == "City budget vote"


def test_looks_like_title() -> None:
    assert looks_like_title("US Could Coordinate With the Taliban on ISIS-K")
    assert not looks_like_title("Serious question.")
    assert not looks_like_title("The unit of the Joint Special Operation Command that was operating the drones.")


def test_dates_are_normalised() -> None:
    assert normalize_date("2021-09-01T10:00:00Z") == "2021-09-01"
    assert normalize_date("September 1, 2021") == "2021-09-01"
    assert normalize_date("2021/09/01") == "2021-09-01"
    assert normalize_date("soon") is None


def test_chunks_have_exact_offsets_and_never_mix_comments() -> None:
    article = _clean(shared_path("sample", "us-could-coordinate-with-the-taliban-on-isis-k.txt"))
    counter = token_counter("all-MiniLM-L6-v2")
    chunks = chunk_article(article.text, article.comments_start, counter.ids, 120, joinable=counter.joinable)
    assert counter.joinable and [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert list(chunk.token_ids) == counter.ids([chunk.text])[0]  # what the encoder gets instead of the text
        assert counter.count([chunk.text])[0] <= 120 or "." not in chunk.text[:-1]
        in_comments = chunk.start >= article.comments_start
        assert chunk.kind == ("comment" if in_comments else "body")
    assert {c.kind for c in chunks} == {"body", "comment"}
    # chunks cover the story in order without gaps other than whitespace
    story = [c for c in chunks if c.kind == "body"]
    for left, right in zip(story, story[1:]):
        assert article.text[left.end : right.start].strip() == ""


def test_overlong_sentence_is_split() -> None:
    counter = token_counter("all-MiniLM-L6-v2")
    text = "word " * 500
    chunks = chunk_article(text.strip(), None, counter.ids, 50)
    assert len(chunks) > 5
    assert all(counter.count([c.text])[0] <= 60 for c in chunks)
