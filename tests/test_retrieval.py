"""Hybrid retrieval: evidence is found, exact codes are found, filters hold on both paths, passages are diverse and whole."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from rag import Filters
from rag.retrieval.retriever import STAGES, reciprocal_rank_fusion
from tests.conftest import ISIS_K_TITLE, run_cli

MODES = ("hybrid", "dense", "bm25")
TOWNS = ["Westport", "Millbrook", "Harbor City", "Northgate", "Bayside", "Riverton", "Kessler", "Eastland",
         "Arden", "Marlow", "Lakeside", "Southgate", "Fairview", "Oakridge", "Pinehurst", "Stonebridge"]
NEAR_MISS_CODES = ["4471", "4147", "4714", "1447", "7441", "4741", "4174", "1744", "7144", "4410", "4477",
                   "4411", "4717", "4404", "1417", "4447"]
BUDGET_TITLE = "Airport Approves New Terminal Budget"


def _norm(text: str) -> str:
    return text.replace("’", "'").replace("“", '"').replace("”", '"').lower()


def write_flights_corpus(folder: Path) -> None:
    """16 near-identical storm stories with flight codes close to QZ-4417 (a third undated, two sites),
    and one terminal-budget story that mentions flight QZ-4417 and invoice 88412 in passing."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (town, code) in enumerate(zip(TOWNS, NEAR_MISS_CODES)):
        dated = f"Date: 2022-03-{i + 1:02d}\n" if i % 3 else ""
        site = "skies-daily.example" if i % 2 else "aviation-wire.example"
        body = (f"Flight QZ-{code} from {town} carried {150 + 7 * i} passengers through a severe storm on Tuesday "
                "night before it was diverted to a second runway, the airline said. The passengers on the flight "
                "waited on the tarmac for two hours.")
        (folder / f"storm-{i}.txt").write_text(f"Title: Storm Diverts Flight From {town}\n{dated}Source: {site}\n\n{body}\n")
    (folder / "budget.txt").write_text(
        f"Title: {BUDGET_TITLE}\nDate: 2022-03-20\nSource: business-wire.example\n\n"
        "The airport board approved a budget of 40 million for a new terminal, with work on the car parks, shops "
        "and a larger security hall to start in the spring. Routes that will move there include QZ-4417, which "
        "had 96 people on board last month, and the design work is billed under invoice 88412.\n"
    )


@pytest.fixture(scope="session")
def flights(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    import index
    import rag

    root = tmp_path_factory.mktemp("flights")
    write_flights_corpus(root / "corpus")
    report = index.ingest([root / "corpus"], store=root / "store")
    assert report.ok and report.added == 17, report.failed
    return rag.open(store=root / "store")


def _rank(passages, title: str) -> int | None:  # type: ignore[no-untyped-def]
    return next((i for i, p in enumerate(passages) if p.title == title), None)


# ---------------------------------------------------------------------------- evidence on the samples
@pytest.mark.parametrize("mode", MODES)
def test_sample_evidence_is_in_the_first_passage(assistant, sample_questions, mode: str) -> None:
    for item in (q for q in sample_questions if q["answerable"]):
        passages = assistant.retriever.retrieve(item["question"], mode=mode)
        holding = [i for i, p in enumerate(passages) if any(_norm(e) in _norm(p.text) for e in item["evidence"])]
        assert holding, f"{mode}: no passage holds the evidence for {item['id']}"
        assert holding[0] <= (1 if mode == "dense" else 0), f"{mode}: evidence of {item['id']} ranks {holding[0]}"


@pytest.mark.parametrize("qid", [f"seed-{i:02d}" for i in range(1, 11)] + ["seed-12"])
def test_every_cited_passage_holds_the_evidence(assistant, sample_questions, qid: str) -> None:
    item = next(q for q in sample_questions if q["id"] == qid)
    answer = assistant.ask(item["question"])
    assert not answer.refused and answer.cited_sources, answer.text
    for source in answer.cited_sources:
        assert any(_norm(e) in _norm(source.text) for e in item["evidence"]), (answer.text, source.text)


# ---------------------------------------------------------------------------- exact terms
_FIRST_CODE_QUESTION = "How many passengers did flight QZ-4417 carry?"


@pytest.mark.parametrize(("question", "mode", "within"), [
    (question, mode, within)
    for question in (_FIRST_CODE_QUESTION, "How many passengers were on flight QZ-4417?",
                     "Which flight carried passengers under invoice 88412?")
    for mode, within in (("rrf", 1), ("hybrid", 1))
])
def test_hybrid_finds_a_rare_code_that_dense_ranks_low(flights, question: str, mode: str, within: int) -> None:
    dense = flights.retriever.retrieve(question, mode="dense", top_k=17)
    hybrid = flights.retriever.retrieve(question, mode=mode)
    dense_rank = _rank(dense, BUDGET_TITLE)
    assert dense_rank is None or dense_rank >= 6, "dense alone already finds it: the test proves nothing"
    rank = _rank(hybrid, BUDGET_TITLE)
    assert rank is not None and rank < within, [p.title for p in hybrid]  # the learned order may put a story first
    assert "QZ-4417" in hybrid[rank].text


def test_per_query_weights_reproduce_the_single_rankings(flights) -> None:
    question = "How many passengers did flight QZ-4417 carry?"
    dense = flights.retriever.retrieve(question, mode="dense")
    # the weights are those of reciprocal rank fusion (mode rrf); the learned ranking (hybrid) has its own
    assert [p.chunk_id for p in flights.retriever.retrieve(question, mode="rrf", bm25_weight=0)] == \
        [p.chunk_id for p in dense]
    only_words = flights.retriever.retrieve(question, mode="rrf", dense_weight=0)
    assert only_words[0].title == BUDGET_TITLE


def test_a_bad_retrieval_option_is_a_query_error(assistant) -> None:
    from rag.errors import QueryError

    with pytest.raises(QueryError, match="retrieval_mode"):
        assistant.retriever.retrieve("What did Milley say?", mode="semantic")
    with pytest.raises(QueryError, match="rrf_k"):
        assistant.retriever.retrieve("What did Milley say?", rrf_k=0)


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([(1.0, ["a", "b", "c", "d"]), (1.0, ["d", "c"])], k=60)
    assert [i for i, _ in fused] == ["d", "c", "a", "b"]  # d: 1/64+1/61 > c: 1/63+1/62 > a: 1/61 > b
    assert fused[0][1] == pytest.approx(1 / 64 + 1 / 61)
    weighted = reciprocal_rank_fusion([(1.0, ["a", "b"]), (3.0, ["b"])], k=1)
    assert weighted[0] == ("b", pytest.approx(1 / 3 + 3 / 2))


# ---------------------------------------------------------------------------- filters
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("filters", [
    Filters(since=date(2022, 3, 5)),
    Filters(until=date(2022, 3, 12)),
    Filters(since=date(2022, 3, 5), until=date(2022, 3, 12)),
    Filters(sources=("skies-daily.example",)),
    Filters(sources=("https://www.Skies-Daily.example/feed",)),  # matched as a site, whatever its spelling
], ids=["since", "until", "range", "site", "site-url"])
def test_filters_hold_on_every_path(flights, mode: str, filters: Filters) -> None:
    articles = flights.articles()
    allowed = {a.article_id for a in articles if _passes(a, filters)}
    storms = {a.article_id for a in articles if a.title.startswith("Storm")}
    question = "Which flight was diverted to a second runway in the storm?"
    passages = flights.retriever.retrieve(question, filters=filters, mode=mode, top_k=50)
    found = {p.article_id for p in passages}
    assert found <= allowed
    assert found & storms == allowed & storms  # every storm story matches the question: only the filter decides


def _passes(article, filters: Filters) -> bool:  # type: ignore[no-untyped-def]
    if (filters.since or filters.until) and not article.date:
        return False  # an article without a date fails any date filter
    if filters.since and article.date < filters.since.isoformat():
        return False
    if filters.until and article.date > filters.until.isoformat():
        return False
    return not filters.sources or article.site == "skies-daily.example"


@pytest.mark.parametrize("mode", MODES)
def test_article_id_filter(assistant, mode: str) -> None:
    target = next(a for a in assistant.articles() if a.title.startswith("Solar-Powered Ferry"))
    passages = assistant.retriever.retrieve("What did Milley say about ISIS-K?", filters=Filters(article_ids=(target.article_id,)),
                                            mode=mode)
    assert all(p.article_id == target.article_id for p in passages)
    assert passages or mode == "bm25"  # no word of the question is in the ferry story


@pytest.mark.parametrize("filters", [Filters(since=date(2021, 9, 2)), Filters(until=date(2021, 8, 31)),
                                     Filters(sources=("riverton-ledger.example",))])
def test_a_filter_that_excludes_the_article_makes_the_assistant_refuse(assistant, filters: Filters) -> None:
    assert not assistant.ask("What did Milley say about ISIS-K?").refused
    answer = assistant.ask("What did Milley say about ISIS-K?", filters=filters)
    assert answer.refused and answer.citations == []
    assert all(s.title != ISIS_K_TITLE for s in answer.sources)


@pytest.mark.slow
def test_cli_filters_end_to_end(sample_store: Path) -> None:
    question = "What did Milley say about ISIS-K?"
    kept = run_cli("ask", question, "--store", str(sample_store), "--json", "--since", "2021-08-01",
                   "--until", "2021-12-31", "--source", "antiwar.com")
    assert kept.returncode == 0, kept.stderr
    data = json.loads(kept.stdout)
    assert not data["refused"] and {s["site"] for s in data["sources"]} == {"antiwar.com"}
    excluded = run_cli("ask", question, "--store", str(sample_store), "--json", "--since", "2021-09-02",
                       "--retrieval", "bm25")
    assert excluded.returncode == 0, excluded.stderr
    data = json.loads(excluded.stdout)
    assert data["refused"] and all(s["title"] != ISIS_K_TITLE for s in data["sources"])


# ---------------------------------------------------------------------------- diversity and whole passages
@pytest.mark.parametrize("mode", MODES)
def test_passages_are_capped_per_article_and_neighbours_merged(assistant, mode: str) -> None:
    question = "What did the US do with drones in Afghanistan and what did Milley say?"
    passages = assistant.retriever.retrieve(question, mode=mode, top_k=8)
    chunks_per_article = Counter(p.article_id for p in passages for _ in p.chunk_ids)
    assert max(chunks_per_article.values()) <= assistant.settings.max_chunks_per_article
    assert any(len(p.chunk_ids) > 1 for p in passages), "no neighbours were merged"
    for p in passages:
        _, article_text = assistant.store.article(p.article_id)
        assert article_text[p.start : p.end] == p.text  # offsets stay exact article offsets
        indexes = [int(c.rsplit(":", 1)[1]) for c in p.chunk_ids]  # the retrieved chunks, in article order;
        assert indexes == sorted(indexes)  # a sentence window may bridge a chunk that was not retrieved
    spans = sorted((p.article_id, p.kind, p.start, p.end) for p in passages)
    for a, b in itertools.pairwise(spans):  # two passages of one article never touch: they would be one
        assert a[:2] != b[:2] or assistant.store.article(a[0])[1][a[3] : b[2]].strip()


def test_cap_of_one_gives_one_passage_per_article(sample_store: Path) -> None:
    import rag

    assistant = rag.open(store=sample_store, max_chunks_per_article=1, merge_neighbours=False)
    passages = assistant.retriever.retrieve("What did the US do with drones in Afghanistan?", top_k=6)
    assert len({p.article_id for p in passages}) == len(passages) == 6
    assert all(len(p.chunk_ids) == 1 for p in passages)


def test_timings_per_stage(assistant) -> None:
    timings: dict[str, float] = {}
    assistant.retriever.retrieve("How many bombs did the US drop on Afghanistan in 2019?", timings=timings)
    assert set(STAGES) <= set(timings) and timings["bm25"] > 0 and timings["dense"] > 0 and timings["fuse"] > 0
    dense_only: dict[str, float] = {}
    assistant.retriever.retrieve("How many bombs did the US drop in 2019?", timings=dense_only, mode="dense")
    assert dense_only["bm25"] == 0 and dense_only["dense"] > 0
    answer = assistant.ask("How many bombs did the US drop on Afghanistan in 2019?")
    assert set(STAGES) <= set(answer.timings)
