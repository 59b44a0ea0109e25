"""Shared fixtures: the sample corpus ingested once per session into a temporary store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui_articles import web_page  # noqa: F401 (a fixture the browser tests use)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "articles"
SHARED = ROOT.parent / "shared" / "data"
ISIS_K_TITLE = "US Could Coordinate With the Taliban on ISIS-K"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NEWSRAG_CONFIG", str(ROOT / "tests" / "no-config.toml"))  # ignore a developer's newsrag.toml
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    # started in the background by a shell without job control (CI, `cmd &`), pytest and its xdist workers
    # ignore Ctrl-C, and so would every newsrag process a test starts: the Ctrl-C test needs a user's terminal
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding a test marked `slow` run first, so under `make test` (pytest-xdist, `-n 2 --dist
    loadfile --no-loadscope-reorder`: each module on one worker, its module fixtures made once) the longest
    work starts at once instead of at the end. Only the order changes; nothing is skipped or deselected."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: the order within and among modules is kept


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (clone ../shared beside the repo)")
    return path


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the bundled sample articles."""
    import index

    store = tmp_path_factory.mktemp("store")
    report = index.ingest([SAMPLES], store=store)
    assert report.ok, report.failed
    return store


@pytest.fixture(scope="session")
def assistant(sample_store: Path):  # type: ignore[no-untyped-def]
    import rag

    return rag.open(store=sample_store)


@pytest.fixture(scope="session")
def sample_questions() -> list[dict]:
    path = shared_path("sample", "questions.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `newsrag ARGS` in a fresh process (as a user would), in the checkout or in `cwd`.

    This test process first lets go of the stores it holds (one process at a time has an embedded store
    open: rag.store.ownership); its Store objects open them again when next used.
    """
    let_go()
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


def let_go() -> None:
    """Let go of every embedded store this test process holds, so that a newsrag process can open it."""
    from rag.store.opening import release_all

    release_all()


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real `chroma run` server for the session; each test uses its own collection name."""
    from pathlib import Path as _Path

    from tests.servers import chroma_server

    if not _Path(sys.executable).with_name("chroma").exists():
        pytest.skip("the chroma command is not installed in this environment")
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "db") as url:
        yield url


@pytest.fixture(scope="session")
def llm_server():  # type: ignore[no-untyped-def]
    """The scripted OpenAI/Ollama-compatible server (tests/llm_server.py), one per session."""
    from tests.llm_server import ScriptedLLM

    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def llm(llm_server):  # type: ignore[no-untyped-def]
    """The scripted LLM server with no rules and no recorded requests."""
    llm_server.reset()
    yield llm_server
    llm_server.reset()


def llm_assistant(base, server, **overrides):  # type: ignore[no-untyped-def]
    """An Assistant with the llm answerer talking to `server`, sharing `base`'s store and embedding model."""
    from rag.composition import compose

    values = {"answerer": "llm", "llm_provider": "openai-like", "llm_base_url": server.base_url, "llm_model": "scripted"}
    settings = base.settings.with_overrides(**{**values, **overrides})
    return compose(settings, base.store, base.embedder)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (tests.ui_harness.chromium), one per test module. Not one per
    session: Playwright's sync API keeps an asyncio loop running while it is open, and later tests that run
    their own loop (MCP, llama-index agents) would fail ("cannot be called from a running event loop")."""
    from tests.ui_harness import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser tab on the chat of the test module's own `server` fixture."""
    from tests.ui_harness import open_chat

    page = open_chat(browser, server)
    yield page
    page.context.close()
