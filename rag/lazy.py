"""Package attributes imported on first use, so `import rag` (and `newsrag --help`) loads no heavy library.

    __getattr__, __dir__ = lazy_exports(__name__, {"ingest": "pipeline"}, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str],
                 exported: Sequence[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module `__getattr__` importing `name` from `package.<homes[name]>` on first use, and its `__dir__`."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{home}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted([*vars(sys.modules[package]), *exported])

    return __getattr__, __dir__
