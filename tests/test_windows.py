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


def test_windows_from_what_the_search_read_are_the_windows_read_afresh(assistant) -> None:
    """The windows take the neighbouring chunks and article texts the search already read instead of reading
    them again; what they cut is the same as from a fresh read of each."""
    import numpy as np

    from rag.retrieval.windows import neighbour_ids, widen

    question = "What did Milley say about ISIS-K?"
    narrow = _windowed(assistant, 0).retrieve(question)
    store, versions = assistant.store, dict(assistant.store.versions())
    fresh = widen(store, narrow, 2, versions)
    ids = list(dict.fromkeys(n for p in narrow for n in (neighbour_ids(p.chunk_ids[0]) or ()) + (neighbour_ids(p.chunk_ids[-1]) or ())))
    read = {h.chunk_id: h for h in store.hits_by_ids(ids[::2], np.ones(1, dtype=np.float32), versions=versions,
                                                     known=dict.fromkeys(ids, 0.5))}
    texts = store.article_texts([narrow[0].article_id], versions)
    assert read and texts
    def cut(passages):  # type: ignore[no-untyped-def]
        return [(p.article_id, p.start, p.end, p.text) for p in passages]
    assert cut(widen(store, narrow, 2, versions, read, texts)) == cut(fresh)
    assert cut(_windowed(assistant).retrieve(question)) == cut(fresh)
