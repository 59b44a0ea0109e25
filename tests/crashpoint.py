"""Run a `newsrag` command that SIGKILLs itself at a named point, so crash tests never depend on timing.

    python -m tests.crashpoint POINT remove ARTICLE_ID --store DIR

Points:
  chunk-delete:N   just before the N-th delete call on the chunk collection (registry records already gone)
  bm25-rename      after the new BM25 index file is written in full, before it replaces the old one
  bm25-half        halfway through writing the new BM25 index file
                   (both with every BM25 save made a compaction: a whole new file rather than a log record)
  bm25-append-half halfway through appending a record to the BM25 index's log (a torn append)
  upload-second    (serve) an upload of several files: the first is kept, the second received but not yet
                   renamed into place, nothing ingested
  swap-rename:N    just before the N-th rename of a Chroma directory swap (repair, restore; rag.store.files)
The process kills itself with SIGKILL: no `finally`, no atexit, no flush, as with `kill -9` or a power cut.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any


def _die() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_at_chunk_delete(nth: int, collection: str) -> None:
    from chromadb.api.models.Collection import Collection

    original = Collection.delete
    calls = [0]

    def delete(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.name == collection:
            calls[0] += 1
            if calls[0] == nth:
                _die()
        return original(self, *args, **kwargs)

    Collection.delete = delete  # type: ignore[method-assign]


def _compact_every_save() -> None:
    """Every BM25 save writes the whole index file (as a compaction does), never a log record."""
    import rag.retrieval.lexical

    rag.retrieval.lexical.COMPACT_MIN_BYTES = 0
    rag.retrieval.lexical.COMPACT_RATIO = 0.0


def _fake_os(module: Any, name: str, fake: Callable[..., Any]) -> None:
    """Give `module` an `os` whose function `name` is `fake(real_os, *args)`; everything else is the real os."""
    real_os = module.os

    class _Os:
        def __getattr__(self, attr: str) -> Any:
            return getattr(real_os, attr)

    setattr(_Os, name, staticmethod(lambda *args: fake(real_os, *args)))
    module.os = _Os()


def _kill_halfway_through_bm25_append() -> None:
    import rag.retrieval.bm25_log

    def write(real_os: Any, fd: int, data: bytes) -> int:
        real_os.write(fd, data[: len(data) // 2])
        real_os.fsync(fd)
        _die()
        return 0

    _fake_os(rag.retrieval.bm25_log, "write", write)


def _kill_before_bm25_rename() -> None:
    import rag.retrieval.lexical

    def replace(real_os: Any, src: Any, dst: Any) -> None:
        if str(dst).endswith(".npz"):
            _die()
        real_os.replace(src, dst)

    _fake_os(rag.retrieval.lexical, "replace", replace)


def _kill_halfway_through_bm25_write() -> None:
    import builtins

    import rag.retrieval.lexical

    class _HalfWriter:
        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> _HalfWriter:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            os.fsync(self.handle.fileno())
            _die()
            return 0

    def half_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = builtins.open(path, mode, *args, **kwargs)  # noqa: SIM115 - closed by the caller or the wrapper
        return _HalfWriter(handle) if str(path).endswith(".tmp") and "w" in mode else handle

    rag.retrieval.lexical.open = half_open  # type: ignore[attr-defined]


def _kill_at_second_upload() -> None:
    import index.uploads

    original = index.uploads.upload_path
    calls = [0]

    def upload_path(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 2:
            _die()
        return original(*args, **kwargs)

    index.uploads.upload_path = upload_path  # type: ignore[assignment]


def _kill_at_swap_rename(nth: int) -> None:
    import rag.store.files

    calls = [0]

    def replace(real_os: Any, src: Any, dst: Any) -> None:
        calls[0] += 1
        if calls[0] == nth:
            _die()
        real_os.replace(src, dst)

    _fake_os(rag.store.files, "replace", replace)


def main(argv: list[str]) -> int:
    point, *command = argv
    collection = os.environ.get("NEWSRAG_COLLECTION", "newsrag")
    if point.startswith("chunk-delete:"):
        _kill_at_chunk_delete(int(point.split(":", 1)[1]), collection)
    elif point == "bm25-rename":
        _compact_every_save()
        _kill_before_bm25_rename()
    elif point == "bm25-half":
        _compact_every_save()
        _kill_halfway_through_bm25_write()
    elif point == "bm25-append-half":
        _kill_halfway_through_bm25_append()
    elif point == "upload-second":
        _kill_at_second_upload()
    elif point.startswith("swap-rename:"):
        _kill_at_swap_rename(int(point.split(":", 1)[1]))
    else:
        raise SystemExit(f"unknown crash point {point!r}")
    from ui.cli import main as newsrag

    code = newsrag(command)
    print(f"crashpoint {point} was never reached; the command finished with {code}", file=sys.stderr)
    return 99


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
