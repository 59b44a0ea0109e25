"""Package attributes imported on first use, so `import rag` (and `newsrag --help`) loads no heavy library;
and `require`, which imports an optional extra or says in one line how to install it.

    __getattr__, __dir__ = lazy_exports(__name__, {"ingest": "pipeline"}, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from .errors import BackendError


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


EXTRAS = {"mcp": "mcp", "llama_index.core": "llama-index", "opentelemetry.sdk": "otel"}


def require(module: str, what: str) -> ModuleType:
    """Import `module`, or raise one BackendError line naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS[module]
        raise BackendError(f"{what} needs the {extra} extra: pip install 'newsrag[{extra}]'") from None
