"""Helpers for the browser tests: a real newsrag server on a free loopback port and Debian's chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.conftest import ROOT, let_go
from tests.servers import stop_process

CHROMIUM = os.environ.get("NEWSRAG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage",
]
MILLEY = "What did Milley say about ISIS-K?"


def copy_store(source: Path, target: Path) -> Path:
    """A private copy of a store, so a test may add and delete articles."""
    shutil.copytree(source, target)
    return target


@contextmanager
def running(command: list[str], url: str, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """Start `newsrag ...` in its own process, wait until `url` answers, and stop it afterwards."""
    let_go()  # the server owns its store: this process must not hold it
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *command], cwd=ROOT, env={**os.environ, **(env or {})},
        stdout=out, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text() if log else ''}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer at {url}")
            time.sleep(0.5)
        yield url
    finally:
        stop_process(process)
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian chromium driven by playwright, or skip when it is not installed."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[browser]' (make test does it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_chat(browser: Any, url: str, width: int = 1280, height: int = 860, external: list[str] | None = None) -> Any:
    """A fresh browser context (its own saved conversation) with the chat loaded."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(60_000)
    if external is not None:
        page.on("request", lambda request: _note_external(request.url, external))
    page.goto(url, wait_until="load")
    page.wait_for_selector("#nr-question textarea")
    page.wait_for_selector("#nr-sources-panel .nr-sources")
    return page


def _note_external(url: str, seen: list[str]) -> None:
    host = urlparse(url).hostname
    if host not in (None, "127.0.0.1", "localhost") and not url.startswith(("data:", "blob:")):
        seen.append(url)


def answers(page: Any) -> Any:
    return page.locator("#nr-chatbot .nr-answer:not(.nr-streaming)")


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, and wait for its finished answer (the last answer in the chat)."""
    before = answers(page).count()
    page.fill("#nr-question textarea", question)
    page.press("#nr-question textarea", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#nr-chatbot .nr-answer:not(.nr-streaming)').length > n", arg=before,
    )
    return answers(page).last


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def settle_scroll(page: Any) -> None:
    """Wait until smooth scrolling has stopped (the page's scroll position is the same for 4 frames)."""
    page.evaluate(
        """() => new Promise(done => { let last = -1, same = 0;
             const tick = () => { same = window.scrollY === last ? same + 1 : 0; last = window.scrollY;
                                  same > 3 ? done(true) : requestAnimationFrame(tick); };
             requestAnimationFrame(tick); })"""
    )


def saved_conversation(page: Any) -> str:
    """What the page keeps in the browser's storage, once it has stopped changing for a few frames."""
    return str(page.evaluate(
        """() => new Promise(done => { let last = null, same = 0;
             const tick = () => { const now = JSON.stringify(localStorage); same = now === last ? same + 1 : 0;
                                  last = now; same > 10 ? done(now) : requestAnimationFrame(tick); };
             requestAnimationFrame(tick); })"""
    ))


def screenshot(page: Any, name: str, tmp: Path) -> Path:
    """Save a screenshot; into docs/screenshots (small PNGs) when NEWSRAG_SCREENSHOTS names that folder."""
    folder = Path(os.environ.get("NEWSRAG_SCREENSHOTS") or tmp)
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    from PIL import Image

    with Image.open(path) as image:  # 256 colours keep text sharp and the file small
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def stored_ids(server: str) -> set[str]:
    """The ids of the articles the server lists."""
    listing = httpx.get(f"{server}v1/articles", params={"limit": 1000}, timeout=60).json()
    return {a["article_id"] for a in listing["articles"]}


def active_sources(page: Any) -> Any:
    """The sources panel's entries for the turn shown."""
    return page.locator("#nr-sources-panel .nr-turn.nr-active")


def toast(page: Any, name: str) -> str:
    """The text of Gradio's own refusal naming `name` (a toast that fades after a while)."""
    return str(page.wait_for_function(
        "name => [...document.querySelectorAll('.toast-body')].map(t => t.innerText).find(t => t.includes(name))",
        arg=name,
    ).json_value())
