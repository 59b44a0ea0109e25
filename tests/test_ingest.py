"""Ingesting: idempotent re-ingest, one clear error for bad paths and files, the model recorded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

import index
from rag.store.collection import Store
from tests.conftest import SAMPLES, run_cli


def test_reingest_changes_nothing(sample_store: Path) -> None:
    import rag

    store = Store(rag.Settings(store=sample_store))
    before = (store.count_articles(), store.chunks.count())
    report = index.ingest([SAMPLES], store=sample_store)
    assert report.added == report.updated == report.chunks == 0
    assert report.unchanged == len(list(SAMPLES.iterdir()))
    assert (store.count_articles(), store.chunks.count()) == before


def test_edit_replaces_all_chunks_of_the_article(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Title: Ferry Report Published Today\n\n" + "The ferry was late again on Monday. " * 40)
    index.ingest([article], store=tmp_path / "store")
    article.write_text("Title: Ferry Report Published Today\n\nThe ferry ran on time all week.")
    report = index.ingest([article], store=tmp_path / "store")
    assert (report.updated, report.added) == (1, 0)
    import rag

    store = Store(rag.Settings(store=tmp_path / "store"))
    assert store.count_articles() == 1
    assert store.chunks.count() == 1  # no chunk of the old version is left
    (info, text), = [store.article(a.article_id) for a in store.articles()]
    assert text == "The ferry ran on time all week."


def test_remove_deletes_article_and_chunks(tmp_path: Path) -> None:
    index.ingest([SAMPLES / "marlow-valley-heat-wave.txt", SAMPLES / "harbor-city-fc-wins-cup-final.txt"], store=tmp_path)
    import rag

    store = Store(rag.Settings(store=tmp_path))
    target = next(a for a in store.articles() if "Marlow" in a.title)
    report = index.remove([target.article_id], store=tmp_path)
    assert report.removed == 1
    assert store.count_articles() == 1
    assert store.chunks.get(where={"article_id": target.article_id})["ids"] == []


def test_missing_path_gives_one_line_error_and_nonzero_exit(tmp_path: Path) -> None:
    result = run_cli("ingest", str(tmp_path / "nope"), "news.example.org/2021/09/story", "--store", str(tmp_path / "s"))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 2, result.stderr
    assert "nope" in errors[0] and "no such file" in errors[0] and "https://" not in errors[0]
    assert errors[1].endswith("news.example.org/2021/09/story: no such file or folder; for a web page write the full "
                              "address, https://news.example.org/2021/09/story")


def test_empty_file_is_reported_and_the_rest_is_stored(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_text("")
    (folder / "good.txt").write_text("Title: Good Article About Ferries\n\nThe ferry ran on time all week.")
    report = index.ingest([folder], store=tmp_path / "s")
    assert not report.ok and report.added == 1
    (origin, reason), = report.failed
    assert origin.endswith("empty.txt") and "empty" in reason


def test_empty_file_cli_exit_code(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    result = run_cli("ingest", str(empty), "--store", str(tmp_path / "s"))
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "empty.txt" in errors[0] and "empty" in errors[0], result.stderr


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.txt", "Caf\u00e9 au lait, na\u00efve r\u00e9sum\u00e9".encode("latin-1"), "UTF-8"),
        ("table.xlsx", b"PK\x03\x04", "unsupported"),
    ],
)
def test_bad_files_fail_with_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    report = index.ingest([path], store=tmp_path / "s")
    assert report.failed and reason in report.failed[0][1]


def test_store_built_with_another_model_is_refused(sample_store: Path) -> None:
    import rag
    from rag.errors import StoreError

    with pytest.raises(StoreError, match="embedding model"):
        Store(rag.Settings(store=sample_store, embedding_model=str(SAMPLES)))  # not a model: name differs


def test_opening_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    import rag
    from rag.errors import StoreError

    with pytest.raises(StoreError, match="newsrag ingest"):
        rag.open(store=tmp_path / "nothing-here")


def _consistent_counts(store_dir: Path) -> tuple[int, int]:
    """(articles, chunks), asserting every stored chunk belongs to a committed article version."""
    import rag

    store = Store(rag.Settings(store=store_dir))
    registered = sum(int(m.get("chunks", 0)) for _, m in store.registry_records())
    assert store.chunks.count() == registered, "orphan or missing chunks"
    return store.count_articles(), registered


def test_ingest_reingest_edit_delete_counts_are_exact(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    store = tmp_path / "s"
    first = index.ingest([folder], store=store)
    articles, chunks = _consistent_counts(store)
    assert (first.added, articles, first.chunks) == (8, 8, chunks)

    again = index.ingest([folder], store=store)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 8, 0)
    assert _consistent_counts(store) == (8, chunks)

    edited = folder / "marlow-valley-heat-wave.txt"
    old = next(a for a in Store(rag_settings(store)).articles() if "Marlow" in a.title)
    edited.write_text(edited.read_text(encoding="utf-8") + "\nThe record stood for 27 years.\n", encoding="utf-8")
    changed = index.ingest([folder], store=store)
    assert (changed.updated, changed.unchanged) == (1, 7)
    assert _consistent_counts(store) == (8, chunks - old.chunks + changed.chunks)  # old chunks all replaced
    marlow = next(a for a in Store(rag_settings(store)).articles() if "Marlow" in a.title)
    assert "27 years" in Store(rag_settings(store)).article(marlow.article_id)[1]

    removed = run_cli("remove", str(edited), "--store", str(store))
    assert removed.returncode == 0 and "1 removed" in removed.stdout, removed.stderr
    assert _consistent_counts(store)[0] == 7
    assert Store(rag_settings(store)).chunks.get(where={"article_id": marlow.article_id})["ids"] == []


def rag_settings(store: Path):  # type: ignore[no-untyped-def]
    import rag

    return rag.Settings(store=store)


def test_remove_by_url_and_missing_sources(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    index.ingest([folder], store=tmp_path / "s")
    url = "https://marlow-valley-times.example/2021/07/21/heat-record/"
    assert index.remove([url], store=tmp_path / "s").removed == 1
    (folder / "harbor-city-fc-wins-cup-final.txt").unlink()
    result = run_cli("remove", "--missing", "--store", str(tmp_path / "s"), "--json")
    assert json.loads(result.stdout)["removed"] == 1
    assert _consistent_counts(tmp_path / "s")[0] == 6
    nothing = run_cli("remove", "no-such-id", "--store", str(tmp_path / "s"))
    assert nothing.returncode == 1 and "no-such-id" in nothing.stderr


WIRE = (
    "WASHINGTON (AP) — The Senate voted 68-31 on Tuesday to pass a bill that would fund the government through "
    "March, sending it to the House days before a shutdown deadline. The measure keeps spending at current "
    "levels and adds $12 billion in disaster aid for states hit by hurricanes this fall. Senate leaders said "
    "they expected the House to take up the bill on Thursday. A group of conservative senators opposed the "
    "measure, saying it did nothing to cut spending. The White House said the president would sign it."
)


def test_wire_story_on_two_sites_is_stored_once_with_both_urls(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(f"Title: Senate Passes Stopgap Bill\nURL: https://one.example/senate\n\n{WIRE}")
    (folder / "b.txt").write_text(f"Title: Senate passes funding bill, sends it to House\n"
                                  f"URL: https://two.example/politics/senate-bill\n\n{WIRE}\nCopyright Two News.")
    first = index.ingest([folder], store=tmp_path / "s")
    assert first.added == 1 and first.ok
    (origin, reason), = first.skipped
    assert origin.endswith("b.txt") and "near-duplicate" in reason
    listing = json.loads(run_cli("list", "--store", str(tmp_path / "s"), "--json").stdout)
    (article,) = listing
    assert article["urls"] == ["https://one.example/senate", "https://two.example/politics/senate-bill"]
    again = index.ingest([folder], store=tmp_path / "s")
    assert (again.unchanged, again.added, again.chunks, again.skipped) == (2, 0, 0, [])
    assert _consistent_counts(tmp_path / "s")[0] == 1


def test_duplicate_arriving_in_a_later_run_adds_its_url(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(f"Title: Senate Passes Stopgap Bill\nURL: https://one.example/senate\n\n{WIRE}")
    second.write_text(f"Title: Senate sends bill to House\nURL: https://two.example/senate\n\n{WIRE}")
    assert index.ingest([first], store=tmp_path / "s").added == 1
    later = index.ingest([second], store=tmp_path / "s")
    assert (later.added, later.chunks, len(later.skipped)) == (0, 0, 1)
    (article,) = json.loads(run_cli("list", "--store", str(tmp_path / "s"), "--json").stdout)
    assert article["urls"] == ["https://one.example/senate", "https://two.example/senate"]
    assert index.ingest([second], store=tmp_path / "s").unchanged == 1
    assert index.remove(["https://two.example/senate"], store=tmp_path / "s").removed == 1  # found by either url


def test_glob_picks_matching_files_only(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SAMPLES, tmp_path / "in")
    report = index.ingest([str(tmp_path / "in" / "*.md")], store=tmp_path / "s")
    assert (report.added, report.ok) == (2, True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_lines_for_logs_nothing_in_pipes() -> None:
    from index.progress import ProgressDisplay

    for stream, mode in ((_Terminal(), "auto"), (io.StringIO(), "lines"), (io.StringIO(), "auto")):
        display = ProgressDisplay(mode, stream=stream)
        display("a.txt", 3, 40)
        display("b.txt", 8, 100)
        display.close()
        shown = stream.getvalue()
        if mode == "auto" and not stream.isatty():
            assert shown == ""
        else:
            assert "8 articles" in shown and "articles/s" in shown and "chunks/s" in shown


@pytest.mark.parametrize("embed_title", [False, True])
def test_stored_vectors_are_the_vectors_of_the_stored_chunks(tmp_path: Path, embed_title: bool) -> None:
    """The ingest embeds from the token ids its chunker made (not from the texts again): every stored vector
    is still what the model gives for that chunk's text (with its article's title first, with embed_title)."""
    from index.pipeline import embedding_text
    from rag.embedding.embedder import Embedder
    from rag.settings import Settings

    settings = Settings(store=tmp_path / "store", embed_title=embed_title, chunk_tokens=40)  # several batches
    assert index.ingest([SAMPLES], settings=settings).ok
    got = Store(settings).chunks.get(include=["documents", "embeddings", "metadatas"])
    texts = [embedding_text(str(m["title"]), d, settings) for d, m in zip(got["documents"], got["metadatas"])]
    again = Embedder(settings).embed_documents(texts)
    cosines = (np.asarray(got["embeddings"]) * again).sum(axis=1)
    assert len(texts) > 32 and cosines.min() >= 0.999, cosines.min()
