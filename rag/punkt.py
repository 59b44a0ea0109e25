"""nltk's punkt sentence tokenizer, loaded without importing the rest of nltk.

`import nltk` runs nltk's package `__init__`, which imports nearly all of nltk (245 modules: parsers,
semantics, metrics, scipy.sparse), 0.3 s on a quiet machine and 1.6 s at load average 6, all before a
process's first answer can split a sentence. Punkt needs 27 of them (no scipy). `tokenizer()` imports
`nltk.tokenize.punkt` and what it imports from nltk's own files under a private name (`PRIVATE`), with empty
packages in place of the two package `__init__`s it would otherwise run (`nltk`, `nltk.tokenize`), and builds
the English tokenizer from the punkt tables llama-index ships. Their `import nltk...` statements are turned to
the private name (and the one lookup of `sys.modules["nltk.data"]`, nltk's allowed data folders, to its copy),
so the real `nltk` is never touched: another thread, or llama-index later, imports the whole package as usual. The code that splits is nltk's own, so the spans are the same. When nltk is imported
already, it is used as it is.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PRIVATE = "_newsrag_nltk"  # the private copy's top-level name
_EMPTY = ("", ".tokenize")  # the packages whose __init__ is not run (under PRIVATE)
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
    spec = importlib.util.find_spec("nltk")
    if "nltk" in sys.modules or spec is None or not spec.submodule_search_locations:
        return _build(importlib.import_module("nltk.tokenize.punkt"), importlib.import_module("nltk.data"))
    _install(Path(list(spec.submodule_search_locations)[0]))
    return _build(importlib.import_module(f"{PRIVATE}.tokenize.punkt"), importlib.import_module(f"{PRIVATE}.data"))


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


def _install(root: Path) -> None:
    """Make `PRIVATE.x.y` import nltk's `x/y.py` (its own imports of nltk turned to PRIVATE)."""
    if PRIVATE in sys.modules:
        return
    for suffix in _EMPTY:
        name, folder = PRIVATE + suffix, root.joinpath(*suffix.split(".")[1:])
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
        package.__spec__.submodule_search_locations = [str(folder)]
        sys.modules[name] = package
    sys.meta_path.insert(0, _Finder(root))


def _private(name: str) -> str:
    return PRIVATE + name[4:] if name == "nltk" or name.startswith("nltk.") else name


def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Sequence[str] = (), level: int = 0) -> Any:
    """`__import__` for the private copy: nltk's absolute imports of itself go to PRIVATE, `sys` to `_SysView`."""
    if level == 0 and name == "sys":
        return _SYS
    return builtins.__import__(_private(name) if level == 0 else name, globals, locals, fromlist, level)


class _Modules(dict[str, Any]):
    """`sys.modules` as the private copy reads it: `nltk.x` is its own `PRIVATE.x`."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _private(name) in sys.modules

    def __getitem__(self, name: str) -> Any:
        return sys.modules[_private(name)]

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return sys.modules.get(_private(name), default)


class _SysView(types.ModuleType):
    """The `sys` module for the private copy (everything but `modules` is the real one's)."""

    modules = _Modules()

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


_SYS = _SysView("sys")


_BUILTINS = {**builtins.__dict__, "__import__": _import}


class _Loader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__builtins__"] = _BUILTINS
        super().exec_module(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds `PRIVATE.*` modules in nltk's folder; no other name."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PRIVATE + "."):
            return None
        base = self.root.joinpath(*fullname.split(".")[1:])
        if (base / "__init__.py").is_file():
            init = str(base / "__init__.py")
            return importlib.util.spec_from_file_location(fullname, init, loader=_Loader(fullname, init),
                                                          submodule_search_locations=[str(base)])
        source = base.with_suffix(".py")
        if source.is_file():
            return importlib.util.spec_from_file_location(fullname, source, loader=_Loader(fullname, str(source)))
        return None
