"""Keys, admin routes, uploads and request limits on a real server; structured logs with request ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import ROOT, run_cli
from tests.servers import uvicorn_server
from tests.ui_harness import copy_store
from ui.http.auth import Access

READER, ADMIN = "reader-key-7f3a", "admin-key-19c2"
MILLEY = "What did Milley say about ISIS-K?"
NOTE = "Title: Kessel Dam Opens Two Gates\nDate: 2024-05-05\n\nThe Kessel dam opened two of its five gates on Sunday after three days of heavy rain.\n"


def _app(assistant, store: Path, access: Access, **overrides):  # type: ignore[no-untyped-def]
    """newsrag serve's app (API, admin routes, chat) over a private copy of the sample store."""
    from rag.composition import compose
    from ui.http.server import build_app

    settings = assistant.settings.with_overrides(store=store, **overrides)
    return build_app(compose(settings, Store(settings), assistant.embedder), access)


@pytest.fixture(scope="module")
def keyed(sample_store: Path, assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    store = copy_store(sample_store, tmp_path_factory.mktemp("keyed") / "store")
    app = _app(assistant, store, Access(READER, ADMIN), max_article_bytes=5000, max_upload_files=3)
    with uvicorn_server(app) as base:
        yield base, store


def _key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _titles(store: Path) -> list[str]:
    return sorted(a.title for a in Store(Settings(store=store)).articles())


def test_reading_needs_the_api_key_except_health(keyed: tuple[str, Path]) -> None:
    base, _ = keyed
    assert httpx.get(f"{base}/v1/health").json()["articles"] == 8
    for method, path, body in [("POST", "/v1/ask", {"question": MILLEY}), ("GET", "/v1/articles", None),
                               ("GET", "/v1/models", None), ("POST", "/v1/chat", {"messages": [{"role": "user", "content": MILLEY}]}),
                               ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": MILLEY}]})]:
        for headers in ({}, _key("wrong"), {"Authorization": READER}):
            refused = httpx.request(method, f"{base}{path}", json=body, headers=headers, timeout=60)
            assert refused.status_code == 401, (path, headers, refused.text)
            error = refused.json()["error"]  # the OpenAI routes answer in OpenAI's error shape
            kind = error["code"] if isinstance(error, dict) else refused.json()["type"]
            assert kind in ("AccessError", "invalid_api_key") and refused.headers["www-authenticate"] == "Bearer"
        for key in (READER, ADMIN):  # the admin key reads too
            assert httpx.request(method, f"{base}{path}", json=body, headers=_key(key), timeout=60).status_code == 200
    message = httpx.post(f"{base}/v1/ask", json={"question": MILLEY}).json()["error"]
    assert "Authorization: Bearer" in message and READER not in message


def test_unknown_routes_and_wrong_methods_answer_with_the_json_error_shape(keyed: tuple[str, Path]) -> None:
    base, _ = keyed  # the chat is mounted at "/" beside the API, as in `newsrag serve`
    for key in (None, READER):
        headers = _key(key) if key else {}
        missing = httpx.get(f"{base}/v1/no-such-route", headers=headers)
        assert missing.status_code == 404 and missing.json() == {
            "error": "no such API route: GET /v1/no-such-route; the routes are listed at /docs", "type": "NotFound"}
        wrong = httpx.get(f"{base}/v1/ask", headers=headers)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
        assert wrong.json() == {"error": "GET is not allowed on /v1/ask; use POST (see /docs)", "type": "MethodNotAllowed"}
    assert httpx.delete(f"{base}/v1/health").json()["type"] == "MethodNotAllowed"


def test_health_shows_the_store_path_only_with_a_key_and_articles_never_show_server_paths(keyed: tuple[str, Path]) -> None:
    base, store = keyed
    anonymous = httpx.get(f"{base}/v1/health").json()
    assert anonymous["articles"] == 8 and "store" not in anonymous and str(store) not in json.dumps(anonymous)
    assert httpx.get(f"{base}/v1/health", headers=_key(READER)).json()["store"] == str(store)
    listing = httpx.get(f"{base}/v1/articles", headers=_key(READER)).json()["articles"]
    assert sorted(a["origin"] for a in listing) == sorted(p.name for p in (ROOT / "samples" / "articles").iterdir())
    assert str(ROOT) not in json.dumps(listing)


def test_the_openai_client_passes_its_api_key(keyed: tuple[str, Path]) -> None:
    openai = pytest.importorskip("openai")
    base, _ = keyed
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=READER)
    reply = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": MILLEY}])
    assert "it’s possible" in reply.choices[0].message.content
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{base}/v1", api_key="nope").models.list()


def test_upload_and_delete_need_the_admin_key(keyed: tuple[str, Path]) -> None:
    base, store = keyed
    files = {"files": ("kessel-dam.txt", NOTE.encode(), "text/plain")}
    for key in (None, READER):
        refused = httpx.post(f"{base}/v1/admin/upload", files=files, headers=_key(key) if key else {})
        assert refused.status_code == 401 and "admin key" in refused.json()["error"]
    assert "Kessel Dam Opens Two Gates" not in _titles(store)
    added = httpx.post(f"{base}/v1/admin/upload", files=files, headers=_key(ADMIN), timeout=120)
    assert added.status_code == 200 and added.json()["added"] == 1, added.text
    answer = httpx.post(f"{base}/v1/ask", json={"question": "How many gates did the Kessel dam open?"},
                        headers=_key(READER), timeout=60).json()
    assert "two of its five gates" in answer["answer"]
    (article_id,) = [a.article_id for a in Store(Settings(store=store)).articles() if a.title.startswith("Kessel")]
    assert httpx.delete(f"{base}/v1/articles/{article_id}", headers=_key(READER)).status_code == 401
    deleted = httpx.delete(f"{base}/v1/articles/{article_id}", headers=_key(ADMIN), timeout=60)
    assert deleted.status_code == 200 and deleted.json()["removed"] == 1
    assert list((store / "uploads").glob("*")) == []  # its uploaded file went with it
    missing = httpx.delete(f"{base}/v1/articles/{article_id}", headers=_key(ADMIN))
    assert missing.status_code == 404 and missing.json()["type"] == "NotFound"


@pytest.mark.parametrize("name", ["../../outside.txt", "..\\..\\outside.txt", "/tmp/outside.txt", "sub/../../outside.txt",
                                  "C:\\Windows\\outside.txt", "out\x00side.txt"])
def test_upload_names_never_become_paths(keyed: tuple[str, Path], name: str) -> None:
    base, store = keyed
    body = NOTE.replace("Kessel Dam", f"Upload Test {len(name)}").encode()
    response = httpx.post(f"{base}/v1/admin/upload", files={"files": (name, body, "text/plain")},
                          headers=_key(ADMIN), timeout=120)
    assert response.status_code == 200, response.text
    (saved,) = [p for p in (store / "uploads").iterdir()]
    assert saved.parent == store / "uploads" and saved.name.endswith(".txt") and ".." not in saved.name
    assert not (store.parent / "outside.txt").exists() and not Path("/tmp/outside.txt").exists()
    (article_id,) = [a.article_id for a in Store(Settings(store=store)).articles() if a.title.startswith("Upload Test")]
    assert httpx.delete(f"{base}/v1/articles/{article_id}", headers=_key(ADMIN), timeout=60).status_code == 200


@pytest.mark.parametrize(("files", "reason"), [
    ([("virus.exe", b"MZ\x90\x00")], "a .exe file"),
    ([("empty.txt", b"")], "is empty"),
    ([("big.txt", b"word " * 2000)], "the limit is 4.9 KB per file"),
    ([("just-over.txt", b"w" * 5001)], "“just-over.txt” is 5,001 bytes; the limit is 5,000 bytes per file"),  # not 4.9 KB twice
    ([("a.txt", b"x"), ("b.txt", b"y"), ("c.txt", b"z"), ("d.txt", b"w")], "4 files in one upload; the limit is 3"),
    ([("fine.txt", NOTE.encode()), ("photo.png", b"\x89PNG")], "a .png file"),
    ([("latin1.txt", "Title: Café\n\nUn café très crème à Zürich.".encode("latin-1"))], "not UTF-8"),
    ([("broken.pdf", b"%PDF-1.4 not really a pdf")], "not a readable PDF"),
    ([("broken.json", b'{"title": "x", "text": ')], "malformed JSON"),
])
def test_bad_uploads_are_refused_and_nothing_is_kept(keyed: tuple[str, Path], files: list, reason: str) -> None:
    base, store = keyed
    before = _titles(store)
    response = httpx.post(f"{base}/v1/admin/upload", files=[("files", (n, d, "application/octet-stream")) for n, d in files],
                          headers=_key(ADMIN), timeout=120)
    assert response.status_code == 422 and reason in response.json()["error"], response.text
    assert _titles(store) == before
    assert [p.name for p in (store / "uploads").glob("*")] == [] if (store / "uploads").exists() else True


def test_request_bodies_over_their_limit_are_refused_before_they_are_read(keyed: tuple[str, Path]) -> None:
    base, store = keyed
    huge = b"x" * 3_000_000  # over 3 files x 5,000 bytes plus the form's 1 MB allowance
    declared = httpx.post(f"{base}/v1/admin/upload", files={"files": ("big.txt", huge, "text/plain")}, headers=_key(ADMIN))
    assert declared.status_code == 413 and declared.json()["type"] == "TooLarge"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is applied while the body streams
        yield b'{"question": "'
        for _ in range(200):
            yield b"a" * 10_000
        yield b'"}'

    streamed = httpx.post(f"{base}/v1/ask", content=chunks(), headers={**_key(READER), "Content-Type": "application/json"})
    assert streamed.status_code == 413 and "1,000,000-byte limit" in streamed.json()["error"]
    gradio = httpx.post(f"{base}/gradio_api/upload", files={"files": ("big.txt", huge, "text/plain")})
    assert gradio.status_code == 413
    assert not (store / "uploads").exists() or list((store / "uploads").glob("*")) == []


def test_the_chat_asks_for_a_login_and_only_admin_may_change_the_library(keyed: tuple[str, Path]) -> None:
    base, _ = keyed
    assert httpx.get(f"{base}/config").status_code == 401
    assert httpx.post(f"{base}/gradio_api/upload", files={"files": ("a.txt", b"x", "text/plain")}).status_code == 401
    assert httpx.post(f"{base}/login", data={"username": "admin", "password": READER}).status_code == 400
    assert httpx.post(f"{base}/login", data={"username": "reader", "password": "guess"}).status_code == 400
    for user, password in (("reader", READER), ("admin", ADMIN)):
        with httpx.Client(base_url=base) as browser:
            assert browser.post("/login", data={"username": user, "password": password}).json() == {"success": True}
            assert browser.get("/config").status_code == 200


def test_library_tab_refuses_changes_unless_admin(assistant) -> None:  # type: ignore[no-untyped-def]
    from ui.conversation import ChatSession
    from ui.library_tab import LibraryTab

    session = ChatSession(assistant)
    assert LibraryTab(session, None, Access()).refusal(None) is None  # an open server on loopback
    keyed = LibraryTab(session, None, Access(READER, ADMIN))
    assert keyed.refusal("admin") is None and "log in as user “admin”" in (keyed.refusal("reader") or "")
    assert "switched off" in (LibraryTab(session, None, Access(READER, None)).refusal("reader") or "")


@pytest.mark.parametrize(("keys", "admin_status"), [((READER, None), 403), ((None, ADMIN), 401), ((None, None), 422)])
def test_admin_routes_follow_the_keys_that_are_set(sample_store: Path, assistant, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   keys: tuple, admin_status: int) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    with uvicorn_server(_app(assistant, store, Access(*keys))) as base:
        response = httpx.post(f"{base}/v1/admin/ingest", json={"urls": []}, headers=_key(READER))
        assert response.status_code == admin_status, response.text
        if admin_status == 403:
            assert "NEWSRAG_ADMIN_KEY" in response.json()["error"]
        reading = httpx.get(f"{base}/v1/articles", headers=_key(READER))
        anonymous = httpx.get(f"{base}/v1/articles")
        if keys == (None, ADMIN):  # an admin key alone closes reading too: only its holder reads
            assert reading.status_code == anonymous.status_code == 401
            assert "the admin key (NEWSRAG_ADMIN_KEY): this server has no separate API key" in anonymous.json()["error"]
            assert httpx.get(f"{base}/v1/articles", headers=_key(ADMIN)).status_code == 200
            assert httpx.get(f"{base}/v1/health").status_code == 200
        else:
            assert reading.status_code == 200


def test_keys_come_from_env_or_a_file_never_the_config_file(tmp_path: Path) -> None:
    from rag.errors import ConfigError

    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    access = Access.from_settings(Settings(api_key=READER, admin_key_file=key_file))
    assert (access.api_key, access.admin_key) == (READER, ADMIN) and READER not in repr(access)
    with pytest.raises(ConfigError, match="both NEWSRAG_ADMIN_KEY and admin_key_file"):
        Access.from_settings(Settings(admin_key=ADMIN, admin_key_file=key_file))
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        Access.from_settings(Settings(api_key_file=tmp_path / "empty.key"))
    toml = tmp_path / "newsrag.toml"
    toml.write_text(f'api_key = "{READER}"\n', encoding="utf-8")
    result = run_cli("config", env={"NEWSRAG_CONFIG": str(toml)})
    assert result.returncode == 2 and "keys are read only from the environment" in result.stderr
    assert READER not in result.stderr
    shown = run_cli("config", "--json", env={"NEWSRAG_API_KEY": READER, "NEWSRAG_ADMIN_KEY_FILE": str(key_file)})
    values = json.loads(shown.stdout)
    assert values["api_key"] == "***" and READER not in shown.stdout and ADMIN not in shown.stdout


def test_serve_refuses_an_open_non_loopback_address(sample_store: Path) -> None:
    for command in ("serve", "ui"):
        result = run_cli(command, "--store", str(sample_store), "--host", "0.0.0.0", "--port", "9")
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "refusing to serve on 0.0.0.0 without a key" in line and "--insecure" in line
    from ui.http.serving import check_exposure

    check_exposure("0.0.0.0", Access(READER, ADMIN), insecure=False)  # a key: allowed
    check_exposure("0.0.0.0", Access(), insecure=True)  # said so on purpose
    check_exposure("::1", Access(), insecure=False)


def test_logs_are_json_lines_with_request_ids_and_no_text_or_keys(sample_store: Path, assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from rag import logs

    store = copy_store(sample_store, tmp_path / "store")
    stream = io.StringIO()
    logs.configure(Settings(log_format="json", log_level="INFO"), secrets=[READER, ADMIN], stream=stream)
    try:
        with uvicorn_server(_app(assistant, store, Access(READER, ADMIN))) as base:
            asked = httpx.post(f"{base}/v1/ask", json={"question": MILLEY}, headers={**_key(READER), "X-Request-ID": "trace-42"},
                               timeout=60)
            refused = httpx.post(f"{base}/v1/ask", json={"question": MILLEY}, headers=_key("not-" + READER))
            uploaded = httpx.post(f"{base}/v1/admin/upload", files={"files": ("dam.txt", NOTE.encode(), "text/plain")},
                                  headers=_key(ADMIN), timeout=120)
            logging.getLogger("rag.test").info("a key %s in a message", READER)
    finally:
        for name in ("rag", "index", "ui", "uvicorn.error"):
            logging.getLogger(name).handlers = []
    assert asked.headers["x-request-id"] == "trace-42" and len(refused.headers["x-request-id"]) == 16
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_id = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    events = {line["event"] for line in by_id["trace-42"]}
    assert {"answered", "request"} <= events
    request = next(line for line in by_id["trace-42"] if line["event"] == "request")
    assert (request["method"], request["path"], request["status"]) == ("POST", "/v1/ask", 200) and request["ms"] > 0
    assert any(line["event"] == "ingested" and line["added"] == 1 for line in by_id[uploaded.headers["x-request-id"]])
    text = stream.getvalue()
    for secret in (READER, ADMIN, "Milley", "it’s possible", "two of its five gates", "Bearer"):
        assert secret not in text, secret
    assert "a key *** in a message" in text
    assert ROOT.name  # the log holds paths and counts, not article text
