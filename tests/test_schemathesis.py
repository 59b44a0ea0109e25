"""Schemathesis against the running HTTP API (`newsrag serve`'s API and admin routes): requests generated from
the OpenAPI schema, valid and invalid, never get a server error (5xx). Examples per operation are few and
derandomized, so the suite stays fast and repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[dev]'")
from hypothesis import HealthCheck, settings  # noqa: E402

from tests.servers import uvicorn_server  # noqa: E402
from tests.ui_harness import copy_store  # noqa: E402
from ui.http.auth import Access  # noqa: E402

pytestmark = pytest.mark.slow  # generated requests against a real server

ADMIN = "schemathesis-admin-key"


@pytest.fixture(scope="module")
def api_schema(sample_store: Path, assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from rag.composition import compose
    from rag.store.collection import Store
    from ui.http.app import create_app
    from ui.http.routes.admin import add_admin_routes

    store = copy_store(sample_store, tmp_path_factory.mktemp("schemathesis") / "store")
    app_settings = assistant.settings.with_overrides(store=store, max_article_bytes=20_000)
    app = create_app(compose(app_settings, Store(app_settings), assistant.embedder), Access(api_key="reader", admin_key=ADMIN))
    add_admin_routes(app)
    with uvicorn_server(app) as base:
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


OPERATIONS = ["POST /v1/ask", "POST /v1/chat", "POST /v1/chat/completions", "POST /v1/timeline", "GET /v1/models",
              "GET /v1/models/{model}",
              "GET /v1/health",
              "GET /v1/articles", "POST /v1/admin/ingest", "POST /v1/admin/upload", "DELETE /v1/articles/{article_id}"]


def test_the_schema_lists_every_operation(api_schema) -> None:  # type: ignore[no-untyped-def]
    assert sorted(op.ok().label for op in api_schema.get_all_operations()) == sorted(OPERATIONS)


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_request_gets_a_server_error(api_schema, label: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    from hypothesis import given
    from schemathesis.checks import not_a_server_error

    method, path = label.split(" ", 1)
    if mode == "negative" and label in ("GET /v1/health", "GET /v1/models"):
        pytest.skip("no parameters: there is no invalid request to make")
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(schemathesis.GenerationMode(mode)))
    @settings(max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def call(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(headers={"Authorization": f"Bearer {ADMIN}"}, timeout=120)
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:  # every refusal is a JSON body that says what went wrong
            body = response.json()
            if path.startswith(("/v1/chat/completions", "/v1/models")):  # OpenAI's error shape
                assert isinstance(body["error"]["message"], str) and body["error"]["type"], body
            else:
                assert isinstance(body.get("error"), str) and body.get("type"), body

    call()
