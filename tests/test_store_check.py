"""The file check at open (rag.store.check): skipped after a clean close, in full after anything else.

Chroma touches `chroma.sqlite3` whenever it opens a store, so the process holding a store signs its files
when it lets go cleanly; `newsrag status` says what the check did when it opened the store. A file changed
after that (even to the same size and modification time), or a writer killed with SIGKILL, makes the next
open check in full, and damage is still the one error naming `newsrag repair`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.composition import open_store
from rag.settings import Settings
from tests.conftest import ROOT, run_cli
from tests.test_crash_points import _crash, _ids
from tests.test_store_commits import _change
from tests.ui_harness import copy_store

QUESTION = "What did Milley say about ISIS-K?"
_VERSIONS = """
import json, sys
from rag.settings import Settings
from rag.store.collection import Store
store = Store(Settings(store=sys.argv[1]))
versions = dict(store.versions())
whole = {i: str(m.get("version")) for i, m in store.registry_records()}
print(json.dumps({"full_reads": store.committed.full_reads, "same": versions == whole, "articles": len(versions)}))
"""


@pytest.fixture
def store(sample_store: Path, tmp_path: Path) -> Path:
    return copy_store(sample_store, tmp_path / "store")


def _check(store: Path) -> dict[str, Any]:
    """What the store check did when `newsrag status` opened the store."""
    result = run_cli("status", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout)["store_check"])


def _versions_in_a_new_process(store: Path) -> dict[str, Any]:
    """How often a fresh process read the committed versions whole, and whether they equal Chroma's records."""
    done = subprocess.run([sys.executable, "-c", _VERSIONS, str(store)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _damage_in_place(path: Path, size: int) -> None:
    """Overwrite `size` bytes in the middle of `path`, then give it back its size and modification time."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + size] = bytes((i * 37 + 11) % 256 for i in range(size))[: len(data) - middle]
    with open(path, "r+b") as handle:
        handle.write(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


def _one_damage_error(store: Path) -> str:
    result = run_cli("ask", QUESTION, "--store", str(store))
    assert result.returncode == 3, (result.returncode, result.stderr)
    (line,) = result.stderr.strip().splitlines()
    assert "is damaged" in line and f"newsrag repair --store {store}" in line, line
    return str(line)


def test_a_store_let_go_cleanly_skips_the_full_check_until_a_file_changes(store: Path) -> None:
    assert _check(store)["check"] == "full"  # a copy: other files than the ones signed
    for _ in range(2):  # status, then ask, then status: each let the store go cleanly
        again = _check(store)
        assert again["check"] == "skipped" and "since a clean close" in again["why"], again
        assert run_cli("ask", QUESTION, "--store", str(store), "--json").returncode == 0
    _damage_in_place(store / "chroma" / "chroma.sqlite3", 4096)  # same size, same mtime: only the change time moved
    _one_damage_error(store)


def test_a_vector_index_changed_after_a_clean_close_is_caught(store: Path) -> None:
    _check(store)
    assert _check(store)["check"] == "skipped"
    (header, *_) = sorted(store.glob("chroma/*/header.bin"))
    _damage_in_place(header, 64)
    assert "its vector index" in _one_damage_error(store)


def test_a_writer_killed_with_sigkill_leaves_no_signature(store: Path) -> None:
    (ferry,) = _ids(store, "Solar-Powered Ferry")  # this process opened the store, then lets it go: signed
    _crash("chunk-delete:1", "remove", ferry, "--store", str(store))
    after = _check(store)
    assert after["check"] == "full" and "files changed since a clean close" in after["why"], after
    assert _check(store)["check"] == "skipped"  # that status let go cleanly
    versions = _versions_in_a_new_process(store)  # read straight from SQLite after the recovery: Chroma's records
    assert versions["full_reads"] == 1 and versions["same"] and versions["articles"] == 7, versions


def test_a_failed_write_leaves_no_signature(store: Path) -> None:
    _check(store)
    opened = open_store(Settings(store=store))
    assert opened.check_outcome()["check"] == "skipped"
    with pytest.raises(RuntimeError), opened.writer.write_lock("test"):
        raise RuntimeError("a write that failed halfway")
    opened.close()
    assert _check(store)["check"] == "full"


def test_the_versions_read_straight_from_sqlite_are_the_ones_chroma_returns(store: Path) -> None:
    opened = open_store(Settings(store=store))

    def through_chroma() -> dict[str, str]:
        return {i: str(m["version"]) for i, m in opened.registry_records()}

    assert opened.registry_versions() == through_chroma() and len(through_chroma()) == 8
    (ferry, bank) = _ids(store, "Solar-Powered Ferry", "Bank of Eastland")
    version = _change(opened, bank, "The bank opened a branch on the harbour front.")
    assert opened.writer.delete_article(ferry)
    read = opened.registry_versions()
    assert read == through_chroma() and read[bank] == version and ferry not in read
    opened.close()


def test_the_refusal_describes_the_collection_from_two_registry_keys(store: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """What a refusal says the collection holds is read from the registry's date and site keys (SQLite), not from
    every article's record through Chroma (8 s at 40k articles, paid by the first refusal of every new process),
    and it says what reading every record says."""
    from collections import Counter

    from rag.answering.refusal import CollectionSummary

    opened = open_store(Settings(store=store))
    articles = opened.articles()
    (ferry,) = _ids(store, "Solar-Powered Ferry")
    assert opened.writer.delete_article(ferry)
    articles = [a for a in articles if a.article_id != ferry]
    monkeypatch.setattr(type(opened), "articles", lambda self: pytest.fail("read every record"))
    coverage = CollectionSummary(opened).get()
    sites = Counter(a.site for a in articles if a.site)
    dates = sorted(a.date for a in articles if a.date)
    assert coverage.articles == len(articles) == 7
    assert (coverage.first_date, coverage.last_date) == (dates[0], dates[-1])
    assert coverage.all_sites == tuple(sorted(sites, key=lambda site: (-sites[site], site)))
    assert coverage.describe().startswith("The collection holds 7 articles from ")
    opened.close()


def test_a_server_lets_go_at_shutdown_only_when_no_write_is_under_way(store: Path) -> None:
    """`Store.let_go_when_idle` (what `newsrag serve` and `newsrag ui` call at the end of their shutdown): a write
    another thread still runs keeps the store held and unsigned; once it is done, the store is let go and signed."""
    from rag.store import ownership

    _check(store)
    opened = open_store(Settings(store=store))
    with opened.journal.locked() as held:  # a write under way in another thread of the server
        assert held and not opened.let_go_when_idle()
        assert ownership.holds(store)
    assert opened.let_go_when_idle()
    assert not ownership.holds(store)
    assert _check(store)["check"] == "skipped"
