"""The OpenAI-compatible endpoint, checked with the official `openai` client against a real server:
url_citation annotations, usage, the model list, OpenAI's error shape, and markdown that cannot carry
markup from an article (rendered with a real CommonMark renderer)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ISIS_K_TITLE
from tests.servers import uvicorn_server

openai = pytest.importorskip("openai", reason="pip install -e '.[llm]'")

MILLEY = "What did Milley say about ISIS-K?"
ISIS_K_URL = "https://news.antiwar.com/2021/09/01/us-could-coordinate-with-the-taliban-on-isis-k/"
HOSTILE = """Title: <script>alert(1)</script> Zorbland [map](javascript:alert(2)) Lighthouse ![x](https://evil.example/t.png)
Date: 2021-11-02
URL: javascript:alert(document.cookie)
Source: zorbland-herald.example

The Zorbland lighthouse reopened to visitors on Tuesday after a two-year restoration <img src=x onerror=alert(3)>.
Keeper Petra Vance said the tower's 312 steps were rebuilt with oak [click](javascript:alert(4)) from the island forest.
"""


@pytest.fixture(scope="module")
def api(assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from ui.http.app import create_app

    with uvicorn_server(create_app(assistant)) as url:
        yield url


@pytest.fixture(scope="module")
def client(api: str):  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{api}/v1", api_key="unused", max_retries=0)


def _ask(client, **more):  # type: ignore[no-untyped-def]
    return client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": MILLEY}], **more)


def test_the_openai_client_reads_url_citations_from_the_message(client) -> None:  # type: ignore[no-untyped-def]
    completion = _ask(client)
    message = completion.choices[0].message
    assert message.annotations, message
    first = message.annotations[0]
    assert first.type == "url_citation"
    assert message.content[first.url_citation.start_index : first.url_citation.end_index] == "[1]"
    assert first.url_citation.title == ISIS_K_TITLE and first.url_citation.url == ISIS_K_URL
    assert "it’s possible" in completion.model_extra["sources"][0]["text"]  # the newsrag fields stay


def test_streamed_chunks_carry_the_annotations_and_the_usage_chunk(client) -> None:  # type: ignore[no-untyped-def]
    chunks = list(_ask(client, stream=True, stream_options={"include_usage": True}))
    usage_chunk, last = chunks[-1], chunks[-2]
    assert usage_chunk.choices == [] and usage_chunk.usage.prompt_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])
    assert last.choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    whole = _ask(client)
    assert text == whole.choices[0].message.content
    streamed = last.choices[0].delta.model_extra["annotations"]
    assert streamed == [a.model_dump() for a in whole.choices[0].message.annotations]
    assert usage_chunk.usage.model_dump() == whole.usage.model_dump()


def test_a_stream_without_include_usage_has_no_usage_chunk(client) -> None:  # type: ignore[no-untyped-def]
    chunks = list(_ask(client, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is None


def test_usage_counts_the_prompt_and_the_content_in_tokens(client, assistant) -> None:  # type: ignore[no-untyped-def]
    from rag.embedding.embedder import token_counter

    completion = _ask(client)
    count = token_counter(assistant.settings.embedding_model).count
    content = completion.choices[0].message.content
    assert completion.usage.prompt_tokens == count([MILLEY])[0] == 10
    assert completion.usage.completion_tokens == count([content])[0] > 20
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_models_lists_newsrag_and_other_names_are_404_model_not_found(client) -> None:  # type: ignore[no-untyped-def]
    assert [m.id for m in client.models.list()] == ["newsrag"]
    assert client.models.retrieve("newsrag").id == "newsrag"
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": MILLEY}])
    assert caught.value.code == "model_not_found" and caught.value.type == "invalid_request_error"
    assert "'gpt-4o' does not exist" in caught.value.message and "newsrag" in caught.value.message
    with pytest.raises(openai.NotFoundError) as retrieved:
        client.models.retrieve("gpt-4o")
    assert retrieved.value.code == "model_not_found"


@pytest.mark.parametrize(("messages", "more", "param", "code", "needle"), [
    ([], {}, "messages", "invalid_request", "body.messages"),
    ([{"role": "assistant", "content": "hi"}], {}, None, "invalid_value", "last message must come from the user"),
    ([{"role": "user", "content": MILLEY}], {"extra_body": {"filters": {"sources": ["nowhere.example"]}}, "stream": True},
     None, "invalid_value", "no stored article comes from"),
    ([{"role": "robot", "content": MILLEY}], {}, "messages.0.role", "invalid_request", "messages.0.role"),
])
def test_bad_requests_get_openai_shaped_errors(client, messages, more, param, code, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model="newsrag", messages=messages, **more)
    error = caught.value
    assert error.status_code == 422 and error.type == "invalid_request_error" and error.code == code
    assert error.param == param and needle in error.message
    assert set(error.body) == {"message", "type", "param", "code"}


def test_a_body_over_the_limit_is_an_openai_shaped_413(api: str) -> None:
    big = {"model": "newsrag", "messages": [{"role": "user", "content": "x" * 1_100_000}]}
    response = httpx.post(f"{api}/v1/chat/completions", json=big, timeout=60)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large" and "limit" in error["message"]


def test_a_wrong_key_is_an_openai_authentication_error(assistant) -> None:  # type: ignore[no-untyped-def]
    from ui.http.app import create_app
    from ui.http.auth import Access

    with uvicorn_server(create_app(assistant, Access(api_key="right-key"))) as url:
        with pytest.raises(openai.AuthenticationError) as caught:
            openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()
        assert caught.value.code == "invalid_api_key" and "not the API key" in caught.value.message
        native = httpx.post(f"{url}/v1/ask", json={"question": MILLEY}, headers={"Authorization": "Bearer wrong"})
        assert native.status_code == 401 and native.json()["type"] == "AccessError"  # the newsrag routes keep theirs


@pytest.fixture(scope="module")
def hostile_api(assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    import index
    from rag.composition import compose
    from rag.store.collection import Store
    from ui.http.app import create_app

    folder = tmp_path_factory.mktemp("hostile")
    (folder / "lighthouse.txt").write_text(HOSTILE, encoding="utf-8")
    settings = assistant.settings.with_overrides(store=folder / "store")
    report = index.ingest([folder / "lighthouse.txt"], settings=settings, embedder=assistant.embedder)
    assert report.added == 1, report.to_dict()
    with uvicorn_server(create_app(compose(settings, Store(settings), assistant.embedder))) as url:
        yield url


def test_article_markup_is_never_rendered_from_the_markdown(hostile_api: str) -> None:
    from markdown_it import MarkdownIt

    client = openai.OpenAI(base_url=f"{hostile_api}/v1", api_key="unused", max_retries=0)
    question = "How many steps does the Zorbland lighthouse tower have?"
    message = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": question}]).choices[0].message
    assert "312" in message.content and "Sources:" in message.content
    html = MarkdownIt("commonmark", {"html": True}).render(message.content)
    assert "<script" not in html and "<img" not in html and "<a " not in html and "href" not in html  # text only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the title is shown as written
    annotation = message.annotations[0].url_citation
    assert annotation.url.startswith("newsrag://article/")  # a javascript: URL is never offered as a link
    assert annotation.title.startswith("<script>alert(1)</script> Zorbland")  # JSON carries the raw title
