"""Replacing a store's Chroma directory as one step: what repair and restore build is swapped in whole, or not at all.

A new Chroma directory is built beside the live one (`<store>/chroma.new`) and marked ready when complete.
The swap records its plan in `<store>/swap.json`, moves the live directory aside (kept, never deleted),
moves the new one in, and removes the plan. A process killed at any point leaves either the old store,
or a plan that the next process to open the store carries out (`finish_swap`); an unfinished build
(no ready mark) is thrown away.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

log = logging.getLogger(__name__)

LIVE = "chroma"
NEW = "chroma.new"
PLAN = "swap.json"
READY = ".newsrag-ready"


def new_dir(store: Path) -> Path:
    """An empty folder to build the replacement Chroma directory in (a stale unfinished one is removed)."""
    target = Path(store) / NEW
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    return target


def mark_ready(folder: Path) -> None:
    """Say that a built directory is complete (after everything in it is on disk)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            _fsync(path)
    (folder / READY).write_text("ready\n", encoding="utf-8")
    _fsync(folder / READY)
    _fsync(folder)


def swap_in(store: Path, aside: str) -> Path | None:
    """Put `<store>/chroma.new` in place of `<store>/chroma`; the old one is kept as `<store>/<aside>-<time>`.

    Returns where the old directory went (None when there was none). The caller holds the store.
    """
    store = Path(store)
    if not (store / NEW / READY).is_file():
        raise FileNotFoundError(f"{store / NEW} is not a finished build")
    old = f"{aside}-{time.strftime('%Y%m%d-%H%M%S')}" if (store / LIVE).exists() else None
    plan = store / PLAN
    plan.write_text(json.dumps({"old": old}), encoding="utf-8")
    _fsync(plan)
    _fsync(store)
    finish_swap(store)
    return store / old if old else None


def finish_swap(store: Path) -> None:
    """Carry out a swap a process began and did not finish; drop an unfinished build. The caller holds the store."""
    store = Path(store)
    plan = store / PLAN
    if not plan.exists():
        if (store / NEW).exists():
            log.warning("removing an unfinished rebuild of the store at %s (%s)", store, store / NEW)
            shutil.rmtree(store / NEW, ignore_errors=True)
        return
    old = json.loads(plan.read_text(encoding="utf-8") or "{}").get("old")
    if (store / NEW).exists():
        if old and (store / LIVE).exists():
            os.replace(store / LIVE, store / old)
        os.replace(store / NEW, store / LIVE)
        _fsync(store)
    (store / LIVE / READY).unlink(missing_ok=True)
    plan.unlink(missing_ok=True)
    _fsync(store)
    log.info("the store at %s now uses the rebuilt Chroma directory%s", store, f" (the old one is {old})" if old else "")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
