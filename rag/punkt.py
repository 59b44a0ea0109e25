"""nltk's punkt sentence tokenizer, loaded without importing the rest of nltk.

`import nltk` runs nltk's package `__init__`, which imports nearly all of nltk (245 modules: parsers,
semantics, metrics, scipy.sparse), 0.3 s on a quiet machine and 1.6 s at load average 6, all before a
process's first answer can split a sentence. Punkt needs 27 of them (no scipy). `tokenizer()` loads
those (`nltk.tokenize.punkt` and what it imports) with empty stand-ins for the two package `__init__`s it
would otherwise run, builds the English tokenizer from the punkt tables llama-index ships, then takes its
modules out of `sys.modules` again: they stay a private copy, and a later `import nltk` anywhere in the
process loads the whole nltk as usual. The code that splits is nltk's own, so the spans are the same.
While the copy loads, another thread that imports nltk waits for it (nltk's import lock is held).
When nltk is already imported, it is used as it is.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_PACKAGES = ("nltk", "nltk.tokenize")  # the package __init__s punkt's modules would run
_made: list[Any] = []
_making = threading.Lock()


def tokenizer() -> Any:
    """The English punkt tokenizer (untrained punkt, which still splits on . ! ?, when no tables are found);
    made once per process."""
    if not _made:
        with _making:
            if not _made:
                _made.append(_make())
    return _made[0]


def _make() -> Any:
    with _import_lock("nltk"):
        if "nltk" in sys.modules:
            return _build(importlib.import_module("nltk.tokenize.punkt"), importlib.import_module("nltk.data"))
        with _private_nltk() as (punkt, data):
            return _build(punkt, data)


def _build(punkt: Any, data: Any) -> Any:
    """PunktTokenizer("english") from the tables llama-index ships (nothing is downloaded)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.origin:
        cache = str(Path(spec.origin).parent / "_static" / "nltk_cache")
        if cache not in data.path:
            data.path.append(cache)
    try:
        return punkt.PunktTokenizer("english")
    except LookupError:
        return punkt.PunktSentenceTokenizer()


@contextlib.contextmanager
def _private_nltk() -> Iterator[tuple[Any, Any]]:
    """punkt and nltk.data imported under stand-in packages; afterwards every nltk module is let go again."""
    spec = importlib.util.find_spec("nltk")
    assert spec is not None and spec.submodule_search_locations
    root = Path(list(spec.submodule_search_locations)[0])
    for name in _PACKAGES:
        folder = root.joinpath(*name.split(".")[1:])
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        package.__spec__.submodule_search_locations = [str(folder)]
        package.__spec__._initializing = True  # type: ignore[attr-defined]  # other threads wait on its lock
        sys.modules[name] = package
    try:
        yield importlib.import_module("nltk.tokenize.punkt"), importlib.import_module("nltk.data")
    finally:
        for name in [m for m in sys.modules if m == "nltk" or m.startswith("nltk.")]:
            del sys.modules[name]


@contextlib.contextmanager
def _import_lock(name: str) -> Iterator[None]:
    """Hold the import system's lock for module `name`: another thread's `import name` waits until it is let go."""
    bootstrap: Any = getattr(importlib, "_bootstrap", None)
    manager = getattr(bootstrap, "_ModuleLockManager", None)
    if manager is None:  # another Python: no lock to take, the window is a few milliseconds of one call
        yield
        return
    with manager(name):
        yield
