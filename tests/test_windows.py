"""Sentence windows: retrieved passages grow into their neighbouring chunks, exactly and never across kinds."""

from __future__ import annotations

from rag import text as tx


def _windowed(assistant, sentences: int = 2):  # type: ignore[no-untyped-def]
    return type(assistant.retriever)(assistant.store, assistant.embedder,
                                     assistant.settings.with_overrides(passage_window=sentences))


def test_passages_are_widened_exactly_and_stay_on_their_side_of_the_comments(assistant) -> None:
    narrow = _windowed(assistant).retrieve("What did Milley say about ISIS-K?", mode="hybrid")
    store = assistant.store
    for source in narrow:
        _, text = store.article(source.article_id)
        assert text[source.start : source.end] == source.text
        chunks = store.chunks_of(source.article_id)
        other = [c for c in chunks if c.kind != source.kind]
        assert not any(c.start < source.end and source.start < c.end for c in other), "grew across story/comments"


def test_a_window_adds_whole_sentences_around_the_matching_chunk(assistant) -> None:
    wide = _windowed(assistant).retrieve("What did Milley say about ISIS-K?")
    narrow = _windowed(assistant, 0).retrieve("What did Milley say about ISIS-K?")
    assert sum(len(p.text) for p in wide) > sum(len(p.text) for p in narrow)
    for source in wide:
        _, text = assistant.store.article(source.article_id)
        starts = {a for a, _ in tx.sentence_spans(text)}
        assert source.start in starts or source.start == min(c.start for c in assistant.store.chunks_of(source.article_id)
                                                             if c.kind == source.kind)


def test_no_window_is_cut_from_another_version_of_the_article(assistant) -> None:
    """A passage read from one version of an article is never widened with the text of a newer one: when the
    stored text is no longer the version the search read (a re-ingest in between), it stays as retrieved."""
    from rag.retrieval.windows import widen

    narrow = _windowed(assistant, 0).retrieve("What did Milley say about ISIS-K?")
    versions = dict(assistant.store.versions())
    assert [p.text for p in widen(assistant.store, narrow, 2, versions)] != [p.text for p in narrow]
    searched = {p.article_id: "an-older-version" for p in narrow}  # the search read a version since replaced
    kept = widen(assistant.store, narrow, 2, {**versions, **searched})
    assert [(p.start, p.end, p.text) for p in kept] == [(p.start, p.end, p.text) for p in narrow]
