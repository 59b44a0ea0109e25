"""Progress of a long ingest on stderr: a bar with articles/s and chunks/s, plain lines for logs, or nothing."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import Any, TextIO

MODES = ("auto", "bar", "lines", "off")


class ProgressDisplay:
    """Called as `progress(origin, articles_done, chunks_written)` from the pipeline's threads."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None, total: int | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "off"
        self.mode = mode
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            size = shutil.get_terminal_size(fallback=(100, 24))  # some ptys report 0 x 0, which hides tqdm
            self._bar = tqdm(total=total, unit="article", file=self.stream, mininterval=0.5,
                             ncols=min(size.columns or 100, 120), nrows=max(size.lines, 2),
                             bar_format="{desc}{n_fmt} articles [{elapsed}{postfix}]" if total is None else None)

    def __call__(self, origin: str, articles: int, chunks: int) -> None:
        with self._lock:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            if self._bar is not None:
                self._bar.set_postfix_str(f"{articles / elapsed:.1f} articles/s, {chunks / elapsed:.1f} chunks/s",
                                          refresh=False)
                self._bar.update(articles - self._bar.n)
            elif self.mode == "lines":
                print(f"  {articles} articles, {chunks} chunks ({articles / elapsed:.1f} articles/s, "
                      f"{chunks / elapsed:.1f} chunks/s)  {origin}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
