"""Bad questions and filters at every edge: Python raises QueryError, the CLI exits non-zero with one line,
HTTP answers 4xx with a JSON error (never 5xx), the chat shows a warning; and nothing stored changes."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.errors import QueryError
from rag.records import Answer, Filters
from rag.retrieval.lexical import index_path
from tests.conftest import run_cli
from tests.servers import uvicorn_server

MILLEY = "What did Milley say about ISIS-K?"
LONG = "What did Milley say about ISIS-K and " + "the Taliban " * 9_000 + "?"  # about 100 KB

# (id, question, what the error says)
BAD_QUESTIONS = [
    ("empty", "", "the question is empty"),
    ("whitespace", " \t\n  \u00a0 ", "the question is empty"),
    ("100KB", LONG, "characters long; the limit is 2,000"),
    ("punctuation", "?!... ;-) ¿¡ --- ???", "no words, only punctuation"),
    ("symbols", "🙂🙂 → ★ ??", "no words, only punctuation"),
    ("nul", "What did Milley\x00 say about ISIS-K?", "U+0000, a control character, at position 15"),
    ("escape-codes", "\x1b[31mWhat did Milley say?\x07", "U+001B, a control character, at position 0"),
    ("only-controls", "\x00\x01\x02\x7f", "U+0000, a control character"),
    ("lone-surrogate", "What\ud800 happened?", "U+D800, half of a UTF-16 pair"),
]
OTHER_LANGUAGES = [
    ("chinese", "米利对伊斯兰国呼罗珊省说了什么？"),
    ("arabic", "ماذا قال ميلي عن تنظيم داعش خراسان؟"),
    ("russian", "Что сказал Милли об ИГИЛ-К?"),
    ("mixed-rtl", "What did \u202eMilley\u202c say about ISIS-K?"),
]
# (id, filters given to Python, what the error says)
BAD_FILTERS = [
    ("unknown-source", {"sources": ["nowhere.example"]}, "no stored article comes from 'nowhere.example'; the stored sources are"),
    ("since-after-until", {"since": "2022-01-01", "until": "2021-01-01"}, "since 2022-01-01 is after until 2021-01-01"),
    ("malformed-date", {"since": "2021-13-45"}, "since '2021-13-45' is not a date; write it as YYYY-MM-DD"),
    ("date-as-number", {"until": 20210801}, "until must be a date written YYYY-MM-DD, not int"),
    ("source-not-text", {"sources": [42]}, "sources must be a list of text, not int 42"),
    ("unknown-article", {"article_ids": ["no-such-article"]}, "article 'no-such-article' is not stored"),
    ("unknown-field", {"colour": "red"}, "unknown filter colour"),
    ("not-filters", "antiwar.com", "filters must be a rag.Filters or a dict"),
]


def _state(assistant: Any) -> tuple[object, ...]:
    """What a user could notice of the store: its revision, counts, files and the BM25 index bytes."""
    store = assistant.store
    root = Path(assistant.settings.store)
    bm25 = index_path(assistant.settings)
    bookkeeping = {"store.lock", "owner.json", "store-check.json"}  # who holds the store, when it was last checked
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name not in bookkeeping)
    return (store.revision(), store.count_articles(), store.count_chunks(), files,
            hashlib.sha256(bm25.read_bytes()).hexdigest() if bm25.exists() else None)


@pytest.fixture
def unchanged(assistant) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Fails the test when the store changed while it ran."""
    before = _state(assistant)
    yield
    assert _state(assistant) == before, "a bad request changed the store"


# ---------------------------------------------------------------------------- Python
@pytest.mark.parametrize(("question", "message"), [c[1:] for c in BAD_QUESTIONS], ids=[c[0] for c in BAD_QUESTIONS])
def test_python_bad_question_is_one_query_error(assistant, unchanged, question: str, message: str) -> None:
    with pytest.raises(QueryError, match=_literal(message)):
        assistant.ask(question)
    with pytest.raises(QueryError, match=_literal(message)):
        next(iter(assistant.stream(question)))  # the stream fails before it yields anything


def test_python_question_that_is_not_text(assistant, unchanged) -> None:
    for value in (None, 42, b"What did Milley say?", ["What did Milley say?"]):
        with pytest.raises(QueryError, match="the question must be text, not"):
            assistant.ask(value)


@pytest.mark.parametrize(("filters", "message"), [c[1:] for c in BAD_FILTERS], ids=[c[0] for c in BAD_FILTERS])
def test_python_bad_filter_is_one_query_error(assistant, unchanged, filters: Any, message: str) -> None:
    with pytest.raises(QueryError, match=_literal(message)):
        assistant.ask(MILLEY, filters=filters)
    if isinstance(filters, dict) and "colour" not in filters:
        with pytest.raises(QueryError, match=_literal(message)):  # the same check building a Filters by hand
            assistant.ask(MILLEY, filters=Filters(**filters))


@pytest.mark.parametrize("top_k", [0, 51, -3, "5", 2.5, True])
def test_python_bad_top_k(assistant, unchanged, top_k: object) -> None:
    with pytest.raises(QueryError, match="top_k must be a whole number from 1 to 50"):
        assistant.ask(MILLEY, top_k=top_k)  # type: ignore[arg-type]


def test_filters_accept_plain_values(assistant) -> None:
    """Dates as YYYY-MM-DD text and one source as a string mean what they say (and find the answer)."""
    filters = Filters(since="2021-08-01", until=" 2021-12-31 ", sources="antiwar.com")  # type: ignore[arg-type]
    assert (filters.since.isoformat(), filters.until.isoformat(), filters.sources) == ("2021-08-01", "2021-12-31", ("antiwar.com",))
    answer = assistant.ask(MILLEY, filters={"since": "2021-08-01", "sources": ["antiwar.com"]})
    assert not answer.refused and {s.site for s in answer.sources} == {"antiwar.com"}


@pytest.mark.parametrize("question", [c[1] for c in OTHER_LANGUAGES], ids=[c[0] for c in OTHER_LANGUAGES])
def test_other_languages_get_a_normal_answer(assistant, unchanged, question: str) -> None:
    answer = assistant.ask(question)
    assert isinstance(answer, Answer) and answer.text
    if answer.refused:
        assert answer.text.startswith("Not in the articles") and answer.citations == []
    else:
        assert answer.citations and all(0 <= c.source_index < len(answer.sources) for c in answer.citations)


# ---------------------------------------------------------------------------- HTTP
@pytest.fixture(scope="module")
def api(assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from ui.http.app import create_app

    with uvicorn_server(create_app(assistant)) as base:
        yield base


HTTP_BAD = [
    *[(f"question-{name}", "/v1/ask", {"question": q}, msg.split(",")[0]) for name, q, msg in BAD_QUESTIONS
      if name not in ("empty", "lone-surrogate")],
    ("question-empty", "/v1/ask", {"question": ""}, "body.question: String should have at least 1 character"),
    ("question-number", "/v1/ask", {"question": 42}, "body.question: Input should be a valid string"),
    ("question-null", "/v1/ask", {"question": None}, "body.question"),
    ("question-missing", "/v1/ask", {"filters": {}}, "body.question: Field required"),
    ("unknown-source", "/v1/ask", {"question": MILLEY, "filters": {"sources": ["nowhere.example"]}}, "no stored article comes from"),
    ("since-after-until", "/v1/ask", {"question": MILLEY, "filters": {"since": "2022-01-01", "until": "2021-01-01"}}, "is after"),
    ("malformed-date", "/v1/ask", {"question": MILLEY, "filters": {"since": "2021-13-45"}}, "body.filters.since"),
    ("date-as-number", "/v1/ask", {"question": MILLEY, "filters": {"until": 20210801}}, "write the date as text"),
    ("sources-not-a-list", "/v1/ask", {"question": MILLEY, "filters": {"sources": "antiwar.com"}}, "body.filters.sources"),
    ("source-not-text", "/v1/ask", {"question": MILLEY, "filters": {"sources": [42]}}, "body.filters.sources.0"),
    ("unknown-article", "/v1/ask", {"question": MILLEY, "filters": {"article_ids": ["nope"]}}, "article 'nope' is not stored"),
    ("unknown-filter", "/v1/ask", {"question": MILLEY, "filters": {"colour": "red"}}, "body.filters.colour"),
    ("filters-not-an-object", "/v1/ask", {"question": MILLEY, "filters": "antiwar.com"}, "body.filters"),
    ("top-k-text", "/v1/ask", {"question": MILLEY, "top_k": "many"}, "body.top_k"),
    ("stream-empty", "/v1/ask", {"question": "  ", "stream": True}, "the question is empty"),
    ("chat-nul", "/v1/chat", {"messages": [{"role": "user", "content": "Milley\x00?"}]}, "U+0000"),
    ("chat-punctuation", "/v1/chat", {"messages": [{"role": "user", "content": "?!"}], "stream": True}, "no words"),
    ("openai-long", "/v1/chat/completions", {"messages": [{"role": "user", "content": LONG}]}, "characters long"),
    ("openai-bad-filter", "/v1/chat/completions", {"messages": [{"role": "user", "content": MILLEY}], "stream": True,
                                                   "filters": {"sources": ["nowhere.example"]}}, "no stored article comes from"),
]


@pytest.mark.parametrize(("path", "body", "message"), [c[1:] for c in HTTP_BAD], ids=[c[0] for c in HTTP_BAD])
def test_http_bad_request_is_4xx_with_a_json_error(api: str, unchanged, path: str, body: dict, message: str) -> None:
    response = httpx.post(f"{api}{path}", json=body, timeout=60)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    if isinstance(error["error"], dict):  # the OpenAI-compatible route answers in OpenAI's error shape
        error = {"error": error["error"]["message"], "type": error["error"]["code"]}
    assert message in error["error"], error["error"]
    assert error["type"] in ("QueryError", "ValidationError", "invalid_value", "invalid_request")


@pytest.mark.parametrize("raw", [b'{"question": "What\\ud800 happened?"}', b'{"question": "caf\xe9"}', b'{"question": ',
                                 b"\x00\x01\x02", b'["What did Milley say?"]'])
def test_http_undecodable_bodies_are_4xx(api: str, unchanged, raw: bytes) -> None:
    response = httpx.post(f"{api}/v1/ask", content=raw, headers={"content-type": "application/json"}, timeout=60)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_http_numbers_json_cannot_carry_are_422(api: str, unchanged, number: str) -> None:
    for path, head in (("/v1/ask", f'"question": "{MILLEY}"'), ("/v1/chat", '"messages": [{"role": "user", "content": "Milley?"}]')):
        raw = f'{{{head}, "top_k": {number}}}'.encode()
        response = httpx.post(f"{api}{path}", content=raw, headers={"content-type": "application/json"}, timeout=60)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["type"] == "ValidationError" and "body.top_k" in error["error"]
        assert error["details"][0]["input"] == str(float(number))


@pytest.mark.parametrize("question", [c[1] for c in OTHER_LANGUAGES[:2]], ids=[c[0] for c in OTHER_LANGUAGES[:2]])
def test_http_other_languages_are_answered(api: str, unchanged, question: str) -> None:
    response = httpx.post(f"{api}/v1/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["question"] == question and response.json()["answer"]


# ---------------------------------------------------------------------------- CLI
CLI_BAD = [
    ("empty", [""], "the question is empty", 5),
    ("punctuation", ["?!?"], "no words", 5),
    ("control", ["\x1b[31mWhat did Milley say?"], "U+001B, a control character", 5),
    ("100KB", [LONG], "characters long", 5),
    ("malformed-date", [MILLEY, "--since", "2021-13-45"], "--since '2021-13-45' is not a date", 5),
    ("since-after-until", [MILLEY, "--since", "2022-01-01", "--until", "2021-01-01"], "--since 2022-01-01 is after --until", 5),
    ("unknown-source", [MILLEY, "--source", "nowhere.example"], "no stored article comes from 'nowhere.example'", 5),
    ("top-k-zero", [MILLEY, "--top-k", "0"], "top_k must be a whole number", 5),
    ("top-k-text", [MILLEY, "--top-k", "many"], "argument --top-k: invalid int value: 'many'", 2),
]


@pytest.mark.parametrize(("args", "message", "code"), [c[1:] for c in CLI_BAD], ids=[c[0] for c in CLI_BAD])
def test_cli_bad_question_exits_with_one_line(sample_store: Path, assistant, unchanged, args: list[str], message: str,
                                              code: int) -> None:
    result = run_cli("ask", *args, "--store", str(sample_store))
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("newsrag") and "error: " in line and message in line, line


def test_cli_other_language_is_answered(sample_store: Path, assistant, unchanged) -> None:
    result = run_cli("ask", OTHER_LANGUAGES[0][1], "--store", str(sample_store))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


# ---------------------------------------------------------------------------- chat
@pytest.mark.parametrize(("question", "filters", "message"), [
    ("?!?", ("", "", []), "no words"),
    ("What did Milley\x00 say about ISIS-K?", ("", "", []), "U+0000"),
    (LONG, ("", "", []), "characters long"),
    (MILLEY, ("2021-13-45", "", []), "“From” must be a date like 2021-08-01"),
    (MILLEY, ("2022-01-01", "2021-01-01", []), "is after “To”"),
    (MILLEY, ("", "", ["nowhere.example"]), "no stored article comes from"),
], ids=["punctuation", "nul", "100KB", "malformed-date", "since-after-until", "unknown-source"])
def test_chat_shows_a_warning_and_keeps_the_question(assistant, unchanged, question: str, filters: tuple, message: str) -> None:
    from ui.conversation import ChatSession

    session = ChatSession(assistant)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        updates = list(session.ask(question, None, *filters, None))
    assert [str(w.message) for w in shown if message in str(w.message)], [str(w.message) for w in shown]
    chatbot, sources, saved, box = updates[-1]
    assert box == question  # the question stays in the box to be fixed
    assert chatbot.value == [] and _skipped(sources) and _skipped(saved)  # no half answer is left in the chat


def _skipped(update: Any) -> bool:
    return isinstance(update, dict) and update.get("__type__") == "update" and len(update) == 1


def _literal(text: str) -> str:
    import re

    return re.escape(text)
