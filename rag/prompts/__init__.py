"""Prompt templates, kept as package files (`rag/prompts/*.txt`) so they can be read and reviewed as text.

Placeholders are written `{name}`; `render` fills them and leaves every other brace alone, so
article text and JSON examples inside a template need no escaping.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@cache
def load(name: str) -> str:
    """The text of `rag/prompts/<name>.txt`."""
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def render(name: str, **values: object) -> str:
    """The template `name` with each `{key}` replaced by `values[key]` (unknown keys stay as written)."""
    template = load(name)
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)
