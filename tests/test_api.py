"""The HTTP API on a real uvicorn server, called with httpx and the official openai client."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import llm_assistant, run_cli
from tests.servers import uvicorn_server

MILLEY = "What did Milley say about ISIS-K?"


@pytest.fixture(scope="session")
def api(assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from ui.http.app import create_app

    with uvicorn_server(create_app(assistant)) as url:
        yield url


def _events(response: httpx.Response) -> list[tuple[str, dict]]:
    """Server-sent events as (event name, data)."""
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines.get("event", "message"), json.loads(lines["data"]) if lines["data"] != "[DONE]" else {}))
    return events


def _evidence(data: dict) -> list[tuple]:
    """What must agree across interfaces: each citation's marker, passage and supporting sentence."""
    return [(c["marker"], data["sources"][c["source_index"]]["chunk_id"], c["start"], c["end"]) for c in data["citations"]]


def test_health_articles_models_and_docs(api: str) -> None:
    health = httpx.get(f"{api}/v1/health").json()
    assert health["status"] == "ok" and health["articles"] == 8 and health["answerer"] == "extractive"
    listing = httpx.get(f"{api}/v1/articles", params={"limit": 3}).json()
    assert listing["total"] == 8 and len(listing["articles"]) == 3 and "article_id" in listing["articles"][0]
    assert httpx.get(f"{api}/v1/models").json()["data"][0]["id"] == "newsrag"
    docs = httpx.get(f"{api}/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "cdn." not in docs.text  # served locally
    spec = httpx.get(f"{api}/openapi.json").json()
    assert {"/v1/ask", "/v1/chat", "/v1/chat/completions", "/v1/health", "/v1/articles"} <= set(spec["paths"])


def test_ask_returns_answer_citations_sources_and_timings(api: str) -> None:
    data = httpx.post(f"{api}/v1/ask", json={"question": MILLEY}, timeout=60).json()
    assert data["refused"] is False and data["verified"] is True and "[1]" in data["answer"]
    cited = data["sources"][data["citations"][0]["source_index"]]
    assert "it’s possible" in cited["text"] and cited["highlights"]
    assert {"embed", "search", "generate", "verify", "total"} <= set(data["timings"])


def test_ask_streams_server_sent_events(api: str) -> None:
    response = httpx.post(f"{api}/v1/ask", json={"question": MILLEY, "stream": True}, timeout=60)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response)
    names = [name for name, _ in events]
    assert names[-2:] == ["answer", "done"] and set(names[:-2]) == {"delta"}
    answer = events[-2][1]
    assert "".join(data["text"] for name, data in events if name == "delta") == answer["answer"]


def test_date_filter_that_excludes_the_article_makes_it_refuse(api: str) -> None:
    body = {"question": MILLEY, "filters": {"since": "2021-10-01", "until": "2021-12-31"}}
    data = httpx.post(f"{api}/v1/ask", json=body, timeout=60).json()
    assert data["refused"] is True and data["citations"] == []
    assert data["answer"].startswith("Not in the articles") and "dated on or after 2021-10-01" in data["answer"]
    inside = httpx.post(f"{api}/v1/ask", json={**body, "filters": {"since": "2021-08-01", "sources": ["antiwar.com"]}}, timeout=60)
    assert inside.json()["refused"] is False


def test_chat_rewrites_a_follow_up(api: str) -> None:
    first = httpx.post(f"{api}/v1/ask", json={"question": MILLEY}, timeout=60).json()
    messages = [{"role": "user", "content": MILLEY}, {"role": "assistant", "content": first["answer"]},
                {"role": "user", "content": "What about the drone strike in Kabul?"}]
    data = httpx.post(f"{api}/v1/chat", json={"messages": messages}, timeout=60).json()
    assert data["rewritten_question"] == "What did Milley say about the drone strike in Kabul?"
    assert "10 civilians" in data["answer"]


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v1/ask", {}, "body.question: Field required"),
        ("/v1/ask", {"question": MILLEY, "filters": {"since": "yesterday"}}, "body.filters.since"),
        ("/v1/ask", {"question": MILLEY, "top_k": 0}, "body.top_k"),
        ("/v1/ask", {"question": MILLEY, "filters": {"since": "2022-01-01", "until": "2021-01-01"}}, "is after"),
        ("/v1/ask", {"question": "   "}, "the question is empty"),
        ("/v1/chat", {"messages": [{"role": "assistant", "content": "hi"}]}, "last message must come from the user"),
    ],
)
def test_bad_requests_are_422_with_a_clear_message(api: str, path: str, body: dict, needle: str) -> None:
    response = httpx.post(f"{api}{path}", json=body, timeout=60)
    assert response.status_code == 422, response.text
    assert needle in response.json()["error"]


def test_openai_client_uses_newsrag_as_a_model(api: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{api}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["newsrag"]
    completion = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": MILLEY}])
    text = completion.choices[0].message.content
    answer, _, listing = text.partition("\n\nSources:\n")
    assert "[1]" in answer and listing.startswith("[1] US Could Coordinate With the Taliban on ISIS-K")
    sources = completion.model_extra["sources"]
    assert "it’s possible" in sources[0]["text"] and completion.model_extra["newsrag"]["refused"] is False


def test_openai_client_streams(api: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{api}/v1", api_key="unused")
    chunks = list(client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": MILLEY}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop" and "sources" in chunks[-1].model_extra
    whole = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": MILLEY}])
    assert text == whole.choices[0].message.content


def test_same_sources_and_citations_through_every_interface(api: str, assistant, sample_store) -> None:
    question = "How many civilians were killed in the Kabul drone strike on Sunday?"
    python = assistant.ask(question).to_dict()
    cli = run_cli("ask", question, "--store", str(sample_store), "--json")
    assert cli.returncode == 0, cli.stderr
    http = httpx.post(f"{api}/v1/ask", json={"question": question}, timeout=60).json()
    openai_body = {"model": "newsrag", "messages": [{"role": "user", "content": question}]}
    compat = httpx.post(f"{api}/v1/chat/completions", json=openai_body, timeout=60).json()
    expected = _evidence(python)
    assert expected and "10 civilians" in python["answer"]
    assert _evidence(json.loads(cli.stdout)) == expected == _evidence(http)
    assert compat["choices"][0]["message"]["content"].startswith(python["answer"])
    cited_ids = [python["sources"][c["source_index"]]["chunk_id"] for c in python["citations"]]
    assert [s["chunk_id"] for s in compat["sources"]] == list(dict.fromkeys(cited_ids))
    assert [(c["marker"], c["start"], c["end"]) for c in compat["citations"]] == [(m, s, e) for m, _, s, e in expected]


def test_llm_failure_is_502_with_a_json_error(assistant, llm) -> None:
    from ui.http.app import create_app

    llm.script("upstream exploded", status=500)
    with uvicorn_server(create_app(llm_assistant(assistant, llm))) as url:
        response = httpx.post(f"{url}/v1/ask", json={"question": MILLEY}, timeout=60)
        assert response.status_code == 502 and "upstream exploded" in response.json()["error"]
        assert response.json()["type"] == "BackendError"
        streamed = httpx.post(f"{url}/v1/ask", json={"question": MILLEY, "stream": True}, timeout=60)
        assert streamed.status_code == 502  # the error came before the stream started


def test_llm_answer_streams_through_the_openai_endpoint(assistant, llm) -> None:
    from tests.llm_server import passages_in
    from ui.http.app import create_app

    def reply(prompt: str) -> str:
        n = next(k for k, t in passages_in(prompt).items() if "it’s possible" in t)
        return f"Milley said it is possible that the US could coordinate with the Taliban on ISIS-K [{n}]. He resigned [8]."

    llm.script(reply)
    openai = pytest.importorskip("openai")
    with uvicorn_server(create_app(llm_assistant(assistant, llm))) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
        chunks = list(client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": MILLEY}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("Milley said it is possible that the US could coordinate with the Taliban on ISIS-K. [1] He resigned.")
    assert "[8]" not in text and chunks[-1].model_extra["newsrag"]["verified"] is False
