"""Static files of the chat (stylesheet and script), shipped inside the package."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def asset_text(name: str) -> str:
    """The text of one asset file, e.g. "newsrag.css"."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
