"""Who has an embedded store open: one process at a time, held by an `flock` for that process's lifetime.

Embedded Chroma is not safe for two processes: readers apply the write log to the vector index and save
it too. So every process that opens a store directory takes an exclusive `flock` on `<store>/store.lock`
and keeps it until it exits; the kernel drops it when the process dies, however it dies, so a dead
holder is never mistaken for a live one. The holder describes itself in `<store>/owner.json` (pid,
command, start time; a serving process adds the address of its API and a token only readers of the
store directory can see). Another process that finds the lock taken either goes through the serving
owner's API (`rag.store.owner_client`), waits for a short-lived command to finish, or gets one clear error.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import json
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import StoreError

log = logging.getLogger(__name__)

LOCK_FILE = "store.lock"
OWNER_FILE = "owner.json"
_held: dict[str, IO[bytes]] = {}  # resolved store directory -> the open lock file this process holds
_released: dict[str, int] = {}  # resolved store directory -> how often this process let go of it
_guard = threading.Lock()


@dataclass(frozen=True)
class Holder:
    """What `owner.json` says about the process holding a store."""

    pid: int
    command: str
    started: str
    url: str | None = None  # a long-lived owner's address (reachable from this machine)
    token: str | None = None  # set when the owner takes commands: proves the caller can read the store directory
    owner: bool = False  # a long-lived process (serve, ui): others are refused at once rather than wait

    @property
    def serving(self) -> bool:
        """Whether other processes can go through this owner's API."""
        return bool(self.url and self.token)

    def describe(self) -> str:
        where = f", {self.url}" if self.url else ""
        return f"`{self.command}` (pid {self.pid}{where}, since {self.started})"


class StoreOwned(StoreError):
    """The store is held by a serving process (its API is the way in)."""

    def __init__(self, store: Path, holder: Holder, advice: str | None = None) -> None:
        self.store, self.holder = store, holder
        if advice is None and holder.serving:
            advice = ("ingest, remove, ask, status, list and backup go through it; for anything else stop it "
                      f"first, or work on a copy (newsrag backup DIR --store {store})")
        elif advice is None:
            advice = ("it takes no commands from other processes: stop it first, or serve the store with "
                      "`newsrag serve` (the same chat, plus an API that other newsrag commands go through)")
        super().__init__(f"the store at {store} is owned by {holder.describe()}; {advice}; several processes "
                         "share one collection through a Chroma server (--chroma-url)")


class StoreBusy(StoreError):
    """Another short-lived process kept the store for longer than this one would wait."""


def holder(store: Path) -> Holder | None:
    """Who holds the store now (None when nobody does, or it cannot be told)."""
    store = Path(store)
    try:
        with open(store / LOCK_FILE, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(store) or Holder(pid=0, command="another process", started="?")
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
    except FileNotFoundError:
        return None


def hold(store: Path, wait: float, command: str | None = None) -> None:
    """Take the store for this process (nothing to do when it has it already).

    Raises StoreOwned at once when a serving process holds it, and StoreBusy when another process
    holds it for longer than `wait` seconds (a line on stderr says what it waits for).
    """
    key = str(Path(store).resolve())
    with _guard:
        if key in _held:
            return
        try:
            handle = open(Path(store) / LOCK_FILE, "a+b")  # noqa: SIM115 - kept open while the store is held
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES):  # nobody can write it: nothing to guard
                log.warning("cannot lock the store at %s (%s); opening it unguarded", store, exc.strerror)
                return
            raise StoreError(f"cannot open the store at {store}: {exc.strerror or exc}") from exc
        try:
            _wait_for(handle, Path(store), wait)
        except BaseException:
            handle.close()
            raise
        _held[key] = handle
        _write_holder(Path(store), Holder(pid=os.getpid(), command=command or _command(), started=_now()))
        if len(_held) == 1:
            atexit.register(_release_all)


def _wait_for(handle: IO[bytes], store: Path, wait: float) -> None:
    deadline, told = time.monotonic() + wait, False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        current = _read_holder(store)
        if current is not None and current.owner:
            raise StoreOwned(store, current)
        if time.monotonic() >= deadline:
            who = current.describe() if current else "another process"
            raise StoreBusy(f"the store at {store} is in use by {who} and stayed busy for {wait:.0f} s; try again "
                            "when it has finished (NEWSRAG_STORE_WAIT_SECONDS waits longer), or serve the store "
                            "(newsrag serve) so that other commands go through it")
        if not told:
            print(f"newsrag: waiting for the store at {store}: in use by "
                  f"{current.describe() if current else 'another process'}", file=sys.stderr, flush=True)
            told = True
        time.sleep(0.2)


def new_token() -> str:
    """A secret for `advertise`: the owner's API accepts store commands only with it."""
    return secrets.token_urlsafe(32)


def advertise(store: Path, url: str, token: str | None, command: str | None = None) -> Holder:
    """Say in `owner.json` that this process (which holds the store) owns it for its lifetime, reachable at
    `url`; with a `token`, other newsrag processes send their commands to its API. Returns the record."""
    key = str(Path(store).resolve())
    if key not in _held:
        raise StoreError(f"this process does not hold the store at {store}; open it before serving it")
    record = Holder(pid=os.getpid(), command=command or _command(), started=_now(), url=url.rstrip("/"),
                    token=token, owner=True)
    _write_holder(Path(store), record)
    return record


def release(store: Path) -> None:
    """Let the store go (other processes may open it); the caller must have closed its Chroma client."""
    key = str(Path(store).resolve())
    with _guard:
        handle = _held.pop(key, None)
        if handle is None:
            return
        _released[key] = _released.get(key, 0) + 1
        current = _read_holder(Path(store))
        if current is not None and current.pid == os.getpid():
            (Path(store) / OWNER_FILE).unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _release_all() -> None:
    """At exit: remove this process's owner.json files (the kernel drops the locks anyway)."""
    for key in list(_held):
        release(Path(key))


def generation(store: Path) -> int:
    """How often this process let go of the store: a Store opened before a release opens it again."""
    return _released.get(str(Path(store).resolve()), 0)


def held() -> list[Path]:
    """The stores this process holds."""
    return [Path(key) for key in _held]


def holds(store: Path) -> bool:
    """Whether this process holds the store."""
    return str(Path(store).resolve()) in _held


def _read_holder(store: Path) -> Holder | None:
    for _ in range(5):  # the holder replaces the file atomically; a new holder may not have written it yet
        try:
            data: Any = json.loads((store / OWNER_FILE).read_text(encoding="utf-8"))
            found = Holder(**{k: data.get(k) for k in Holder.__dataclass_fields__})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, AttributeError):
            time.sleep(0.05)
            continue
        if found.pid and process_alive(int(found.pid)):
            return found
        time.sleep(0.05)
    return None


def _write_holder(store: Path, record: Holder) -> None:
    """Replace owner.json atomically, readable by the owner's user only (it may carry a token)."""
    tmp = store / f".{OWNER_FILE}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(record), out)
        os.replace(tmp, store / OWNER_FILE)
    except OSError as exc:  # the lock still guards the store; only the description is missing
        log.warning("cannot write %s (%s)", store / OWNER_FILE, exc)


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine; another user's process (or any answer but "no such
    process") counts as running, so nothing of a live writer is taken over or deleted."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _command() -> str:
    """What this process is, for messages: `newsrag ingest`, `pytest`, `python script.py`..."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    name = program.parent.name if program.name == "__main__.py" else program.name
    if name in ("newsrag", "cli.py", "ui"):
        return " ".join(["newsrag", *sys.argv[1:2]])
    return " ".join([name, *sys.argv[1:2]])[:80]


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
