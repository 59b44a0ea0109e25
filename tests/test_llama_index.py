"""newsrag inside real LlamaIndex pipelines: NewsragRetriever under a RetrieverQueryEngine, the newsrag query
engine, and a QueryEngineTool that a LlamaIndex ReAct agent calls (driven by the scripted OpenAI-protocol server)."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.conftest import ISIS_K_TITLE

MILLEY = "What did Milley say about ISIS-K?"


@pytest.fixture(scope="module")
def retriever(assistant):  # type: ignore[no-untyped-def]
    from rag.integrations.llama_index import NewsragRetriever

    return NewsragRetriever(assistant, top_k=4)


def test_retriever_query_engine_answers_with_source_nodes_from_the_articles(retriever, assistant) -> None:  # type: ignore[no-untyped-def]
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(MILLEY)
    nodes = response.source_nodes
    assert 1 <= len(nodes) <= 4 and nodes[0].node.metadata["title"] == ISIS_K_TITLE
    assert "it’s possible" in nodes[0].node.get_content() and 0 < nodes[0].score <= 1
    stored = {a.article_id: a.title for a in assistant.articles()}
    for node in nodes:  # every node is a passage of a stored article, at its offsets
        meta = node.node.metadata
        assert stored[meta["article_id"]] == meta["title"] and {"url", "date", "start", "end"} <= set(meta)
        _, text = assistant.store.article(meta["article_id"])
        assert text[meta["start"] : meta["end"]] == node.node.get_content()
    shown = nodes[0].node.get_content(metadata_mode="llm")  # what the LLM is shown: title, date, site, url
    assert f"title: {ISIS_K_TITLE}" in shown and "article_id" not in shown


def test_retriever_takes_filters(assistant) -> None:  # type: ignore[no-untyped-def]
    from rag.integrations.llama_index import NewsragRetriever

    later = NewsragRetriever(assistant, filters={"since": "2021-10-01"}).retrieve(MILLEY)
    assert later and all(n.node.metadata["date"] >= "2021-10-01" for n in later)
    from rag.errors import QueryError

    with pytest.raises(QueryError, match="'yesterday' is not a date"):
        NewsragRetriever(assistant, filters={"since": "yesterday"})


def test_as_query_engine_gives_the_verified_answer_and_the_cited_passages(retriever, assistant) -> None:  # type: ignore[no-untyped-def]
    response = retriever.as_query_engine().query(MILLEY)
    direct = assistant.ask(MILLEY, top_k=4)
    assert str(response) == direct.text and "[1]" in str(response)
    assert [n.node.node_id for n in response.source_nodes] == [s.chunk_id for s in direct.cited_sources]
    assert response.source_nodes[0].node.metadata["title"] == ISIS_K_TITLE
    assert response.metadata["verified"] is True and response.metadata["refused"] is False
    assert response.metadata["citations"][0]["marker"] == 1


def test_a_react_agent_calls_the_newsrag_tool_and_answers_from_it(retriever, llm) -> None:  # type: ignore[no-untyped-def]
    from llama_index.core.agent.workflow import ReActAgent
    from llama_index.core.tools import QueryEngineTool
    from llama_index.llms.openai_like import OpenAILike

    def reply(prompt: str) -> str:
        if "it’s possible" not in prompt:  # first turn: the model decides to use the news tool
            return ("Thought: The news articles will know. I need to use a tool to help me answer the question.\n"
                    "Action: news\nAction Input: " + json.dumps({"input": MILLEY}))
        observation = prompt.rsplit("Observation:", 1)[1].split("[1]")[0].strip()  # what the tool returned
        return f"Thought: I can answer without using any more tools.\nAnswer: {observation} [1]"

    llm.script(reply)
    tool = QueryEngineTool.from_defaults(retriever.as_query_engine(), name="news",
                                         description="Answers questions about the stored news articles, with citations.")
    model = OpenAILike(model="scripted", api_base=llm.base_url, api_key="unused", is_chat_model=True,
                       is_function_calling_model=False)
    agent = ReActAgent(tools=[tool], llm=model)

    async def run() -> object:
        return await agent.run(user_msg=MILLEY)

    result = anyio.run(run)
    calls = [c for c in result.tool_calls if c.tool_name == "news"]
    assert calls and "it’s possible" in str(calls[0].tool_output.content)
    assert "it’s possible" in str(result.response.content) and "[1]" in str(result.response.content)
    assert "Action: news" not in llm.prompts[0] and "news" in llm.prompts[0]  # the tool was offered to the model
